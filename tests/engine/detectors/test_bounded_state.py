"""A state cache that keeps only some documents in memory changes nothing a detector decides.

Every detector, fed the same steps, raises the same alerts (with the same counts and event ids) whether its
state stays in memory or is dropped down to one document after every step and read back from the backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from monitor.engine.state import SWEEP_EVERY, CachedState, MemoryBackend
from monitor.engine.stateful import StatefulRunner
from tests.engine.detectors import harness as h
from tests.engine.detectors.test_absence import ABSENCE
from tests.engine.detectors.test_rates import ANOMALY, SPIKE
from tests.engine.detectors.test_sequence import SEQUENCE
from tests.engine.detectors.test_values import CHANGE, NEW_VALUE
from tests.engine.detectors.test_windows import CARDINALITY, THRESHOLD

SPECS = st.one_of(THRESHOLD, CARDINALITY, NEW_VALUE, CHANGE, ABSENCE, SPIKE, ANOMALY, SEQUENCE)
OPERATIONS = ["Op", "CreateBucket", "PutBucketPolicy", "DeleteBucket"]


@st.composite
def steps(draw: st.DrawFn) -> list[h.Step]:
    """Events of five keys (values and operations drawn) and clock ticks, in time order."""
    raw = draw(st.lists(st.tuples(st.integers(0, 15), st.sampled_from(["a", "b", "c", "d", "e", None]),
                                  st.sampled_from(["v1", "v2", "v3", None]), st.sampled_from(OPERATIONS)),
                        max_size=50))
    second, found = 0, []
    for index, (gap, key, value, operation) in enumerate(raw):
        second += gap
        found.append(second if key is None else h.event(index, second, key, value, operation=operation))
    return found


def feed_bounded(spec: dict[str, Any], stream: list[h.Step], capacity: int) -> list[Any]:
    """The steps through a runner whose cache keeps ``capacity`` documents, flushed after every step as the
    daemon flushes after every batch."""
    run = StatefulRunner([h.loaded(spec)], CachedState(MemoryBackend(), capacity))
    found = []
    for index, step in enumerate(stream):
        found += h.feed(run, [step], start=index)
        run.flush(str(index))
        assert run.state.size() <= capacity
    return found


def details(found: list[Any]) -> list[tuple[Any, ...]]:
    return [(index, a.status, a.fingerprint, a.count, a.event_ids) for index, a in found]


@settings(max_examples=800, deadline=None)
@given(SPECS, steps(), st.sampled_from([1, 2]))
@example(  # a key deleted (forgotten) and then asked for before the flush: not read back from the backend
    {"type": "absence", "every": "5s", "grace": "0s", "expect": [], "forget": "30s"},
    [h.event(0, 0, "b", "v1"), h.event(1, 10, "a", "v1"), h.event(2, 20, "a", "v1"), h.event(3, 30, "b", "v1")], 1)
def test_documents_dropped_from_memory_and_read_back_change_no_alert(
    spec: dict[str, Any], stream: list[h.Step], capacity: int,
) -> None:
    assert details(feed_bounded(spec, stream, capacity)) == details(h.feed(h.runner(spec), stream))


def test_a_dropped_document_is_read_back_from_the_backend_and_an_expired_one_is_not() -> None:
    backend = MemoryBackend()
    state = CachedState(backend, capacity=1)
    state.put("r", "a", {"n": 1}, 100)
    state.put("r", "b", {"n": 2}, 200)
    state.flush("1")
    assert state.size() == 1 and backend.rows[("r", "a")][1] == 100  # "a", the least recently used, left memory
    assert state.get("r", "a") == {"n": 1}  # read back (and now the most recently used)
    state.flush("2")
    assert state.size() == 1 and state.get("r", "b") == {"n": 2}
    state.flush("3")
    state.expire(150)  # "a" is on the backend only; its expiry has passed
    assert state.get("r", "a") is None
    state.delete("r", "b")
    state.flush("4")
    # the backend's expired documents are swept once the clock has moved SWEEP_EVERY on, not at each flush
    assert ("r", "b") not in backend.rows and ("r", "a") in backend.rows
    state.expire(150 + SWEEP_EVERY - 1)
    state.flush("5")
    assert ("r", "a") in backend.rows
    state.expire(150 + SWEEP_EVERY)
    state.flush("6")
    assert ("r", "a") not in backend.rows


def test_the_daemon_keeps_state_cache_keys_documents_in_memory(tmp_path: Path) -> None:
    from monitor.alerting import Alerting
    from monitor.config import Config
    from monitor.store import open_store

    (tmp_path / "rules.yaml").write_text("rules:\n  - {id: r, title: T, severity: low, match: {provider: [aws]},\n"
                                         "     detect: {type: threshold, count: 2, window: 1m}}\n")
    config = Config.model_validate({"state": f"sqlite:///{tmp_path}/state.db", "rules": [str(tmp_path / "rules.yaml")],
                                    "state_cache_keys": 1000})
    store = open_store(config.state_url())
    alerting = Alerting.from_config(config, store, dry_run=True)
    try:
        assert alerting.engine.runner.state.capacity == 1000
        alerting._reload()
        assert alerting.engine.runner.state.capacity == 1000  # a fresh state after a lost lease too
    finally:
        alerting.close()
        store.close()


def test_a_flush_with_nothing_to_write_writes_nothing() -> None:
    backend = MemoryBackend()
    writes: list[str | None] = []
    real = backend.write_state

    def counted(*args: Any, **kwargs: Any) -> None:
        writes.append(args[2][1] if args[2] else None)
        real(*args, **kwargs)

    backend.write_state = counted  # type: ignore[method-assign]
    state = CachedState(backend)
    state.put("r", "a", {"n": 1}, 100)
    state.flush("1", expected=None)
    state.flush("1", expected="1")  # an idle tick: nothing changed, the position where it was
    state.flush("2", expected="1")  # the position moved: written
    state.delete("r", "a")
    state.flush("2", expected="2")  # a deletion: written
    assert writes == ["1", "2", "2"]
