"""The rule index: whatever the rules and the event, its candidates hold every match, in load order."""

from __future__ import annotations

import random
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.rule_workloads import loaded, pack_like_events, pack_like_patterns
from monitor.engine.evaluate import Engine
from monitor.engine.index import RuleIndex
from monitor.engine.patterns import Matcher, PatternError, compile_pattern

# Few names and values, so random rules share them and the index has something to split on.
FIELDS = ["a", "b", "c"]
NESTED = ["x", "y"]
SCALAR_VALUES = ["p", "pq", "pqr", "q", "", "P", 0, 1, 1.0, 2.5, -1, True, False, None]
OPERATOR_VALUES: list[dict[str, Any]] = [
    {"prefix": "p"}, {"prefix": "pq"}, {"prefix": ""}, {"prefix": {"equals-ignore-case": "P"}}, {"suffix": "q"},
    {"equals-ignore-case": "pQ"}, {"wildcard": "p*r"}, {"anything-but": "p"}, {"anything-but": [0, 1]},
    {"anything-but": {"prefix": "p"}}, {"exists": True}, {"exists": False}, {"numeric": [">", 0]},
    {"numeric": [">=", 0, "<", 2]}, {"cidr": "10.0.0.0/8"},
]
SCALARS = st.sampled_from(SCALAR_VALUES)
OPERATORS = st.sampled_from(OPERATOR_VALUES)
LEAVES = st.lists(st.one_of(SCALARS, SCALARS, OPERATORS), min_size=1, max_size=3)
NESTED_PATTERNS = st.dictionaries(st.sampled_from(NESTED), LEAVES, min_size=1, max_size=2)
FIELD_PATTERNS = st.dictionaries(st.sampled_from(FIELDS), LEAVES, min_size=1, max_size=3)


@st.composite
def patterns(draw: st.DrawFn) -> dict[str, Any]:
    pattern: dict[str, Any] = draw(st.dictionaries(st.sampled_from(FIELDS), LEAVES, max_size=3))
    if draw(st.booleans()):
        pattern["d"] = draw(NESTED_PATTERNS)
    if draw(st.integers(0, 3)) == 0:
        pattern["$or"] = draw(st.lists(FIELD_PATTERNS, min_size=2, max_size=3))
    if not pattern:
        pattern["a"] = draw(LEAVES)
    return pattern


EVENT_VALUES = st.one_of(
    SCALARS, st.lists(SCALARS, max_size=3), st.lists(st.lists(SCALARS, max_size=2), max_size=2),
    st.tuples(SCALARS, SCALARS), st.just("10.1.2.3"), st.just({"x": "p"}),
)
NESTED_EVENTS = st.dictionaries(st.sampled_from(NESTED), EVENT_VALUES, max_size=2)
EVENTS = st.dictionaries(
    st.sampled_from([*FIELDS, "d"]),
    st.one_of(EVENT_VALUES, NESTED_EVENTS, st.lists(NESTED_EVENTS, max_size=3), NESTED_EVENTS.map(MappingProxyType)),
    max_size=4,
)


def compiled(drawn: list[dict[str, Any]]) -> list[Matcher]:
    matchers = []
    for pattern in drawn:
        try:
            matchers.append(compile_pattern(pattern))
        except PatternError:
            continue  # a combination EventBridge refuses (e.g. an empty prefix): not a rule anyone loads
    return matchers


def assert_index_agrees(matchers: list[Matcher], events: list[dict[str, Any]]) -> None:
    index = RuleIndex(matchers, lambda matcher: matcher)
    for event in events:
        candidates = index.candidates(event)
        assert [m for m in candidates if m.matches(event)] == [m for m in matchers if m.matches(event)], event
        assert sorted(map(matchers.index, candidates)) == list(map(matchers.index, candidates))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(patterns(), max_size=40), st.lists(EVENTS, min_size=1, max_size=8))
def test_the_index_matches_what_the_plain_loop_matches(drawn: list[dict[str, Any]], events: list[Any]) -> None:
    assert_index_agrees(compiled(drawn), events)


def random_leaf(rng: random.Random) -> list[Any]:
    return [rng.choice(SCALAR_VALUES) if rng.random() < 0.7 else rng.choice(OPERATOR_VALUES)
            for _ in range(rng.randint(1, 3))]


def random_pattern(rng: random.Random) -> dict[str, Any]:
    pattern: dict[str, Any] = {name: random_leaf(rng) for name in rng.sample(FIELDS, rng.randint(1, 3))}
    if rng.random() < 0.5:
        pattern["d"] = {name: random_leaf(rng) for name in rng.sample(NESTED, rng.randint(1, 2))}
    if rng.random() < 0.25:
        pattern["$or"] = [{rng.choice(FIELDS): random_leaf(rng)} for _ in range(rng.randint(2, 3))]
    return pattern


def random_value(rng: random.Random) -> Any:
    shape = rng.randrange(5)
    if shape == 0:
        return [rng.choice(SCALAR_VALUES) for _ in range(rng.randint(0, 3))]
    if shape == 1:
        return [[rng.choice(SCALAR_VALUES)], (rng.choice(SCALAR_VALUES),)]
    if shape == 2:
        return [{name: rng.choice(SCALAR_VALUES) for name in rng.sample(NESTED, rng.randint(0, 2))}]
    return rng.choice(SCALAR_VALUES)


def random_event(rng: random.Random) -> dict[str, Any]:
    event = {name: random_value(rng) for name in rng.sample(FIELDS, rng.randint(0, 3))}
    if rng.random() < 0.6:
        event["d"] = {name: random_value(rng) for name in rng.sample(NESTED, rng.randint(0, 2))}
    return event


@pytest.mark.parametrize("seed", range(8))
def test_large_rule_sets_split_deep_and_still_agree(seed: int) -> None:
    rng = random.Random(seed)
    matchers = compiled([random_pattern(rng) for _ in range(400)])
    assert_index_agrees(matchers, [random_event(rng) for _ in range(400)])
    assert RuleIndex(matchers, lambda matcher: matcher).depth() >= 3


def many(pattern: dict[str, Any], count: int = 20) -> list[Matcher]:
    """``pattern`` and ``count`` rules beside it on other values of field ``a``, so the index splits."""
    return [compile_pattern(pattern), *(compile_pattern({"a": [f"other-{n}"], "b": ["p"]}) for n in range(count))]


def candidates(matchers: list[Matcher], event: dict[str, Any]) -> list[Matcher]:
    index = RuleIndex(matchers, lambda matcher: matcher)
    assert index.depth() >= 2, "the tree did not split: the case proves nothing"
    return index.candidates(event)


def test_true_is_not_one_and_one_is_not_true() -> None:
    ones, trues = many({"a": [1]}), many({"a": [True]})
    assert ones[0] in candidates(ones, {"a": 1.0})
    assert ones[0] not in candidates(ones, {"a": True})
    assert trues[0] in candidates(trues, {"a": True})
    assert trues[0] not in candidates(trues, {"a": 1})
    both = many({"a": [1, True]})
    assert both[0] in candidates(both, {"a": True})
    assert both[0] in candidates(both, {"a": 1})


def test_arrays_tuples_and_nested_arrays_contribute_each_element() -> None:
    rules = many({"a": ["x"]})
    for event in ({"a": ["w", "x"]}, {"a": ("w", "x")}, {"a": [["w"], ["x"]]}, MappingProxyType({"a": ("x",)})):
        assert rules[0] in candidates(rules, dict(event)), event
    nested = [compile_pattern({"d": {"x": ["p"]}}), *(compile_pattern({"d": {"x": [f"o{n}"]}}) for n in range(20))]
    assert nested[0] in candidates(nested, {"d": [{"x": "q"}, [{"x": ["p"]}]]})
    assert nested[0] in candidates(nested, {"d": MappingProxyType({"x": ("q", "p")})})


def test_prefixes_of_every_length_are_found() -> None:
    rules = [compile_pattern({"a": [{"prefix": text}]}) for text in ("", "p", "pq", "pqr", "x")] + many({"b": ["z"]})
    found = candidates(rules, {"a": "pqr"})
    assert rules[:4] == [m for m in found if m.matches({"a": "pqr"})]
    assert rules[4] not in found


def test_a_missing_field_still_reaches_absence_and_anything_but() -> None:
    rules = [compile_pattern({"a": ["x", {"exists": False}]}), compile_pattern({"a": [{"anything-but": "x"}]}),
             *many({"b": ["z"]})]
    missing, other = {"b": "q"}, {"a": "y"}
    assert [rules[0]] == [m for m in candidates(rules, missing) if m.matches(missing)]
    assert [rules[1]] == [m for m in candidates(rules, other) if m.matches(other)]


def test_unhashable_values_are_no_keys() -> None:
    rules = many({"a": ["x"]})
    assert rules[0] not in candidates(rules, {"a": [{"x": "x"}, {"y": 1}]})


def test_shared_operations_cost_what_could_match_not_what_is_loaded() -> None:
    """The bench's pack-like rules: 10,000 rules on the same few operations hand an event no more candidates."""
    events = pack_like_events(300)
    per_event = {}
    for size in (10, 10_000):
        engine = Engine(loaded(pack_like_patterns(size)))
        per_event[size] = sum(len(engine.index.candidates(event.to_dict())) for event in events) / len(events)
        assert engine.index.depth() <= 4
    assert per_event[10_000] <= per_event[10] + 1


def test_rules_on_hundreds_of_fields_cost_the_fields_an_event_has() -> None:
    """Rules told apart by which ``details`` field they name: the event meets only the fields it has."""
    rules = [compile_pattern({"operation": ["PutObject"], "details": {f"f{n // 4}": [f"v{n}"]}}) for n in range(2000)]
    index = RuleIndex(rules, lambda matcher: matcher)
    event = {"operation": "PutObject", "details": {"f7": ["v29", "v30"], "f8": "v1", "other": "v33"}}
    assert index.candidates(event) == [rules[29], rules[30]]
