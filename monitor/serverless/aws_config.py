"""A config in S3 (``MONITOR_CONFIG=s3://BUCKET/PREFIX/monitor.yaml``), copied with what lies beside it
(``monitor.serverless.remote_config``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from monitor.serverless.remote_config import copy_config


def fetch_config(url: str, folder: str | None = None) -> str:
    """The local path of the config ``url`` names, once it and its prefix's objects are downloaded."""
    import boto3

    client: Any = boto3.client("s3")

    def names(bucket: str, prefix: str) -> Iterator[str]:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            yield from (found["Key"] for found in page.get("Contents", []))

    def download(bucket: str, name: str, target: Path) -> None:
        client.download_file(bucket, name, str(target))

    return copy_config(url, "s3", names, download, folder)
