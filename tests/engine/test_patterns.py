"""The EventBridge pattern compiler: the documented cases, moto as a second opinion, errors and index keys."""

from __future__ import annotations

import datetime
import json
import re
from types import MappingProxyType
from typing import Any

import pytest
from moto.events.models import EventPattern

from monitor.engine.index import RuleIndex
from monitor.engine.patterns import Flag, Matcher, PatternError, Prefix, compile_pattern, exact_key, unrolled
from monitor.events import Actor, Event, Resource
from tests.engine.pattern_cases import CASES, Case

IDS = [case.name for case in CASES]


def test_the_table_is_large_unique_and_mostly_agrees_with_moto() -> None:
    assert len(CASES) >= 60
    assert len(set(IDS)) == len(IDS)
    assert {case.expected for case in CASES} == {True, False}
    assert sum(bool(case.moto_differs) for case in CASES) <= len(CASES) // 10


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_documented_case(case: Case) -> None:
    assert compile_pattern(case.pattern).matches(case.event) is case.expected


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_moto_gives_the_same_answer_unless_noted(case: Case) -> None:
    moto = EventPattern.load(json.dumps(case.pattern)).matches_event(case.event)
    if case.moto_differs:
        assert moto is not case.expected, f"moto now agrees; drop the note {case.moto_differs!r}"
    else:
        assert moto is case.expected


def test_exists_false_looks_at_the_whole_event() -> None:
    """event-ruler checks absence against every field of the event, not one array element (Finder.java)."""
    matcher = compile_pattern({"items": {"deleted": [{"exists": False}], "type": ["a"]}})
    assert matcher.matches({"items": [{"type": "a"}, {"type": "b"}]})
    assert not matcher.matches({"items": [{"type": "a"}, {"type": "b", "deleted": True}]})


def test_nested_arrays_are_unrolled() -> None:
    assert compile_pattern({"a": [3]}).matches({"a": [[1, 2], [3]]})
    assert compile_pattern({"a": {"b": ["x"]}}).matches({"a": [[{"b": "y"}], [{"b": "x"}]]})
    assert not compile_pattern({"a": {"b": ["x"]}}).matches({"a": [[{"b": "y"}]]})


def test_any_mapping_is_an_event() -> None:
    event = MappingProxyType({"detail": MappingProxyType({"state": ("pending", "running")})})
    assert compile_pattern({"detail": {"state": ["running"]}}).matches(event)


def test_a_normalized_event_matches_through_to_dict() -> None:
    event = Event(
        id="e-1", time=datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC), provider="aws", account="123456789012",
        region="us-east-1", service="s3",
        resource=Resource("bucket", "arn:aws:s3:::logs", "logs", "123456789012"),
        action="permissions_changed", operation="PutBucketAcl",
        actor=Actor(id="arn:aws:iam::123456789012:user/alice", type="IAMUser", ip="198.51.100.7"),
        details={"public": True, "grantees": ["AllUsers", "owner"]},
    )
    matcher = compile_pattern({
        "operation": ["PutBucketAcl"], "resource": {"kind": ["bucket"]},
        "actor": {"ip": [{"anything-but": {"prefix": "10."}}], "type": [{"anything-but": "AWSService"}]},
        "details": {"grantees": ["AllUsers"], "public": [True]},
    })
    assert matcher.matches(event.to_dict())
    assert compile_pattern({"actor": {"ip": [{"cidr": "198.51.100.0/29"}]}}).matches(event.to_dict())
    assert not compile_pattern({"actor": {"ip": [{"cidr": "198.51.100.0/30"}]}}).matches(event.to_dict())


def test_no_regex_is_compiled_while_matching(monkeypatch: pytest.MonkeyPatch) -> None:
    matcher = compile_pattern({"name": [{"wildcard": "*.pem"}], "path": [{"anything-but": {"wildcard": "*/tmp/*"}}]})

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("regex compiled per event")

    for name in ("compile", "match", "fullmatch", "search"):
        monkeypatch.setattr(re, name, refuse)
    assert matcher.matches({"name": "id.pem", "path": "/home/a"})
    assert not matcher.matches({"name": "id.pem", "path": "/x/tmp/y"})


ERRORS: list[tuple[Any, str, tuple[str | int, ...]]] = [
    (["operation"], "a pattern is an object of fields, e.g. {'operation': ['PutBucketAcl']}", ()),
    ({}, "an empty object matches nothing; give at least one field", ()),
    ({"details": {}}, "an empty object matches nothing; give at least one field", ("details",)),
    ({"operation": []}, "an empty array matches nothing; list at least one value", ("operation",)),
    ({"operation": "PutBucketAcl"}, "pattern values must be in an array, e.g. ['PutBucketAcl']", ("operation",)),
    ({1: ["x"]}, "field names are strings; quote 1", (1,)),
    ({"details": {"prefix": "Put"}},
     "'prefix' is an operator: put it in the field's array, e.g. details: [{'prefix': 'Put'}]",
     ("details", "prefix")),
    ({"operation": [{"prefx": "Put"}]}, "unknown operator 'prefx' (did you mean 'prefix'?)",
     ("operation", 0, "prefx")),
    ({"size": [{"NUMERIC": ["=", 5]}]}, "unknown operator 'NUMERIC' (did you mean 'numeric'? operators are lower case)",
     ("size", 0, "NUMERIC")),
    ({"details": [{"size": [1]}]},
     "unknown operator 'size'; to match the nested field 'size', write its parent as an object, not an array",
     ("details", 0, "size")),
    ({"operation": [{"prefix": "Put", "suffix": "Acl"}]},
     "an operator object holds exactly one operator (got 'prefix', 'suffix'); give each operator its own array item",
     ("operation", 0)),
    ({"operation": [["PutBucketAcl"]]},
     "values to match must be strings, numbers, true, false or null, or an operator object like {'prefix': 'x'}",
     ("operation", 0)),
    ({"time": [datetime.date(2017, 10, 2)]}, "quote dates and times so they stay strings, e.g. '2017-10-02'",
     ("time", 0)),
    ({"operation": [{"prefix": ["Put", "Delete"]}]},
     "prefix expects a string or {'equals-ignore-case': 'text'}; for several, give each its own {'prefix': ...} item",
     ("operation", 0, "prefix")),
    ({"name": [{"suffix": {"ignore-case": ".png"}}]}, "suffix expects a string or {'equals-ignore-case': 'text'}",
     ("name", 0, "suffix")),
    ({"type": [{"equals-ignore-case": ["a"]}]},
     "equals-ignore-case expects a string; for several, give each its own {'equals-ignore-case': ...} item",
     ("type", 0, "equals-ignore-case")),
    ({"name": [{"wildcard": "a**b"}]}, "wildcard 'a**b': consecutive '*' at position 2; one '*' is enough",
     ("name", 0, "wildcard")),
    ({"name": [{"wildcard": "a\\xb"}]}, "wildcard 'a\\\\xb': '\\' at position 1 may only escape '*' or '\\'",
     ("name", 0, "wildcard")),
    ({"size": [{"numeric": 5}]}, "numeric expects operator/value pairs like ['>', 0, '<=', 5] or ['=', 5]",
     ("size", 0, "numeric")),
    ({"size": [{"numeric": [">", 0, "<"]}]},
     "numeric expects operator/value pairs like ['>', 0, '<=', 5] or ['=', 5]", ("size", 0, "numeric")),
    ({"size": [{"numeric": ["=>", 5]}]}, "unknown numeric operator '=>' (did you mean '>='?); "
     "numeric expects operator/value pairs like ['>', 0, '<=', 5] or ['=', 5]", ("size", 0, "numeric", 0)),
    ({"size": [{"numeric": [">", 0, ">", 5]}]}, "a numeric range is a lower bound ('>' or '>=') then an upper bound "
     "('<' or '<='), e.g. ['>', 0, '<=', 5]", ("size", 0, "numeric", 2)),
    ({"size": [{"numeric": ["<", 5, ">", 0]}]}, "a numeric range is a lower bound ('>' or '>=') then an upper bound "
     "('<' or '<='), e.g. ['>', 0, '<=', 5]", ("size", 0, "numeric", 0)),
    ({"size": [{"numeric": ["=", 1, "<", 5]}]}, "numeric '=' takes a single value, e.g. ['=', 5]",
     ("size", 0, "numeric")),
    ({"size": [{"numeric": [">", 5, "<", 1]}]}, "numeric range ['>', 5, '<', 1] can never match: 5 is not below 1",
     ("size", 0, "numeric")),
    ({"size": [{"numeric": [">", "five"]}]}, "numeric bounds must be numbers, got 'five'", ("size", 0, "numeric", 1)),
    ({"size": [{"numeric": [">", True]}]}, "numeric bounds must be numbers, got True", ("size", 0, "numeric", 1)),
    ({"ip": [{"cidr": "10.0.0.1"}]}, "cidr '10.0.0.1' needs one '/' and a prefix length, e.g. '10.0.0.1/32'",
     ("ip", 0, "cidr")),
    ({"ip": [{"cidr": "10.0.0.0/33"}]}, "cidr '10.0.0.0/33' is not an IPv4 or IPv6 network like '10.0.0.0/24'",
     ("ip", 0, "cidr")),
    ({"ip": [{"cidr": ["10.0.0.0/8"]}]}, "cidr expects a string like '10.0.0.0/24' or '2001:db8::/32'",
     ("ip", 0, "cidr")),
    ({"ip": [{"exists": "true"}]}, "exists expects true or false, got 'true'", ("ip", 0, "exists")),
    ({"state": [{"anything-but": True}]}, "anything-but expects a string, a number, an array of strings or of "
     "numbers, or an object with prefix, suffix, equals-ignore-case or wildcard", ("state", 0, "anything-but")),
    ({"state": [{"anything-but": []}]}, "anything-but needs at least one value", ("state", 0, "anything-but")),
    ({"state": [{"anything-but": ["a", 1]}]}, "anything-but arrays hold only strings or only numbers, not both",
     ("state", 0, "anything-but")),
    ({"state": [{"anything-but": {"prefx": "in"}}]}, "anything-but cannot be combined with 'prefx' "
     "(did you mean 'prefix'?)", ("state", 0, "anything-but", "prefx")),
    ({"state": [{"anything-but": {"prefix": ""}}]}, "anything-but prefix must not be empty",
     ("state", 0, "anything-but", "prefix")),
    ({"name": [{"anything-but": {"suffix": {"equals-ignore-case": ".png"}}}]},
     "anything-but suffix expects a string or an array of strings", ("name", 0, "anything-but", "suffix")),
    ({"state": [{"anything-but": {"prefix": "a", "suffix": "b"}}]},
     "anything-but takes an object with one of prefix, suffix, equals-ignore-case, wildcard",
     ("state", 0, "anything-but")),
    ({"$or": [{"operation": ["PutBucketAcl"]}]}, "$or expects an array of at least two pattern objects", ("$or",)),
    ({"$or": [{"operation": ["PutBucketAcl"]}, "DeleteBucket"]},
     "each $or item is a pattern object, e.g. {'operation': ['PutBucketAcl']}", ("$or", 1)),
    ({"$or": [{"operation": ["PutBucketAcl"]}, {"prefix": ["Delete"]}]},
     "'prefix' is an operator, not a field: inside $or give fields, e.g. {'operation': [{'prefix': ...}]}",
     ("$or", 1, "prefix")),
    ({"details": {"$or": [{"public": [True]}, {"grants": {"uri": [{"suffix": 5}]}}]}},
     "suffix expects a string or {'equals-ignore-case': 'text'}; for several, give each its own {'suffix': ...} item",
     ("details", "$or", 1, "grants", "uri", 0, "suffix")),
]


@pytest.mark.parametrize(("pattern", "message", "path"), ERRORS, ids=[e[1][:40] for e in ERRORS])
def test_pattern_error(pattern: Any, message: str, path: tuple[str | int, ...]) -> None:
    with pytest.raises(PatternError) as caught:
        compile_pattern(pattern)
    assert str(caught.value) == message
    assert caught.value.path == path


def test_pattern_error_is_a_value_error() -> None:
    assert issubclass(PatternError, ValueError)


REQUIRED: list[tuple[dict[str, Any], dict[tuple[str, ...], frozenset[Any]]]] = [
    ({"operation": ["PutBucketAcl"]}, {("operation",): frozenset({"PutBucketAcl"})}),
    ({"provider": ["aws"], "service": ["s3"], "operation": ["PutBucketAcl", "PutBucketPolicy"]},
     {("provider",): frozenset({"aws"}), ("service",): frozenset({"s3"}),
      ("operation",): frozenset({"PutBucketAcl", "PutBucketPolicy"})}),
    ({"resource": {"kind": ["bucket"], "id": ["arn:aws:s3:::logs"]}},
     {("resource", "kind"): frozenset({"bucket"}), ("resource", "id"): frozenset({"arn:aws:s3:::logs"})}),
    ({"provider": ["aws"], "operation": [{"prefix": "Put"}]},
     {("provider",): frozenset({"aws"}), ("operation",): frozenset({Prefix("Put")})}),
    ({"resource": {"name": [{"prefix": "prod-"}, "staging"]}},
     {("resource", "name"): frozenset({Prefix("prod-"), "staging"})}),
    ({"operation": [{"prefix": {"equals-ignore-case": "put"}}]}, {}),
    ({"operation": ["DeleteBucket", {"prefix": "Put"}], "details": {"public": [True]}},
     {("operation",): frozenset({"DeleteBucket", Prefix("Put")}), ("details", "public"): frozenset({Flag(True)})}),
    ({"details": {"flag": [1, True, 0.0]}}, {("details", "flag"): frozenset({1, Flag(True), 0})}),
    ({"$or": [{"operation": ["PutBucketAcl"]}, {"operation": ["PutBucketPolicy"]}]},
     {("operation",): frozenset({"PutBucketAcl", "PutBucketPolicy"})}),
    ({"$or": [{"operation": ["PutBucketAcl"]}, {"service": ["ec2"]}]}, {}),
    ({"operation": [{"anything-but": "GetObject"}]}, {}),
    ({"details": {"size": [{"numeric": [">", 0]}], "deleted": [{"exists": False}]}}, {}),
    ({"operation": ["PutBucketAcl", {"exists": False}]}, {}),
    ({"operation": ["PutBucketAcl", {"exists": True}]}, {}),
    ({"details": {"state": [None]}}, {("details", "state"): frozenset({None})}),
    ({"operation": ["PutBucketAcl", "PutBucketPolicy"],
      "$or": [{"operation": ["PutBucketAcl"]}, {"operation": ["PutBucketAcl"], "outcome": ["failure"]}]},
     {("operation",): frozenset({"PutBucketAcl"})}),
]


@pytest.mark.parametrize(("pattern", "expected"), REQUIRED, ids=[json.dumps(p)[:50] for p, _ in REQUIRED])
def test_required_fields(pattern: dict[str, Any], expected: dict[tuple[str, ...], frozenset[Any]]) -> None:
    assert dict(compile_pattern(pattern).required_fields()) == expected


def test_true_and_one_are_different_keys() -> None:
    assert exact_key(True) == Flag(True) != exact_key(1) == 1
    assert exact_key(False) != exact_key(0)
    assert exact_key(None) is None


def test_unrolled_gives_each_item_of_nested_arrays_and_tuples() -> None:
    assert unrolled([1, [2, (3, [])], {"b": 4}]) == [1, 2, 3, {"b": 4}]
    assert unrolled(("x",)) == ["x"]
    assert unrolled("xy") == ("xy",)
    assert unrolled({"b": 1}) == ({"b": 1},)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_index_keys_never_rule_out_a_match(case: Case) -> None:
    """Whenever a pattern matches, the event has one of the indexed values at the indexed path."""
    matcher: Matcher = compile_pattern(case.pattern)
    if case.expected:
        assert RuleIndex([matcher], lambda m: m).candidates(case.event) == [matcher]

