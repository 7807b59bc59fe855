"""Trail log files named by S3 notifications, through the daemon, against moto in server mode."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest

from monitor import daemon
from monitor.config import Config
from monitor.inputs.base import Message
from monitor.inputs.sqs import SqsInput
from monitor.intake.batches import Intake
from monitor.store import SqliteStore
from monitor.trails import TrailFiles
from tests.integration.conftest import Aws
from tests.trails.conftest import log_file, sample_records, trail_key

BUCKET = "org-trail"
TODAY = datetime.now(UTC).date()
SAMPLE_IDS = sorted(["cloudtrail:76b9337d00c8051a091bdd2569e5b913", "cdc4b7ed-e171-4cef-975a-ad829d4123e8",
                     "607b9532-1423-41c7-b048-ec2641693c47", "f2b287f3-0df1-4961-a2f4-c4bdfed47657"])


def trail_bucket(aws: Aws, via: str = "sqs") -> tuple[Any, str]:
    """The trail bucket, notifying a queue of every object created under AWSLogs/ (directly, by SNS or EventBridge)."""
    queue_url, queue_arn = aws.create_queue(f"trail-files-{via}")
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    prefix = {"FilterRules": [{"Name": "prefix", "Value": "AWSLogs/"}]}
    rule = {"Events": ["s3:ObjectCreated:*"], "Filter": {"Key": prefix}}
    if via == "eventbridge":
        events = aws.client("events")
        pattern = {"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": {"bucket": {"name": [BUCKET]}}}
        events.put_rule(Name="trail-files", EventPattern=json.dumps(pattern))
        events.put_targets(Rule="trail-files", Targets=[{"Id": "monitor", "Arn": queue_arn}])
        configuration: dict[str, Any] = {"EventBridgeConfiguration": {}}
    elif via == "sns":
        sns = aws.client("sns")
        topic = sns.create_topic(Name="trail-files")["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        configuration = {"TopicConfigurations": [{"TopicArn": topic, **rule}]}
    else:
        configuration = {"QueueConfigurations": [{"QueueArn": queue_arn, **rule}]}
    s3.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration=configuration)
    drain_test_event(aws, queue_url)
    return s3, queue_url


def drain_test_event(aws: Aws, queue_url: str) -> None:
    """The s3:TestEvent sent when the configuration is saved: not a trail file, out of the way."""
    sqs = aws.client("sqs")
    for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def trail_input(aws: Aws, queue_url: str, **settings: Any) -> SqsInput:
    return SqsInput(queue_url=queue_url, region=aws.region, endpoint_url=aws.endpoint, wait_time_seconds=1,
                    cloudtrail_files=True, s3_endpoint_url=settings.pop("s3_endpoint_url", aws.endpoint), **settings)


def ids(store: SqliteStore) -> list[str]:
    return sorted(stored.event.id for stored in store.read_events())


def monitor_once(config: Path, aws: Aws) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", "run", "--once", "--config", str(config)],
                          env=aws.environment(), capture_output=True, text=True, timeout=120, check=False)


def test_a_trail_file_notified_through_sqs_is_recorded_once_by_the_daemon(aws: Aws, tmp_path: Path) -> None:
    s3, queue_url = trail_bucket(aws)
    s3.put_object(Bucket=BUCKET, Key=trail_key(TODAY), Body=log_file(sample_records()))
    sqs = aws.client("sqs")
    [notification] = sqs.receive_message(QueueUrl=queue_url, VisibilityTimeout=0)["Messages"]
    config = tmp_path / "monitor.yaml"
    config.write_text(f"""
state: sqlite:///{tmp_path}/monitor.db
inputs:
  - type: aws.sqs
    queue_url: {queue_url}
    region: {aws.region}
    endpoint_url: ${{env:MOTO_ENDPOINT}}
    wait_time_seconds: 1
    cloudtrail_files: true
    s3_endpoint_url: ${{env:MOTO_ENDPOINT}}
""")

    first = monitor_once(config, aws)
    assert first.returncode == 0, first.stderr
    assert "recorded 4 new events (0 duplicates), 0 dead letters" in first.stderr
    assert (f"aws.sqs:{queue_url}: 1 trail log files read (4 records), 0 digest or Insights files skipped, "
            "0 dead letters of files or records past a limit") in first.stderr
    assert aws.messages_left(queue_url) == 0

    sqs.send_message(QueueUrl=queue_url, MessageBody=notification["Body"])  # delivered again
    second = monitor_once(config, aws)
    assert "recorded 0 new events (4 duplicates), 0 dead letters" in second.stderr, second.stderr

    s3.put_object(Bucket=BUCKET, Key=trail_key(TODAY, "CloudTrail-Digest"), Body=log_file([]))
    digest = monitor_once(config, aws)
    assert "recorded 0 new events (0 duplicates), 0 dead letters" in digest.stderr, digest.stderr
    assert "0 trail log files read (0 records), 1 digest or Insights files skipped" in digest.stderr
    assert aws.messages_left(queue_url) == 0
    store = SqliteStore(str(tmp_path / "monitor.db"))
    assert ids(store) == SAMPLE_IDS
    assert store.dead_letters() == []
    store.close()


@pytest.mark.parametrize("via", ["sns", "eventbridge"])
def test_through_sns_or_eventbridge_the_same(aws: Aws, store: SqliteStore, via: str) -> None:
    s3, queue_url = trail_bucket(aws, via=via)
    s3.put_object(Bucket=BUCKET, Key=trail_key(TODAY), Body=log_file(sample_records()))
    intake = daemon.run(Config(inputs=[trail_input(aws, queue_url)]), once=True, store=store)
    assert (intake.recorded, intake.dead, ids(store)) == (4, 0, SAMPLE_IDS)


def test_a_corrupt_file_is_one_dead_letter_with_the_reason(aws: Aws, store: SqliteStore,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    s3, queue_url = trail_bucket(aws)
    key = trail_key(TODAY)
    s3.put_object(Bucket=BUCKET, Key=key, Body=b'{"Records": []}')  # not gzipped
    with caplog.at_level(logging.INFO, "monitor.trails"):
        intake = daemon.run(Config(inputs=[trail_input(aws, queue_url)]), once=True, store=store)
    assert intake.dead == 1  # counted by the intake, like any dead letter (and so in the metrics)
    [letter] = store.dead_letters()
    assert letter.reason == "not gzip: BadGzipFile: Not a gzipped file (b'{\"')"
    assert f"aws.sqs:{queue_url}: 0 trail log files read (0 records), 0 digest or Insights files skipped, " \
           "1 dead letters of files or records past a limit" in caplog.messages
    assert letter.source.startswith(f"aws.sqs:{queue_url}#") and letter.source.endswith(f" s3://{BUCKET}/{key}")
    notified = json.loads(letter.payload)["Records"][0]["s3"]["object"]["key"]  # the notification, to resend
    assert unquote_plus(notified) == key
    assert ids(store) == [] and aws.messages_left(queue_url) == 0


def test_a_record_the_adapter_cannot_read_is_a_dead_letter_alone(aws: Aws, store: SqliteStore) -> None:
    s3, queue_url = trail_bucket(aws)
    key = trail_key(TODAY)
    good = sample_records()
    s3.put_object(Bucket=BUCKET, Key=key, Body=log_file([good[0], {"eventVersion": "1.08"}, *good[1:]]))
    intake = daemon.run(Config(inputs=[trail_input(aws, queue_url)]), once=True, store=store)
    [letter] = store.dead_letters()
    assert letter.source.endswith(f" s3://{BUCKET}/{key}#2")
    assert letter.reason == "no adapter recognises a payload with keys ['eventVersion']"
    assert json.loads(letter.payload) == {"eventVersion": "1.08"}
    assert (intake.recorded, intake.dead, ids(store)) == (4, 1, SAMPLE_IDS)


def test_an_object_gone_is_a_dead_letter(aws: Aws, store: SqliteStore) -> None:
    _, queue_url = trail_bucket(aws)
    key = trail_key(TODAY)
    notification = json.dumps({"s3Bucket": BUCKET, "s3ObjectKey": [key]})  # CloudTrail's own, of a file gone since
    aws.client("sqs").send_message(QueueUrl=queue_url, MessageBody=notification)
    daemon.run(Config(inputs=[trail_input(aws, queue_url)]), once=True, store=store)
    [letter] = store.dead_letters()
    assert letter.reason == (f"cannot fetch s3://{BUCKET}/{key}: NoSuchKey: The specified key does not exist.")


def test_a_fetch_that_may_succeed_later_leaves_the_message_on_the_queue(
        aws: Aws, store: SqliteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    s3, queue_url = trail_bucket(aws)
    s3.put_object(Bucket=BUCKET, Key=trail_key(TODAY), Body=log_file(sample_records()))
    unreachable = trail_input(aws, queue_url, s3_endpoint_url="http://127.0.0.1:9", visibility_timeout=1)

    with pytest.raises(RuntimeError, match="inputs failed"):
        daemon.run(Config(inputs=[unreachable]), once=True, store=store)
    assert (ids(store), store.dead_letters(), aws.messages_left(queue_url)) == ([], [], 1)

    time.sleep(1.5)  # the message is visible again
    intake = daemon.run(Config(inputs=[trail_input(aws, queue_url)]), once=True, store=store)
    assert (intake.recorded, ids(store), aws.messages_left(queue_url)) == (4, SAMPLE_IDS, 0)


def test_records_reach_the_intake_in_bounded_batches(aws: Aws, store: SqliteStore) -> None:
    s3, _ = trail_bucket(aws)
    key = trail_key(TODAY)
    record = sample_records()[1]
    s3.put_object(Bucket=BUCKET, Key=key, Body=log_file([{**record, "eventID": f"e-{n}"} for n in range(1200)]))
    intake, sizes = Intake(store), []

    def sink(batch: Any) -> None:
        sizes.append(len(batch))
        intake(batch)

    notification = json.dumps({"s3Bucket": BUCKET, "s3ObjectKey": [key]})
    TrailFiles(sink, aws.client("s3"))([Message(notification, "test"), Message("{}", "other")])
    assert sizes == [1, 500, 500, 200]  # what is no trail notification passes on first, as it came
    assert (intake.recorded, intake.dead) == (1200, 1)
