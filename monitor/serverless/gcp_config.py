"""A config in Cloud Storage (``MONITOR_CONFIG=gs://BUCKET/PREFIX/monitor.yaml``): the file and every object
beside it under its prefix (rule files, templates) are copied into a local folder, so relative paths still work.

It reads the JSON API with google-auth's default credentials (the function's service account, read-only
scope); ``STORAGE_EMULATOR_HOST`` names an emulator or stand-in instead, reached without credentials.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

API = "https://storage.googleapis.com"
READ_ONLY = "https://www.googleapis.com/auth/devstorage.read_only"
MAX_OBJECTS = 2000
TIMEOUT_SECONDS = 30


def _split(url: str) -> tuple[str, str]:
    bucket, _, key = url.removeprefix("gs://").partition("/")
    if not bucket or not key or key.endswith("/"):
        raise ValueError(f"{url!r} does not name a file: expected gs://BUCKET/[PREFIX/]monitor.yaml")
    return bucket, key


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
    bucket, key = _split(url)
    prefix = str(PurePosixPath(key).parent).removeprefix(".")
    prefix = f"{prefix}/" if prefix else ""
    root = Path(folder or tempfile.mkdtemp(prefix="monitor-config-")).resolve()
    session, base = _session()
    count = 0
    for name in _names(session, base, bucket, prefix):
        target = (root / name[len(prefix):]).resolve()
        if name.endswith("/") or not target.is_relative_to(root) or target == root:
            continue  # a folder marker, or a name like ../x that would land outside the folder
        count += 1
        if count > MAX_OBJECTS:
            raise ValueError(f"more than {MAX_OBJECTS} objects under gs://{bucket}/{prefix}")
        found = session.get(f"{base}/storage/v1/b/{quote(bucket, safe='')}/o/{quote(name, safe='')}",
                            params={"alt": "media"}, timeout=TIMEOUT_SECONDS)
        found.raise_for_status()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(found.content)
    path = root / key[len(prefix):]
    if not path.is_file():
        raise FileNotFoundError(f"{url} not found")
    return str(path)
