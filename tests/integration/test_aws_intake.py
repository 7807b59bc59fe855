"""The AWS intake against moto in server mode: real notifications in, events recorded once, queues emptied."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor import daemon
from monitor.config import Config
from monitor.events import Event, Resource
from monitor.inputs.dynamodb_streams import DynamoDbStreamInput
from monitor.inputs.sqs import SqsInput
from monitor.store import SqliteStore
from tests.conftest import load_payload
from tests.integration.conftest import Aws

S3_EVENTS = ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
STOP_SECONDS = 5


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(str(tmp_path / "monitor.db"))
    yield store
    store.close()


def sqs_input(aws: Aws, queue_url: str) -> SqsInput:
    return SqsInput(queue_url=queue_url, region=aws.region, endpoint_url=aws.endpoint, wait_time_seconds=1)


def recorded(store: SqliteStore) -> list[Event]:
    return [stored.event for stored in store.read_events()]


def object_changes(events: list[Event]) -> list[tuple[str, str, str, str, str, str]]:
    """What an S3 object event says, sorted: kind, action, operation, id, name and parent."""
    return sorted(
        (e.resource.kind, e.action, e.operation, e.resource.id, e.resource.name, e.resource.parent) for e in events
    )


def expected_object(bucket: str, key: str, action: str, operation: str) -> tuple[str, str, str, str, str, str]:
    return ("object", action, operation, f"arn:aws:s3:::{bucket}/{key}", key, f"arn:aws:s3:::{bucket}")


def notifying_bucket(aws: Aws, bucket: str, configuration: dict[str, Any]) -> Any:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=configuration)
    return s3


def test_s3_notifications_to_sqs_are_recorded_once_and_deleted(aws: Aws, store: SqliteStore) -> None:
    bucket, keys = "monitor-direct", ["reports/2024 q1+final.csv", "a b.txt", "plain.txt"]
    queue_url, queue_arn = aws.create_queue("s3-direct")
    s3 = notifying_bucket(aws, bucket, {"QueueConfigurations": [{"QueueArn": queue_arn, "Events": S3_EVENTS}]})
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"payload")
    s3.delete_object(Bucket=bucket, Key=keys[0])
    config = Config(inputs=[sqs_input(aws, queue_url)])

    first = daemon.run(config, once=True, store=store)

    events = recorded(store)
    assert object_changes(events) == sorted(
        [expected_object(bucket, key, "created", "ObjectCreated:Put") for key in keys]
        + [expected_object(bucket, keys[0], "deleted", "ObjectRemoved:Delete")]
    )
    assert {(e.provider, e.service, e.region, e.outcome) for e in events} == {("aws", "s3", aws.region, "success")}
    assert (first.recorded, first.duplicates, first.dead) == (4, 0, 0)
    assert store.dead_letters() == []  # the s3:TestEvent sent when the configuration was saved is not a change
    assert aws.messages_left(queue_url) == 0

    second = daemon.run(config, once=True, store=store)
    assert (second.recorded, second.duplicates, second.dead) == (0, 0, 0)
    assert len(recorded(store)) == 4


@pytest.mark.parametrize("first_queue", ["raw", "envelope"])
def test_s3_through_sns_with_and_without_raw_delivery(aws: Aws, store: SqliteStore, first_queue: str) -> None:
    bucket, keys = "monitor-via-sns", ["photos/cat 1.jpg", "notes+todo.md"]
    queues = {"envelope": aws.create_queue("s3-sns-envelope"), "raw": aws.create_queue("s3-sns-raw")}
    sns = aws.client("sns")
    topic = sns.create_topic(Name="s3-changes")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queues["envelope"][1])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queues["raw"][1],
                  Attributes={"RawMessageDelivery": "true"})
    s3 = notifying_bucket(aws, bucket, {"TopicConfigurations": [{"TopicArn": topic, "Events": S3_EVENTS}]})
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"payload")
    second_queue = "envelope" if first_queue == "raw" else "raw"

    first = daemon.run(Config(inputs=[sqs_input(aws, queues[first_queue][0])]), once=True, store=store)
    second = daemon.run(Config(inputs=[sqs_input(aws, queues[second_queue][0])]), once=True, store=store)

    assert object_changes(recorded(store)) == sorted(
        expected_object(bucket, key, "created", "ObjectCreated:Put") for key in keys
    )
    assert (first.recorded, first.duplicates, first.dead) == (2, 0, 0)
    assert (second.recorded, second.duplicates, second.dead) == (0, 2, 0)  # the same S3 records, the same ids
    assert [aws.messages_left(url) for url, _ in queues.values()] == [0, 0]


def test_eventbridge_rules_to_sqs(aws: Aws, store: SqliteStore) -> None:
    bucket = "monitor-eventbridge"
    queue_url, queue_arn = aws.create_queue("eventbridge")
    events_client = aws.client("events")
    object_created = {"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": {"bucket": {"name": [bucket]}}}
    api_call = {"source": ["aws.s3"], "detail-type": ["AWS API Call via CloudTrail"],
                "detail": {"eventName": ["CreateBucket"]}}
    # moto's default target input drops the event's "account" for PutEvents; AWS delivers the event whole,
    # which is what the <aws.events.event.json> input template asks for explicitly.
    whole_event = {"InputTransformer": {"InputPathsMap": {}, "InputTemplate": "<aws.events.event.json>"}}
    for name, pattern, target in (("s3-object-created", object_created, {}), ("s3-api-calls", api_call, whole_event)):
        events_client.put_rule(Name=name, EventPattern=json.dumps(pattern))
        events_client.put_targets(Rule=name, Targets=[{"Id": "monitor", "Arn": queue_arn, **target}])
    s3 = notifying_bucket(aws, bucket, {"EventBridgeConfiguration": {}})
    s3.put_object(Bucket=bucket, Key="exports/daily.csv", Body=b"payload")
    sample = load_payload("aws/eventbridge_cloudtrail_s3_createbucket_root_custodian.json")
    sent = events_client.put_events(Entries=[{
        "Source": sample["source"], "DetailType": sample["detail-type"], "Detail": json.dumps(sample["detail"]),
        "Time": datetime(2016, 6, 4, 12, 19, 3, tzinfo=UTC),
    }])
    assert sent["FailedEntryCount"] == 0

    intake = daemon.run(Config(inputs=[sqs_input(aws, queue_url)]), once=True, store=store)

    assert (intake.recorded, intake.dead) == (2, 0), store.dead_letters()
    by_kind = {e.resource.kind: e for e in recorded(store)}
    created_object = by_kind["object"]
    assert (created_object.action, created_object.account, created_object.region) == ("created", aws.account,
                                                                                       aws.region)
    assert created_object.resource == expected_resource(bucket, "exports/daily.csv")
    created_bucket = by_kind["bucket"]
    assert (created_bucket.action, created_bucket.operation, created_bucket.outcome) == (
        "created", "CreateBucket", "success")
    assert created_bucket.resource.id == "arn:aws:s3:::custodian-create-bucket-v4"
    assert created_bucket.resource.name == "custodian-create-bucket-v4"
    assert created_bucket.time == datetime(2016, 6, 4, 12, 19, 3, tzinfo=UTC)
    assert (created_bucket.actor.type, created_bucket.actor.ip) == ("Root", "204.63.44.148")
    assert aws.messages_left(queue_url) == 0


def expected_resource(bucket: str, key: str) -> Resource:
    return Resource("object", f"arn:aws:s3:::{bucket}/{key}", key, f"arn:aws:s3:::{bucket}")


def stream_table(aws: Aws, table: str) -> str:
    """A table with a NEW_AND_OLD_IMAGES stream; returns the stream's ARN."""
    dynamodb = aws.client("dynamodb")
    description = dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "N"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return str(description["TableDescription"]["LatestStreamArn"])


def test_dynamodb_stream_put_update_delete(aws: Aws, store: SqliteStore) -> None:
    stream_arn = stream_table(aws, "orders")
    dynamodb = aws.client("dynamodb")
    key = {"pk": {"S": "customer 7"}, "sk": {"N": "42"}}
    dynamodb.put_item(TableName="orders", Item={**key, "total": {"N": "9.5"}, "blob": {"B": b"\x00\xff"},
                                                "tags": {"SS": ["b", "a"]}, "meta": {"M": {"gift": {"BOOL": True}}}})
    dynamodb.update_item(TableName="orders", Key=key, UpdateExpression="SET #total = :t",
                         ExpressionAttributeNames={"#total": "total"}, ExpressionAttributeValues={":t": {"N": "12"}})
    dynamodb.delete_item(TableName="orders", Key=key)
    config = Config(inputs=[DynamoDbStreamInput(stream_arn=stream_arn, region=aws.region, endpoint_url=aws.endpoint)])

    first = daemon.run(config, once=True, store=store)

    events = recorded(store)
    table_arn = f"arn:aws:dynamodb:{aws.region}:{aws.account}:table/orders"
    item = f"{table_arn}/item/pk=customer%207,sk=42"
    assert [(e.resource.kind, e.action, e.operation, e.resource.id, e.resource.parent) for e in events] == [
        ("item", "created", "INSERT", item, table_arn),
        ("item", "modified", "MODIFY", item, table_arn),
        ("item", "deleted", "REMOVE", item, table_arn),
    ]
    first_image = {"pk": "customer 7", "sk": 42, "total": 9.5, "blob": "AP8=", "tags": ["a", "b"],
                   "meta": {"gift": True}}
    assert events[0].details["new_image"] == first_image
    assert events[1].details["old_image"] == first_image
    assert events[1].details["new_image"] == {**first_image, "total": 12}
    assert "new_image" not in events[2].details
    assert {(e.account, e.region, e.service) for e in events} == {(aws.account, aws.region, "dynamodb")}
    assert all(e.raw["eventSourceARN"] == stream_arn for e in events)
    assert (first.recorded, first.dead) == (3, 0), store.dead_letters()

    second = daemon.run(config, once=True, store=store)
    assert (second.recorded, second.duplicates, second.dead) == (0, 0, 0)  # read from the checkpoint on

    dynamodb.put_item(TableName="orders", Item={"pk": {"S": "customer 8"}, "sk": {"N": "1"}})
    third = daemon.run(config, once=True, store=store)
    assert (third.recorded, third.duplicates) == (1, 0)


def test_dynamodb_stream_latest_skips_what_is_already_there(aws: Aws, store: SqliteStore) -> None:
    stream_arn = stream_table(aws, "audit")
    aws.client("dynamodb").put_item(TableName="audit", Item={"pk": {"S": "old"}, "sk": {"N": "1"}})
    settings = DynamoDbStreamInput(stream_arn=stream_arn, region=aws.region, endpoint_url=aws.endpoint,
                                   start="latest")

    intake = daemon.run(Config(inputs=[settings]), once=True, store=store)

    assert (intake.recorded, intake.duplicates, intake.dead) == (0, 0, 0)


def test_garbage_is_dead_lettered_and_acknowledged(aws: Aws, store: SqliteStore) -> None:
    bucket = "monitor-garbage"
    queue_url, queue_arn = aws.create_queue("mixed")
    s3 = notifying_bucket(aws, bucket, {"QueueConfigurations": [{"QueueArn": queue_arn, "Events": S3_EVENTS}]})
    sqs = aws.client("sqs")
    not_json = sqs.send_message(QueueUrl=queue_url, MessageBody="not json at all")["MessageId"]
    s3.put_object(Bucket=bucket, Key="real.txt", Body=b"payload")
    unknown = sqs.send_message(QueueUrl=queue_url, MessageBody='{"hello": "world"}')["MessageId"]

    intake = daemon.run(Config(inputs=[sqs_input(aws, queue_url)]), once=True, store=store)

    letters = {letter.source: letter for letter in store.dead_letters()}
    source = f"aws.sqs:{queue_url}#"
    assert sorted(letters) == sorted([source + not_json, source + unknown])
    assert letters[source + not_json].reason.startswith("not JSON: ")
    assert letters[source + not_json].payload == "not json at all"
    assert letters[source + unknown].reason == "no adapter recognises a payload with keys ['hello']"
    assert letters[source + unknown].payload == '{"hello": "world"}'
    assert object_changes(recorded(store)) == [expected_object(bucket, "real.txt", "created", "ObjectCreated:Put")]
    assert (intake.recorded, intake.dead) == (1, 2)
    assert aws.messages_left(queue_url) == 0


def write_config(folder: Path, queue_url: str) -> Path:
    """A monitor.yaml reading one queue, with the endpoint from the environment and the state beside it."""
    path = folder / "monitor.yaml"
    path.write_text(
        "state: sqlite:///state/monitor.db\n"
        "inputs:\n"
        "  - type: aws.sqs\n"
        f"    queue_url: {queue_url}\n"
        "    region: us-east-1\n"
        "    endpoint_url: ${env:MOTO_ENDPOINT}\n"
        "    wait_time_seconds: 1\n"
    )
    return path


def monitor(*args: str, aws: Aws, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", *args], check=False, env=aws.environment(), cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def events_json(config: Path, aws: Aws, cwd: Path) -> list[dict[str, Any]]:
    listed = monitor("events", "--config", str(config), "--format", "json", aws=aws, cwd=cwd)
    assert listed.returncode == 0, listed.stderr
    return [json.loads(line) for line in listed.stdout.splitlines()]


def test_cli_run_once_then_events(aws: Aws, tmp_path: Path) -> None:
    bucket = "monitor-cli"
    queue_url, queue_arn = aws.create_queue("cli")
    s3 = notifying_bucket(aws, bucket, {"QueueConfigurations": [{"QueueArn": queue_arn, "Events": S3_EVENTS}]})
    s3.put_object(Bucket=bucket, Key="docs/read me.txt", Body=b"payload")
    s3.delete_object(Bucket=bucket, Key="docs/read me.txt")
    config = write_config(tmp_path, queue_url)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    ran = monitor("run", "--config", str(config), "--once", aws=aws, cwd=elsewhere)

    assert ran.returncode == 0, ran.stderr
    assert "recorded 2 new events (0 duplicates), 0 dead letters" in ran.stderr
    assert (tmp_path / "state" / "monitor.db").exists()  # relative to the config, not to the working folder
    listed = events_json(config, aws, elsewhere)
    assert [(e["offset"], e["provider"], e["resource"]["kind"], e["resource"]["name"]) for e in listed] == [
        (1, "aws", "object", "docs/read me.txt"), (2, "aws", "object", "docs/read me.txt")]
    assert [(e["action"], e["operation"]) for e in listed] == [
        ("created", "ObjectCreated:Put"), ("deleted", "ObjectRemoved:Delete")]
    assert {e["resource"]["id"] for e in listed} == {f"arn:aws:s3:::{bucket}/docs/read me.txt"}
    assert aws.messages_left(queue_url) == 0


def test_daemon_stops_cleanly_on_sigterm(aws: Aws, tmp_path: Path) -> None:
    bucket = "monitor-daemon"
    queue_url, queue_arn = aws.create_queue("daemon")
    s3 = notifying_bucket(aws, bucket, {"QueueConfigurations": [{"QueueArn": queue_arn, "Events": S3_EVENTS}]})
    config = write_config(tmp_path, queue_url)
    process = subprocess.Popen([sys.executable, "-m", "monitor", "run", "--config", str(config)],
                               env=aws.environment(), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        for key in ("one.txt", "two.txt"):
            s3.put_object(Bucket=bucket, Key=key, Body=b"payload")
        listed = wait_for_events(config, aws, tmp_path, count=2)
        assert sorted(e["resource"]["name"] for e in listed) == ["one.txt", "two.txt"]

        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=STOP_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert "received SIGTERM" in stderr
    assert "recorded 2 new events (0 duplicates), 0 dead letters" in stderr


def wait_for_events(config: Path, aws: Aws, cwd: Path, count: int, timeout: float = 20) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    listed: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        if (config.parent / "state" / "monitor.db").exists():
            listed = events_json(config, aws, cwd)
            if len(listed) >= count:
                return listed
        time.sleep(0.2)
    pytest.fail(f"{len(listed)} of {count} events recorded after {timeout}s")


def ec2_state_change(number: int, **changes: Any) -> str:
    event = load_payload("aws/eventbridge_ec2_state_change_pending_awsdocs.json")
    event.update({"id": f"ec2-change-{number}", **changes})
    return json.dumps(event)


def deep_object(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


POISON = {  # what once raised out of the intake and kept a whole SQS batch in the queue (issue 9)
    "deep array": "[" * 600 + "]" * 600,
    "deep object": ec2_state_change(0, detail={"instance-id": "i-1", "state": "pending", "x": deep_object(260)}),
    "huge epoch": json.dumps({**load_payload("aws/lambda_dynamodb_stream_insert_modify_remove_samcli.json")[
        "Records"][0], "dynamodb": {"ApproximateCreationDateTime": 1e18, "Keys": {"id": {"N": "1"}}}}),
    "detail-type object": ec2_state_change(0, **{"detail-type": {"an": "object"}}),
    "id not a string": ec2_state_change(0, id={"not": "a string"}),
}


def send_nine_and_poison(aws: Aws, queue_url: str, poison: str) -> None:
    sqs = aws.client("sqs")
    bodies = [ec2_state_change(n) for n in range(1, 10)]
    bodies.insert(4, poison)
    entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies)]
    assert not sqs.send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed")


@pytest.mark.parametrize("poison", POISON)
def test_one_poison_message_among_nine_good_ones_is_dead_lettered_and_deleted(
    aws: Aws, store: SqliteStore, poison: str
) -> None:
    queue_url, _ = aws.create_queue("poison")
    send_nine_and_poison(aws, queue_url, POISON[poison])

    intake = daemon.run(Config(inputs=[sqs_input(aws, queue_url)]), once=True, store=store)

    assert sorted(e.id for e in recorded(store)) == [f"ec2-change-{n}" for n in range(1, 10)]
    [letter] = store.dead_letters()
    assert letter.source.startswith(f"aws.sqs:{queue_url}#")
    assert (intake.recorded, intake.dead) == (9, 1)
    assert aws.messages_left(queue_url) == 0


def test_cli_run_once_with_a_poison_message_exits_0_with_the_queue_empty(aws: Aws, tmp_path: Path) -> None:
    queue_url, _ = aws.create_queue("cli-poison")
    send_nine_and_poison(aws, queue_url, POISON["detail-type object"])
    config = write_config(tmp_path, queue_url)

    ran = monitor("run", "--config", str(config), "--once", aws=aws, cwd=tmp_path)

    assert ran.returncode == 0, ran.stderr
    assert "recorded 9 new events (0 duplicates), 1 dead letters" in ran.stderr
    assert len(events_json(config, aws, tmp_path)) == 9
    letters = monitor("dead-letters", "--config", str(config), "--format", "json", aws=aws, cwd=tmp_path)
    [letter] = [json.loads(line) for line in letters.stdout.splitlines()]
    assert letter["reason"] == ("adapter aws.eventbridge.cloudtrail failed in accepts: TypeError: "
                                "unhashable type: 'dict'")
    assert aws.messages_left(queue_url) == 0
