"""Function entry points (AWS Lambda in ``aws``, GCP Cloud Functions in ``gcp``), thin over ``runtime``.

A function instance pays its imports on every cold start: pydantic's search of every installed package's
metadata for plugins (about 20 ms) is skipped unless the environment asks for plugins."""

import os

os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
