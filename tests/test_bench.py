"""The benchmarks at a very small size, so that they keep running: each measures what it says."""

from __future__ import annotations

import re
import sys

import orjson
import pytest

from bench import end_to_end, latency, outputs, state_memory
from bench.workloads import mutated_payloads
from monitor.adapters import normalize


def test_the_mutated_samples_give_distinct_events_moving_forward_in_time() -> None:
    events = [event for raw in mutated_payloads(200) for event in normalize(orjson.loads(raw))]
    assert len(events) >= 200
    assert len({event.id for event in events}) == len(events)
    assert events[-1].time > events[0].time
    assert len({event.resource.parent for event in events if event.service == "s3"}) > 20


def test_end_to_end_records_every_event_and_measures_the_disk(capsys: pytest.CaptureFixture[str]) -> None:
    figures = end_to_end.run(mutated_payloads(120), rules=200, batch=10, profile=False)
    assert figures["events"] >= 120
    assert 0 < figures["ratio"] < 1
    assert figures["bytes_per_event"] > 100
    printed = capsys.readouterr().out
    assert "200 rules loaded" in printed
    assert re.search(r"matches per event: 0\.[6-9]\d|matches per event: 1\.[0-3]\d", printed)
    assert re.search(r"events +[\d,]+ bytes/event", printed)


@pytest.mark.parametrize("kind", ["naive", *state_memory.RULES])
def test_state_memory_tracks_every_key(kind: str) -> None:
    found = state_memory.measure(kind, keys=300, per_key=3, traced=True)
    assert found.keys == 300
    assert found.bytes > 300 * 50
    assert (found.serialized > 0) == (kind != "naive")


def test_latency_gets_every_message_to_the_receiver(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["latency", "--events", "5", "--rules", "100"])
    latency.main()
    printed = capsys.readouterr().out
    assert len(re.findall(r"2xx -> receiver .* \(5 arrived\)", printed)) == 1
    assert len(re.findall(r"beyond the poll\) .* \(5 arrived\)", printed)) == 1


def test_the_outputs_bench_forwards_every_event_both_ways(monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["outputs", "--events", "60", "--batch", "25"])
    outputs.main()  # asserts that the receiver got every event, from the baseline and from the output
    printed = capsys.readouterr().out
    assert re.search(r"^events: \d{2,}, batches of 25$", printed, re.M)
    assert re.search(r"^ratio output/baseline +: \d+\.\d\d$", printed, re.M)


def test_the_detector_and_rule_benchmarks_still_run() -> None:
    """Imports and a tiny run, so `make bench` does not rot when the modules it uses change."""
    import subprocess
    import sys

    detectors = subprocess.run([sys.executable, "-m", "bench.detectors", "--events", "1000", "--keys", "100",
                                "--sqlite-events", "200", "--hot-events", "200", "--hot-keys", "5"],
                               capture_output=True, text=True, timeout=300, check=False)
    assert detectors.returncode == 0, detectors.stderr
    assert "bytes of state per key" in detectors.stdout
