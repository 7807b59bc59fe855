"""Trail buckets in moto (server mode): gzipped CloudTrail log files under their real keys."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from monitor.store import SqliteStore
from tests.conftest import load_payload
from tests.integration.conftest import aws, moto_endpoint  # noqa: F401  # the fixtures, for this folder

ORG = "o-a1b2c3d4e5"
ACCOUNT = "111122223333"
SAMPLES = ["aws/cloudtrail_logfile_s3_listbuckets_putbucketacl_getbucketversioning_awsdocs.json",
           "aws/cloudtrail_logfile_ec2_startinstances_awsdocs.json"]


def sample_records() -> list[dict[str, Any]]:
    """Real CloudTrail records, as AWS's documentation shows log files."""
    return [record for name in SAMPLES for record in load_payload(name)["Records"]]


def log_file(records: list[Any]) -> bytes:
    return gzip.compress(json.dumps({"Records": records}).encode())


def trail_key(day: date, kind: str = "CloudTrail", region: str = "us-east-1", name: str = "0001") -> str:
    """Where an organization trail puts a file of ``day``."""
    stamp = f"{day:%Y%m%d}T0005Z"
    base = f"AWSLogs/{ORG}/{ACCOUNT}/{kind}/{region}/{day:%Y/%m/%d}"
    if kind == "CloudTrail-Digest":
        return f"{base}/{ACCOUNT}_CloudTrail-Digest_{region}_org-trail_{region}_{stamp}.json.gz"
    return f"{base}/{ACCOUNT}_CloudTrail_{region}_{stamp}_{name}.json.gz"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(str(tmp_path / "monitor.db"))
    yield store
    store.close()
