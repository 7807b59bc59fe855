"""The Lambda handler on AWS's documented payload shapes, state in DynamoDB on moto, Apprise posting to a local
receiver: partial batch responses, redelivery and concurrent instances, detectors across invocations, the tick."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.config import load_config
from monitor.serverless import aws, runtime
from monitor.serverless.runtime import Runtime
from monitor.store import Store, open_store
from tests.conftest import load_payload
from tests.notify.receivers import HttpReceiver
from tests.serverless.conftest import SCHEDULED, s3_body, s3_record, sqs_batch, write_config
from tests.store.dynamodb_server import DynamoServer


class FlakyStore:
    """A real store whose ``record`` fails on the calls named (1-based), as a throttled or unreachable one would."""

    def __init__(self, store: Store, failing: set[int]) -> None:
        self._store = store
        self.failing = failing
        self.calls = 0

    def record(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls in self.failing:
            raise ConnectionError("the store is unreachable")
        return self._store.record(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


@pytest.fixture
def dynamo_config(moto: DynamoServer, tmp_path: Path, chat: HttpReceiver) -> Path:
    return write_config(tmp_path, moto.url(), chat.url())


@pytest.fixture
def warm(dynamo_config: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``handler`` as Lambda calls it: the config named by MONITOR_CONFIG, one warm runtime per test."""
    monkeypatch.setenv("MONITOR_CONFIG", str(dynamo_config))
    runtime.reset()
    yield
    runtime.reset()


def titles(chat: HttpReceiver) -> list[str]:
    return sorted(request.json()["title"] for request in chat.received)


def test_an_sqs_batch_with_a_garbage_record_reports_nothing_and_keeps_one_dead_letter(
        warm: None, chat: HttpReceiver) -> None:
    batch = sqs_batch(s3_body(s3_record("a.csv")), "{not json", s3_body(s3_record("b.csv"), s3_record("c.csv")))
    garbage_id = batch["Records"][1]["messageId"]

    assert aws.handler(batch, None) == {"batchItemFailures": []}

    store = runtime.runtime().store
    [dead] = store.dead_letters()
    assert dead.source == f"aws.sqs:{batch['Records'][0]['eventSourceARN']}#{garbage_id}"
    assert "not JSON" in dead.reason
    assert [stored.event.resource.name for stored in store.read_events(after=0)] == ["a.csv", "b.csv", "c.csv"]
    assert titles(chat) == [f"[LOW] S3 object created: {name}" for name in ("a.csv", "b.csv", "c.csv")]


def test_a_store_failure_mid_batch_reports_that_record_and_the_rest_only(
        moto: DynamoServer, dynamo_config: Path, chat: HttpReceiver) -> None:
    config = load_config(dynamo_config)
    flaky = FlakyStore(open_store(config.state_url()), failing={2})
    container = Runtime(config, store=flaky)  # type: ignore[arg-type]
    batch = sqs_batch(*(s3_body(s3_record(f"{n}.csv")) for n in range(4)))
    ids = [record["messageId"] for record in batch["Records"]]

    answer = aws.handle_event(batch, container)

    assert answer == {"batchItemFailures": [{"itemIdentifier": i} for i in ids[1:]]}
    assert len(chat.received) == 1
    again = {"Records": [r for r in batch["Records"] if r["messageId"] in ids[1:]]}
    assert aws.handle_event(again, container) == {"batchItemFailures": []}
    assert aws.handle_event(batch, container) == {"batchItemFailures": []}  # all of it once more: nothing new
    assert titles(chat) == [f"[LOW] S3 object created: {n}.csv" for n in range(4)]
    container.close()


def test_a_batch_delivered_twice_and_to_two_instances_at_once_sends_each_alert_once(
        moto: DynamoServer, dynamo_config: Path, chat: HttpReceiver) -> None:
    config = load_config(dynamo_config)
    first, second = Runtime(config), Runtime(load_config(dynamo_config))  # two containers, one table
    batch = sqs_batch(*(s3_body(s3_record(f"twice-{n}.csv")) for n in range(3)))
    assert aws.handle_event(batch, first) == {"batchItemFailures": []}
    assert aws.handle_event(batch, first) == {"batchItemFailures": []}
    assert len(chat.received) == 3

    both = sqs_batch(*(s3_body(s3_record(f"both-{n}.csv")) for n in range(3)))
    answers: list[Any] = []
    threads = [threading.Thread(target=lambda c=c: answers.append(aws.handle_event(both, c))) for c in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    second.tick()  # evaluates whatever an instance recorded while the other held the evaluation lease

    assert answers == [{"batchItemFailures": []}] * 2
    assert not chat.wait_for(7, timeout=1.0)
    expected = [f"[LOW] S3 object created: {name}-{n}.csv" for name in ("both", "twice") for n in range(3)]
    assert titles(chat) == expected
    first.close()
    second.close()


def test_a_threshold_crossed_over_three_invocations_fires_once(warm: None, chat: HttpReceiver) -> None:
    for n in range(3):
        deletion = sqs_batch(s3_body(s3_record(f"old-{n}.csv", "ObjectRemoved:Delete", bucket="archive")))
        assert aws.handler(deletion, None) == {"batchItemFailures": []}
        if n < 2:
            assert chat.received == []
        runtime.reset()  # a new container each time: the count lives in the table

    assert chat.wait_for(1)
    [message] = chat.received
    assert "Objects deleted from one bucket" in message.json()["title"]
    aws.handler(SCHEDULED, None)
    assert not chat.wait_for(2, timeout=0.5)


def test_the_scheduled_tick_sends_a_group_after_its_group_wait(
        moto: DynamoServer, tmp_path: Path, chat: HttpReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_CONFIG", str(write_config(tmp_path, moto.url(), chat.url(), group_wait="4s")))
    runtime.reset()
    try:
        assert aws.handler(sqs_batch(s3_body(s3_record("waits.csv"))), None) == {"batchItemFailures": []}
        assert aws.handler(SCHEDULED, None) is None
        assert chat.received == []  # group_wait has not passed
        time.sleep(4.2)
        assert aws.handler(SCHEDULED, None) is None
        assert chat.wait_for(1)
        assert "waits.csv" in chat.received[0].json()["title"] + chat.received[0].json()["message"]
    finally:
        runtime.reset()


@pytest.fixture
def local(tmp_path: Path, chat: HttpReceiver) -> Iterator[Runtime]:
    container = Runtime(load_config(write_config(tmp_path, f"sqlite:///{tmp_path}/state.db", chat.url())))
    yield container
    container.close()


def recorded(container: Runtime) -> list[str]:
    return [stored.event.operation for stored in container.store.read_events(after=0)]


def test_sns_s3_direct_and_eventbridge_events_are_read_from_their_shapes(local: Runtime) -> None:
    assert aws.handle_event(load_payload("aws/lambda_sns_s3_put_capture_pr4069.json"), local) is None
    assert aws.handle_event({"Records": [s3_record("direct.csv")]}, local) is None
    assert aws.handle_event(load_payload("aws/eventbridge_s3_object_created_awsdocs.json"), local) is None
    assert recorded(local) == ["ObjectCreated:Put", "ObjectCreated:Put", "Object Created"]
    assert local.store.dead_letters() == []


def test_dynamodb_stream_failures_are_reported_by_sequence_number(tmp_path: Path, chat: HttpReceiver) -> None:
    config = load_config(write_config(tmp_path, f"sqlite:///{tmp_path}/state.db", chat.url()))
    container = Runtime(config, store=FlakyStore(open_store(config.state_url()), failing={3}))  # type: ignore[arg-type]
    batch = load_payload("aws/lambda_dynamodb_stream_insert_modify_remove_samcli.json")
    sequences = [record["dynamodb"]["SequenceNumber"] for record in batch["Records"]]

    answer = aws.handle_event(batch, container)

    assert answer == {"batchItemFailures": [{"itemIdentifier": s} for s in sequences[2:]]}
    assert len(recorded(container)) == 2
    container.close()


def test_an_async_invocation_the_store_did_not_take_raises_for_lambda_to_retry(
        tmp_path: Path, chat: HttpReceiver) -> None:
    config = load_config(write_config(tmp_path, f"sqlite:///{tmp_path}/state.db", chat.url()))
    container = Runtime(config, store=FlakyStore(open_store(config.state_url()), failing={1}))  # type: ignore[arg-type]
    with pytest.raises(aws.BatchNotRecorded, match="1 of 1 records"):
        aws.handle_event(load_payload("aws/lambda_sns_s3_put_capture_pr4069.json"), container)
    assert aws.handle_event(load_payload("aws/lambda_sns_s3_put_capture_pr4069.json"), container) is None
    assert recorded(container) == ["ObjectCreated:Put"]
    container.close()


@pytest.mark.parametrize("event", ["hello", [1, 2], None, {"Records": [7, {"eventSource": "aws:sqs"}]},
                                   {"detail-type": 5, "source": None}, {"Records": [{"eventSource": "aws:sqs",
                                                                                     "body": {"x": 1}}]}])
def test_hostile_events_become_dead_letters_and_never_raise(local: Runtime, event: Any) -> None:
    answer = aws.handle_event(event, local)
    assert answer in (None, {"batchItemFailures": []})
    assert recorded(local) == []
    assert len(local.store.dead_letters()) >= 1
    assert all(json.dumps(dead.source) for dead in local.store.dead_letters())
