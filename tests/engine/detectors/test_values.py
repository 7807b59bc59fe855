"""new_value and change: brute-force references over random streams, restarts, and the lifecycle by hand."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from monitor.engine.detectors.common import value_text
from monitor.engine.detectors.values import NewValueSettings
from monitor.events import Event
from monitor.yamlfiles.durations import parse_duration
from tests.engine.detectors import harness as h

KEYS = st.sampled_from(["a", "b"])
VALUES = st.one_of(st.none(), st.sampled_from(["v1", "v2", "v3", "v4"]), st.just(7), st.just(["v1"]))
NEW_VALUE = st.fixed_dictionaries({
    "type": st.just("new_value"), "field": st.just("details.value"),
    "learn": st.sampled_from(["0s", "5s", "30s"]), "max_values": st.sampled_from([1, 2, 3, 1000]),
    "forget": st.sampled_from(["10s", "1m", "30d"]),
})
CHANGE = st.fixed_dictionaries({"type": st.just("change"), "field": st.just("details.value"),
                                "forget": st.sampled_from(["10s", "30d"])})


@st.composite
def streams(draw: st.DrawFn, max_gap: int = 15) -> list[Event]:
    raw = draw(st.lists(st.tuples(st.integers(0, max_gap), KEYS, VALUES), max_size=50))
    second, events = 0, []
    for index, (gap, key, value) in enumerate(raw):
        second += gap
        events.append(h.event(index, second, key, value))
    return events


def lives(events: list[Event], index: int, forget: int) -> list[Event]:
    """The events with the field of ``events[index]``'s key, up to it, since the key was last forgotten."""
    key = h.key_of(events[index])
    life: list[Event] = []
    for e in events[: index + 1]:
        if h.key_of(e) != key or "value" not in e.details:
            continue
        if life and h.second_of(e) - h.second_of(life[-1]) >= forget:
            life = []
        life.append(e)
    return life


def new_value_reference(spec: dict[str, Any], events: list[Event]) -> list[tuple[int, str, str, int]]:
    learn, forget = int(parse_duration(spec["learn"])), int(parse_duration(spec["forget"]))
    found = []
    for index, e in enumerate(events):
        if "value" not in e.details:
            continue
        life = lives(events, index, forget)
        recent: list[str] = []
        for earlier in life[:-1]:
            text = value_text(earlier.details["value"])
            recent = [v for v in recent if v != text] + [text]
        new = value_text(e.details["value"]) not in recent[-spec["max_values"]:]
        if new and h.second_of(e) >= h.second_of(life[0]) + learn:
            group = {"resource.parent": h.key_of(e), "details.value": e.details["value"]}
            found.append((index, "firing", h.fp(**group), 1))
    return found


def change_reference(spec: dict[str, Any], events: list[Event]) -> list[tuple[int, str, str, int]]:
    forget = int(parse_duration(spec["forget"]))
    found = []
    for index, e in enumerate(events):
        if "value" not in e.details:
            continue
        life = lives(events, index, forget)
        if len(life) > 1 and value_text(life[-2].details["value"]) != value_text(e.details["value"]):
            found.append((index, "firing", h.fp(**{"resource.parent": h.key_of(e)}), 1))
    return found


@settings(max_examples=300, deadline=None)
@given(NEW_VALUE, streams())
def test_new_value_matches_the_brute_force_reference(spec: dict[str, Any], events: list[Event]) -> None:
    found = h.feed(h.runner(spec), events)
    assert h.summary(found) == new_value_reference(spec, events)
    for index, alert in found:
        assert alert.event_ids == (events[index].id,)
        assert alert.group["details.value"] == events[index].details["value"]


@settings(max_examples=300, deadline=None)
@given(CHANGE, streams())
def test_change_matches_the_brute_force_reference(spec: dict[str, Any], events: list[Event]) -> None:
    found = h.feed(h.runner(spec), events)
    assert h.summary(found) == change_reference(spec, events)
    for index, alert in found:
        assert alert.explanation["to"] == events[index].details["value"]
        assert alert.explanation["from"] != alert.explanation["to"]


@settings(max_examples=150, deadline=None)
@given(st.one_of(NEW_VALUE, CHANGE), streams(), st.integers(0, 50))
def test_a_restart_anywhere_changes_nothing(spec: dict[str, Any], events: list[Event], cut: int) -> None:
    whole = h.feed(h.runner(spec), events)
    assert h.summary(h.feed_with_restart(spec, events, min(cut, len(events)))) == h.summary(whole)


def test_new_value_learns_from_the_first_event_of_each_key_then_fires_once_per_value() -> None:
    spec = {"type": "new_value", "field": "details.value", "learn": "1h"}
    events = [h.event(0, 0, "a", "eu-west-1"), h.event(1, 1800, "a", "us-east-1"),  # learning
              h.event(2, 3599, "a", "ap-south-1"),  # still learning: [first, first + learn)
              h.event(3, 3600, "a", "sa-east-1"),  # new, after learning
              h.event(4, 3700, "a", "sa-east-1"),  # known now
              h.event(5, 3800, "b", "sa-east-1"),  # key b starts learning
              h.event(6, 3900, "a", "us-east-1"), h.event(7, 4000, "a", None)]
    found = h.feed(h.runner(spec), events)
    assert [(i, a.status, dict(a.group), a.count, a.event_ids) for i, a in found] == [
        (3, "firing", {"resource.parent": "a", "details.value": "sa-east-1"}, 1, ("e3",))]
    alert = found[0][1]
    assert alert.explanation["detector"] == "new_value"
    assert alert.explanation["learning_since"] == "2024-05-01T00:00:00Z"
    assert alert.explanation["known_values"] == 4
    assert alert.title == "Test rule"
    assert alert.resource["parent"] == "a"


def test_new_value_forgets_the_least_recently_seen_value_when_full() -> None:
    spec = {"type": "new_value", "field": "details.value", "learn": "0s", "max_values": 2}
    values = ["x", "y", "x", "z", "y", "x"]  # y is the least recent when z comes; x when y comes back
    found = h.feed(h.runner(spec), [h.event(i, i, "a", v) for i, v in enumerate(values)])
    assert [(i, a.group["details.value"]) for i, a in found] == [(0, "x"), (1, "y"), (3, "z"), (4, "y"), (5, "x")]


def test_new_value_state_per_key_is_bounded() -> None:
    spec = {"type": "new_value", "field": "details.value", "learn": "0s", "max_values": 5}
    run = h.runner(spec)
    h.feed(run, [h.event(i, i, "a", f"value-{i}") for i in range(100)])
    document = run.state.get(h.RULE_ID, '["a"]')
    assert document is not None
    assert document["v"] == [f"value-{i}" for i in range(95, 100)]


def test_change_fires_on_each_change_but_not_on_first_sight_repeats_or_missing_values() -> None:
    spec = {"type": "change", "field": "details.value"}
    values = ["running", "running", None, "stopped", "stopped", "running"]
    found = h.feed(h.runner(spec), [h.event(i, i * 10, "i-1", v) for i, v in enumerate(values)])
    assert [(i, a.status, a.explanation["from"], a.explanation["to"], a.event_ids) for i, a in found] == [
        (3, "firing", "running", "stopped", ("e3",)), (5, "firing", "stopped", "running", ("e5",))]
    assert {a.fingerprint for _, a in found} == {h.fp(**{"resource.parent": "i-1"})}
    assert found[0][1].explanation["previous_event"] == "e1"
    assert found[0][1].explanation["previous_time"] == "2024-05-01T00:00:10Z"


def test_change_ignores_an_event_older_than_the_last_value() -> None:
    spec = {"type": "change", "field": "details.value"}
    run = h.runner(spec)
    found = h.feed(run, [h.event(0, 100, "a", "on"), h.event(1, 90, "a", "off"), h.event(2, 110, "a", "on")])
    assert found == []


def test_change_compares_values_of_any_type_as_json() -> None:
    spec = {"type": "change", "field": "details.value"}
    found = h.feed(h.runner(spec), [h.event(0, 0, "a", [1, 2]), h.event(1, 1, "a", [1, 2]), h.event(2, 2, "a", "1")])
    assert [i for i, _ in found] == [2]


@pytest.mark.parametrize(("spec", "message"), [
    ({"max_values": 0}, "greater than or equal to 1"),
    ({"learn": "soon"}, "is not a duration"),
    ({"feild": "x"}, "Extra inputs are not permitted"),
])
def test_new_value_settings_are_checked(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        NewValueSettings.model_validate({"type": "new_value", "field": "region", **spec})
