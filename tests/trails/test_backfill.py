"""``monitor backfill``: a trail bucket's history read into the event log, by the date in the keys."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.store import SqliteStore
from tests.integration.conftest import Aws
from tests.trails.conftest import log_file, sample_records, trail_key

BUCKET = "org-trail-history"
TODAY = datetime.now(UTC).date()
DAYS = [TODAY, TODAY - timedelta(days=1), TODAY - timedelta(days=4)]


@pytest.fixture
def history(aws: Aws, tmp_path: Path) -> Path:
    """Files of three days (one record each, its own id), their digests, a corrupt file, and no-trail objects."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    record = sample_records()[1]
    for day in DAYS:
        s3.put_object(Bucket=BUCKET, Key=trail_key(day), Body=log_file([{**record, "eventID": f"{day}"}]))
        s3.put_object(Bucket=BUCKET, Key=trail_key(day, "CloudTrail-Digest"), Body=log_file([]))
    s3.put_object(Bucket=BUCKET, Key=trail_key(DAYS[2], name="0002"), Body=b"not gzip")
    s3.put_object(Bucket=BUCKET, Key="AWSLogs/o-a1b2c3d4e5/111122223333/readme.txt", Body=b"x")
    s3.put_object(Bucket=BUCKET, Key="elsewhere/" + trail_key(TODAY), Body=log_file([record]))  # not under the prefix
    config = tmp_path / "monitor.yaml"
    config.write_text(f"state: sqlite:///{tmp_path}/monitor.db\n")
    return config


def backfill(aws: Aws, config: Path, *options: str) -> str:
    arguments = ["backfill", f"s3://{BUCKET}/AWSLogs/", "--config", str(config), "--endpoint-url", aws.endpoint,
                 "--region", aws.region, *options]
    result = CliRunner().invoke(main, arguments, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def recorded(tmp_path: Path) -> list[str]:
    store = SqliteStore(str(tmp_path / "monitor.db"))
    try:
        return sorted(stored.event.id for stored in store.read_events())
    finally:
        store.close()


def test_since_selects_the_days_and_a_second_run_records_nothing_new(aws: Aws, history: Path) -> None:
    first = backfill(aws, history, "--since", "2d")
    assert first == (f"backfilled s3://{BUCKET}/AWSLogs/: 2 files (2 outside the time range, 4 other objects), "
                     "2 records: 2 new events, 0 duplicates, 0 dead letters")
    assert recorded(history.parent) == sorted(str(day) for day in DAYS[:2])

    second = backfill(aws, history, "--since", "2d")
    assert second.endswith("2 records: 0 new events, 2 duplicates, 0 dead letters")


def test_until_and_a_corrupt_file(aws: Aws, history: Path) -> None:
    summary = backfill(aws, history, "--since", "7d", "--until", "1d")
    assert summary.endswith("2 files (1 outside the time range, 4 other objects), 2 records: 2 new events, "
                            "0 duplicates, 1 dead letters")
    assert recorded(history.parent) == sorted(str(day) for day in DAYS[1:])
    store = SqliteStore(str(history.parent / "monitor.db"))
    [letter] = store.dead_letters()
    store.close()
    assert letter.source == f"backfill s3://{BUCKET}/{trail_key(DAYS[2], name='0002')}"
    assert letter.reason.startswith("not gzip: BadGzipFile: Not a gzipped file")
    assert letter.payload == f'{{"s3Bucket":"{BUCKET}","s3ObjectKey":["{trail_key(DAYS[2], name="0002")}"]}}'


def test_a_bucket_that_is_not_there(aws: Aws, history: Path) -> None:
    result = CliRunner().invoke(main, ["backfill", "s3://no-such-bucket/", "--config", str(history),
                                       "--endpoint-url", aws.endpoint, "--region", aws.region])
    assert result.exit_code == 1
    assert "Error: cannot list s3://no-such-bucket/: NoSuchBucket: An error occurred (NoSuchBucket)" in result.output


@pytest.mark.parametrize("url", ["bucket/prefix", "s3://", "s3:///prefix"])
def test_the_url_names_a_bucket(url: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["backfill", url, "--config", str(tmp_path / "monitor.yaml")])
    assert result.exit_code == 2
    assert "expected s3://BUCKET/PREFIX" in result.output


class Flaky:
    """An HTTP proxy in front of moto that answers the first ``failures`` object GETs with 503 SlowDown."""

    def __init__(self, upstream: str, failures: int) -> None:
        self.upstream, self.failures, self.gets = urlsplit(upstream).netloc, failures, 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if "list-type" not in self.path:
                    proxy.gets += 1
                    if proxy.gets <= proxy.failures:
                        self.send_response(503)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                connection = http.client.HTTPConnection(proxy.upstream, timeout=10)
                connection.request("GET", self.path, headers=dict(self.headers))
                answer = connection.getresponse()
                body = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                connection.close()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def flaky(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flaky]:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # the SDK does not retry: the command does
    proxy = Flaky(aws.endpoint, failures=0)
    yield proxy
    proxy.close()


@pytest.mark.parametrize(("failures", "exit_code"), [(2, 0), (3, 1)])
def test_a_fetch_that_failed_is_tried_three_times(aws: Aws, history: Path, flaky: Flaky, failures: int,
                                                  exit_code: int) -> None:
    flaky.failures = failures
    arguments = ["backfill", f"s3://{BUCKET}/AWSLogs/", "--config", str(history), "--endpoint-url", flaky.endpoint,
                 "--region", aws.region, "--since", "2d"]
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == exit_code, result.output
    if exit_code == 0:
        assert result.stdout.strip().endswith("2 records: 2 new events, 0 duplicates, 0 dead letters")
        assert flaky.gets == 4  # the first file three times, the second once
    else:
        assert (f"Error: cannot fetch s3://{BUCKET}/{trail_key(DAYS[1])}: 503: Service Unavailable (3 attempts); "
                "what was read is recorded, run again to go on") in result.output
        assert flaky.gets == 3
