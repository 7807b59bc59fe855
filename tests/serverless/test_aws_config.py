"""MONITOR_CONFIG=s3://...: the config and what lies beside it under its prefix, fetched from S3 on moto."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from monitor.serverless.aws_config import fetch_config
from tests.store.dynamodb_server import REGION, DynamoServer


@pytest.fixture
def s3(moto: DynamoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto.endpoint)
    client = boto3.client("s3", region_name=REGION, endpoint_url=moto.endpoint)
    client.create_bucket(Bucket="configs")
    yield client


def test_the_config_comes_with_its_prefix_and_nothing_outside_it(s3: object, tmp_path: Path) -> None:
    for key, body in {"monitor/monitor.yaml": b"state: sqlite:///state.db\n", "monitor/rules/a.yaml": b"rules: []\n",
                      "monitor/rules/": b"", "monitor/../escape.yaml": b"x", "other/monitor.yaml": b"other"}.items():
        s3.put_object(Bucket="configs", Key=key, Body=body)  # type: ignore[attr-defined]

    path = Path(fetch_config("s3://configs/monitor/monitor.yaml", str(tmp_path / "got")))

    assert path == tmp_path / "got" / "monitor.yaml"
    assert path.read_bytes() == b"state: sqlite:///state.db\n"
    found = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert found == ["got/monitor.yaml", "got/rules/a.yaml"]


@pytest.mark.parametrize(("url", "error"), [
    ("s3://configs/monitor/missing.yaml", FileNotFoundError),
    ("s3://configs/monitor/", ValueError),
    ("s3://configs", ValueError),
])
def test_a_url_that_names_no_file_says_so(s3: object, tmp_path: Path, url: str, error: type[Exception]) -> None:
    with pytest.raises(error, match=r"not found|does not name a file"):
        fetch_config(url, str(tmp_path))
