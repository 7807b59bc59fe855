"""A config in S3 (``MONITOR_CONFIG=s3://BUCKET/PREFIX/monitor.yaml``): the file and every object beside it
under its prefix (rule files, templates) are copied into a local folder, so relative paths in it still work."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

MAX_OBJECTS = 2000


def _split(url: str) -> tuple[str, str]:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    if not bucket or not key or key.endswith("/"):
        raise ValueError(f"{url!r} does not name a file: expected s3://BUCKET/[PREFIX/]monitor.yaml")
    return bucket, key


def fetch_config(url: str, folder: str | None = None) -> str:
    """The local path of the config ``url`` names, once it and its prefix's objects are downloaded."""
    import boto3

    bucket, key = _split(url)
    prefix = str(PurePosixPath(key).parent).removeprefix(".")
    prefix = f"{prefix}/" if prefix else ""
    root = Path(folder or tempfile.mkdtemp(prefix="monitor-config-"))
    client: Any = boto3.client("s3")
    count = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for found in page.get("Contents", []):
            name = found["Key"][len(prefix):]
            target = (root / name).resolve()
            if name.endswith("/") or not target.is_relative_to(root.resolve()):
                continue  # a folder marker, or a key like ../x that would land outside the folder
            count += 1
            if count > MAX_OBJECTS:
                raise ValueError(f"more than {MAX_OBJECTS} objects under s3://{bucket}/{prefix}")
            os.makedirs(target.parent, exist_ok=True)
            client.download_file(bucket, found["Key"], str(target))
    path = root / key[len(prefix):]
    if not path.is_file():
        raise FileNotFoundError(f"{url} not found")
    return str(path)
