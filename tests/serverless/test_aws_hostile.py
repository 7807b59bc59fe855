"""Any Lambda event, however broken, ends as events or dead letters: the handler never raises on it, reports
no record as failed (only the store failing may), and the good records beside a bad one are recorded."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.config import load_config
from monitor.serverless import aws
from monitor.serverless.runtime import Runtime
from tests.hostile_payloads import hostile_payload
from tests.serverless.conftest import s3_body, s3_record, sqs_batch, write_config

SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=20)
RECORD_KEYS = st.sampled_from(["eventSource", "body", "Sns", "s3", "dynamodb", "messageId", "eventSourceARN"])
SHAPES = st.one_of(
    JSON,  # anything at all
    st.dictionaries(st.sampled_from(["Records", "detail-type", "source", "detail", "id"]), JSON, max_size=4),
    st.builds(lambda records: {"Records": records},
              st.lists(st.dictionaries(RECORD_KEYS, JSON | st.sampled_from(["aws:sqs", "aws:sns", "aws:s3"])),
                       max_size=3)),
)


def _runtime(folder: Path) -> Runtime:
    return Runtime(load_config(write_config(folder, f"sqlite:///{folder}/state.db", "json://127.0.0.1:9/hook")))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=SHAPES)
def test_any_event_shape_is_answered_without_raising(tmp_path: Path, event: Any) -> None:
    container = _runtime(tmp_path)
    try:
        assert aws.handle_event(event, container) in (None, {"batchItemFailures": []})
    finally:
        container.close()


@settings(max_examples=100, deadline=None)
@given(hostile=hostile_payload())
def test_a_hostile_sqs_body_between_good_ones_is_a_dead_letter_and_the_batch_goes_on(hostile: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:  # a fresh state each example: nothing is a duplicate
        container = _runtime(Path(folder))
        try:
            batch = sqs_batch(s3_body(s3_record("before.csv")), hostile.decode("utf-8", "replace"),
                              s3_body(s3_record("after.csv")))
            assert aws.handle_event(batch, container) == {"batchItemFailures": []}
            events, dead = len(list(container.store.read_events())), len(container.store.dead_letters())
            # The neighbours are recorded; the body gives its events, a dead letter, or nothing (an S3 TestEvent).
            assert events >= 2 and dead <= 1 and (dead == 0 or events == 2)
        finally:
            container.close()
