"""The shipped packs raise nothing on a benign day of ordinary operations (tests/rules/benign_day.py), run
through the engine on a virtual clock as ``monitor test`` runs rule tests; and they do catch the attacks."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.adapters import normalize
from monitor.engine.evaluate import Engine
from monitor.engine.loader import load_rules
from monitor.engine.ruletests import ClockStep, run_steps
from monitor.events import Event
from tests.rules.benign_day import benign_day

RULES = Path(__file__).resolve().parents[2] / "rules"


@pytest.fixture(scope="module")
def day() -> list[list[Event]]:
    return [normalize(payload) for payload in benign_day()]


def test_the_day_is_big_and_varied(day: list[list[Event]]) -> None:
    events = [event for batch in day for event in batch]
    assert len(events) >= 500
    kinds = Counter((event.provider, event.resource.kind) for event in events)
    assert {("aws", "object"), ("aws", "vm"), ("aws", "bucket"), ("aws", "table"), ("aws", "snapshot"),
            ("aws", "security_group"), ("aws", "flow_log"), ("gcp", "vm"), ("gcp", "object"), ("gcp", "firewall"),
            ("gcp", "bucket")} <= set(kinds)
    assert [event.time for event in events] == sorted(event.time for event in events)


def test_the_shipped_packs_raise_nothing_on_a_benign_day(day: list[list[Event]]) -> None:
    engine = Engine(load_rules([RULES]))
    last = max(event.time for batch in day for event in batch)
    alerts = run_steps(engine, [*day, ClockStep(at=last + timedelta(hours=1))])
    assert [(alert.rule, alert.resource.get("id")) for alert in alerts] == []


def test_the_same_day_with_an_attack_in_it_raises_the_attack(day: list[list[Event]]) -> None:
    from tests.rules import make_samples, payloads

    share = payloads.cloudtrail(
        "ModifySnapshotAttribute", "ec2", payloads.at(905), make_samples.MALLORY,
        {"snapshotId": "snap-0b000000000000001", "attributeType": "CREATE_VOLUME_PERMISSION",
         "createVolumePermission": {"add": {"items": [{"userId": "999988887777"}]}}}, ip=make_samples.ATTACKER_IP)
    attack = [normalize(payload) for payload in [*make_samples.s3_batch_deletions(), share]]
    batches = sorted([*day, *attack], key=lambda batch: min(event.time for event in batch))
    alerts = run_steps(Engine(load_rules([RULES])), batches)
    assert sorted({alert.rule for alert in alerts}) == ["aws-s3-batch-deletions-by-principal",
                                                        "aws-snapshot-or-image-shared-outside"]
