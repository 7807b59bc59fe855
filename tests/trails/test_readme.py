"""README's "Organization trails": its config and its backfill command, run as written against moto."""

from __future__ import annotations

import re
import shlex
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor import daemon
from monitor.cli import main
from monitor.config import load_config
from tests.integration.conftest import Aws
from tests.trails.conftest import log_file, sample_records, trail_key

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
SECTION = README.split("### Organization trails\n", 1)[1].split("\n## ", 1)[0]
[CONFIG] = re.findall(r"```yaml\n(.*?)```", SECTION, re.DOTALL)
[COMMAND] = re.findall(r"```sh\n(.*?)```", SECTION, re.DOTALL)


def test_the_documented_config_and_backfill(aws: Aws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    arguments = shlex.split(COMMAND, comments=True)
    bucket = arguments[2].removeprefix("s3://").split("/")[0]
    queue_url, queue_arn = aws.create_queue("org-trail-files")
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [
        {"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"],
         "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "AWSLogs/"}]}}}]})
    s3.put_object(Bucket=bucket, Key=trail_key(datetime.now(UTC).date()), Body=log_file(sample_records()))
    monkeypatch.setenv("QUEUE_URL", queue_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint)  # boto3 takes both clients there
    monkeypatch.chdir(tmp_path)
    (tmp_path / "monitor.yaml").write_text(CONFIG)

    intake = daemon.run(load_config(tmp_path / "monitor.yaml"), once=True)
    assert (intake.recorded, intake.dead, aws.messages_left(queue_url)) == (4, 0, 0)

    assert arguments[:2] == ["monitor", "backfill"]
    result = CliRunner().invoke(main, arguments[1:], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith(
        "1 files (0 outside the time range, 0 other objects), 4 records: 0 new events, 4 duplicates, 0 dead letters")
