"""The SQS, SNS and EventBridge outputs against moto in server mode: what arrives is each event as a valid
CloudEvent, in calls of at most 10 entries and 256 KiB; an envelope too big loses its raw payload (and says so);
an unreachable endpoint is a retryable failure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from monitor.outputs import PermanentFailure, RetryableFailure, build_output
from monitor.outputs.base import RAW_OMITTED
from monitor.outputs.eventbridge import EventBridgeOutput
from monitor.outputs.forwarder import Forwarder
from monitor.outputs.sns import SnsOutput
from monitor.outputs.sqs import SqsOutput
from monitor.store import SqliteStore
from tests.integration.conftest import Aws
from tests.outputs.helpers import check_cloudevent, event, free_port, record


def drain(aws: Aws, queue_url: str) -> list[dict[str, Any]]:
    sqs, messages = aws.client("sqs"), []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                  MessageAttributeNames=["All"]).get("Messages", [])
        if not got:
            return messages
        messages.extend(got)
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])


class Spy:
    """Counts the entries of each batch call a client makes (botocore's before-call event), on the real client."""

    def __init__(self, client: Any) -> None:
        self.calls: list[int] = []
        client.meta.events.register("provide-client-params.*.*", self.seen)

    def seen(self, params: dict[str, Any], **_: Any) -> None:
        entries = params.get("Entries") or params.get("PublishBatchRequestEntries")
        if entries is not None:
            self.calls.append(len(entries))


def test_sqs_gets_every_event_as_a_structured_cloudevent_in_calls_of_ten(aws: Aws, tmp_path: Path) -> None:
    url, _ = aws.create_queue("forwarded")
    store = SqliteStore(str(tmp_path / "m.db"))
    events = record(store, range(1, 26))
    settings = SqsOutput(name="queue", queue_url=url, endpoint_url=aws.endpoint, region=aws.region, start="beginning")
    forwarder = Forwarder(settings, store)
    spy = Spy(forwarder.output.client)  # type: ignore[attr-defined]
    assert forwarder.forward() == 25
    assert spy.calls == [10, 10, 5]
    messages = drain(aws, url)
    assert sorted(check_cloudevent(json.loads(m["Body"])).id for m in messages) == sorted(e.id for e in events)
    assert {m["MessageAttributes"]["content-type"]["StringValue"] for m in messages} == {"application/cloudevents+json"}


def test_sqs_calls_stay_under_256_kib_and_a_huge_event_goes_without_its_raw_payload(aws: Aws) -> None:
    url, _ = aws.create_queue("big")
    output = build_output(SqsOutput(name="q", queue_url=url, endpoint_url=aws.endpoint, region=aws.region))
    spy = Spy(output.client)  # type: ignore[attr-defined]
    medium = [event(n, raw={"blob": "x" * 100_000}) for n in range(1, 4)]  # ~100 KB each: two a call at most
    huge = event(9, raw={"blob": "y" * 300_000})
    output.send([e.to_cloudevent() for e in [*medium, huge]])
    assert spy.calls == [2, 2]
    bodies = {json.loads(m["Body"])["id"]: json.loads(m["Body"]) for m in drain(aws, url)}
    assert set(bodies) == {"ev-1", "ev-2", "ev-3", "ev-9"}
    assert bodies["ev-9"][RAW_OMITTED] is True and "raw" not in bodies["ev-9"]["data"]
    assert check_cloudevent_loose(bodies["ev-9"]).details == huge.details
    assert check_cloudevent(bodies["ev-1"]) == medium[0]


def check_cloudevent_loose(envelope: dict[str, Any]) -> Any:
    from monitor.events import Event

    assert envelope["specversion"] == "1.0" and envelope["datacontenttype"] == "application/json"
    return Event.from_cloudevent(envelope)


def test_an_event_too_big_even_without_raw_is_refused_for_good(aws: Aws) -> None:
    url, _ = aws.create_queue("refusing")
    output = build_output(SqsOutput(name="q", queue_url=url, endpoint_url=aws.endpoint, region=aws.region))
    fat = event(1).to_cloudevent()
    fat["data"]["details"] = {"blob": "z" * 300_000}
    with pytest.raises(PermanentFailure) as failed:
        output.send([fat, event(2).to_cloudevent()])
    assert failed.value.refused == {"ev-1"} and failed.value.accepted == {"ev-2"}


def test_a_fifo_queue_gets_a_group_and_the_event_id_deduplicates(aws: Aws) -> None:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="events.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    output = build_output(SqsOutput(name="q", queue_url=url, endpoint_url=aws.endpoint, region=aws.region))
    batch = [event(n).to_cloudevent() for n in range(1, 4)]
    output.send(batch)
    output.send(batch)  # sent again (a retry after a lost answer): SQS drops the copies
    assert [json.loads(m["Body"])["id"] for m in drain(aws, url)] == ["ev-1", "ev-2", "ev-3"]


def test_an_unreachable_endpoint_is_retryable(tmp_path: Path) -> None:
    output = build_output(SqsOutput(name="q", queue_url="http://127.0.0.1:1/123456789012/q",
                                    endpoint_url=f"http://127.0.0.1:{free_port()}", region="us-east-1"))
    with pytest.raises(RetryableFailure, match=r"EndpointConnectionError|Could not connect"):
        output.send([event(1).to_cloudevent()])


def test_sns_publishes_each_event_to_its_subscribers(aws: Aws, tmp_path: Path) -> None:
    sns = aws.client("sns")
    topic = sns.create_topic(Name="forwarded")["TopicArn"]
    url, arn = aws.create_queue("sns-subscriber")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    store = SqliteStore(str(tmp_path / "m.db"))
    events = record(store, range(1, 13))
    forwarder = Forwarder(SnsOutput(name="topic", topic_arn=topic, endpoint_url=aws.endpoint, start="beginning"),
                          store)
    spy = Spy(forwarder.output.client)  # type: ignore[attr-defined]
    assert forwarder.forward() == 12
    assert spy.calls == [10, 2]
    received = [check_cloudevent(json.loads(m["Body"])) for m in drain(aws, url)]
    assert sorted(e.id for e in received) == sorted(e.id for e in events)


def test_eventbridge_puts_events_that_a_rule_routes_on(aws: Aws, tmp_path: Path) -> None:
    events_client = aws.client("events")
    url, arn = aws.create_queue("eventbridge-target")
    pattern = {"source": ["cloud-monitor"], "detail-type": ["ObjectRemoved:Delete"]}
    events_client.put_rule(Name="forwarded", EventPattern=json.dumps(pattern))
    events_client.put_targets(Rule="forwarded", Targets=[{"Id": "q", "Arn": arn}])
    store = SqliteStore(str(tmp_path / "m.db"))
    events = record(store, range(1, 14))
    settings = EventBridgeOutput(name="bus", endpoint_url=aws.endpoint, region=aws.region, start="beginning")
    forwarder = Forwarder(settings, store)
    spy = Spy(forwarder.output.client)  # type: ignore[attr-defined]
    assert forwarder.forward() == 13
    assert spy.calls == [10, 3]
    delivered = [json.loads(m["Body"]) for m in drain(aws, url)]
    assert {d["source"] for d in delivered} == {"cloud-monitor"}
    assert {d["detail-type"] for d in delivered} == {"ObjectRemoved:Delete"}
    assert {d["resources"][0] for d in delivered} == {e.resource.id for e in events}
    assert sorted(check_cloudevent(d["detail"]).id for d in delivered) == sorted(e.id for e in events)


def test_eventbridge_failed_entries_are_named_and_the_rest_taken(aws: Aws) -> None:
    """FailedEntryCount: an entry EventBridge refuses (here one with an empty DetailType) is refused for good, the
    other entries of the call are taken."""
    output = build_output(EventBridgeOutput(name="bus", endpoint_url=aws.endpoint, region=aws.region))
    odd = event(1).to_cloudevent()
    odd["type"] = ""
    odd["data"]["operation"] = odd["data"]["resource"]["kind"] = ""
    with pytest.raises(PermanentFailure) as failed:
        output.send([odd, event(2).to_cloudevent(), event(3).to_cloudevent()])
    assert failed.value.refused == {"ev-1"} and failed.value.accepted == {"ev-2", "ev-3"}


def test_a_bus_that_does_not_exist_is_retryable(aws: Aws) -> None:
    output = build_output(EventBridgeOutput(name="bus", event_bus_name="missing", endpoint_url=aws.endpoint,
                                            region=aws.region))
    with pytest.raises(RetryableFailure, match="ResourceNotFoundException") as failed:
        output.send([event(1).to_cloudevent(), event(2).to_cloudevent()])
    assert failed.value.accepted == frozenset()


def test_sqs_takes_an_event_with_characters_sqs_refuses_escaped(aws: Aws) -> None:
    """SQS refuses U+FFFE, U+FFFF and most control characters in a body; JSON escapes carry them."""
    url, _ = aws.create_queue("odd")
    output = build_output(SqsOutput(name="q", queue_url=url, endpoint_url=aws.endpoint, region=aws.region))
    odd = event(1, raw={"name": "a\uffffb\ufffe", "bell": "\x07"})
    output.send([odd.to_cloudevent()])
    [message] = drain(aws, url)
    assert "\uffff" not in message["Body"] and "\\uffff" in message["Body"]  # escaped in the JSON
    assert check_cloudevent(json.loads(message["Body"])) == odd
