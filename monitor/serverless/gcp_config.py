"""A config in Cloud Storage (``MONITOR_CONFIG=gs://BUCKET/PREFIX/monitor.yaml``): the file and every object
beside it under its prefix are copied (``monitor.serverless.remote_config``).

It reads the JSON API with google-auth's default credentials (the function's service account, read-only
scope); ``STORAGE_EMULATOR_HOST`` names an emulator or stand-in instead, reached without credentials.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from monitor.serverless.remote_config import copy_config

API = "https://storage.googleapis.com"
READ_ONLY = "https://www.googleapis.com/auth/devstorage.read_only"
TIMEOUT_SECONDS = 30


def _session() -> tuple[Any, str]:
    emulator = os.environ.get("STORAGE_EMULATOR_HOST")
    if emulator:
        import requests

        return requests.Session(), emulator if "://" in emulator else f"http://{emulator}"
    import google.auth
    from google.auth.transport.requests import AuthorizedSession

    credentials, _ = google.auth.default(scopes=[READ_ONLY])
    return AuthorizedSession(credentials), API  # type: ignore[no-untyped-call]


def _names(session: Any, base: str, bucket: str, prefix: str) -> Iterator[str]:
    params = {"prefix": prefix, "fields": "items(name),nextPageToken"}
    while True:
        page = session.get(f"{base}/storage/v1/b/{quote(bucket, safe='')}/o", params=params, timeout=TIMEOUT_SECONDS)
        page.raise_for_status()
        body = page.json()
        yield from (item["name"] for item in body.get("items", []))
        if not body.get("nextPageToken"):
            return
        params["pageToken"] = body["nextPageToken"]


def fetch_config(url: str, folder: str | None = None) -> str:
    """The local path of the config ``url`` names, once it and its prefix's objects are downloaded."""
    session, base = _session()

    def download(bucket: str, name: str, target: Path) -> None:
        found = session.get(f"{base}/storage/v1/b/{quote(bucket, safe='')}/o/{quote(name, safe='')}",
                            params={"alt": "media"}, timeout=TIMEOUT_SECONDS)
        found.raise_for_status()
        target.write_bytes(found.content)

    return copy_config(url, "gs", lambda bucket, prefix: _names(session, base, bucket, prefix), download, folder)
