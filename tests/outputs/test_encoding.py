"""Whatever an event holds (any text, numbers, nesting the intake lets through), an output's body is JSON that
gives the envelope back, within the consumer's limit, with only characters SQS and SNS take; or the event is
refused. Nothing raises."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.outputs.aws import body_of
from monitor.outputs.base import RAW_OMITTED, chunks
from tests.outputs.helpers import event

TAKEN = re.compile("^[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*$")
leaves = (st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False,
          allow_infinity=False) | st.text(st.characters(exclude_categories=["Cs"]), max_size=40))
values = st.recursive(leaves, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                          max_size=4), max_leaves=30)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(details=st.dictionaries(st.text(max_size=8), values, max_size=4),
       raw=st.dictionaries(st.text(max_size=8), values, max_size=4), limit=st.sampled_from([400, 2_000, 262_144]))
def test_a_body_gives_the_envelope_back_within_the_limit(details: dict[str, Any], raw: dict[str, Any],
                                                        limit: int) -> None:
    envelope = event(1, raw=raw).to_cloudevent()
    envelope["data"]["details"] = details
    body = body_of(envelope, limit)
    if body is None:
        return  # refused: too big even without the raw payload
    assert len(body) <= limit
    text = body.decode()
    assert TAKEN.match(text)
    back = json.loads(text)
    if back.get(RAW_OMITTED):
        assert back["data"] == {k: v for k, v in envelope["data"].items() if k != "raw"}
    else:
        assert back == envelope


@given(sizes=st.lists(st.integers(1, 300_000), max_size=40))
def test_chunks_keep_order_and_stay_within_ten_entries_and_256_kib(sizes: list[int]) -> None:
    runs = list(chunks([(str(i), n) for i, n in enumerate(sizes)], 10, 262_144))
    assert [i for run in runs for i in run] == list(range(len(sizes)))
    for run in runs:
        assert 1 <= len(run) <= 10
        assert len(run) == 1 or sum(sizes[i] for i in run) <= 262_144
