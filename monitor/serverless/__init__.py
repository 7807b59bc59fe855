"""Function entry points (AWS Lambda in ``aws``, GCP Cloud Functions in ``gcp``), thin over ``runtime``."""
