"""Rule sets and events for the matching benchmark: each size keeps the matches per event the same.

``unique_operations``: the first rules share six operations, the rest each name an operation of their own.
``pack_like``: rules shaped like the shipped packs (provider, service, operation, resource kind, outcome,
details, prefixes, anything-but, ``$or``); the ten base rules match some of the events, and every rule added
after them shares the base rules' few services and operations but differs in ``details.tag``, a
``resource.name`` prefix or ``details.classification``, values no event has, so it never matches.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from monitor.engine.loader import LoadedRule
from monitor.engine.model import Rule
from monitor.engine.patterns import compile_pattern
from monitor.events import Actor, Event, Resource
from monitor.yamlfiles.source import Location

WHEN = datetime(2026, 1, 1, tzinfo=UTC)
OPERATIONS = ["PutBucketAcl", "DeleteBucket", "RunInstances", "DeleteTable", "PutObject", "GetObject"]

# (service, operation, resource kind, action): the calls pack-like events and rules share.
CALLS = [
    ("s3", "PutObject", "object", "created"),
    ("s3", "DeleteObject", "object", "deleted"),
    ("s3", "PutBucketAcl", "bucket", "permissions_changed"),
    ("s3", "DeleteBucket", "bucket", "deleted"),
    ("ec2", "RunInstances", "vm", "created"),
    ("ec2", "AuthorizeSecurityGroupIngress", "security_group", "permissions_changed"),
    ("dynamodb", "DeleteTable", "table", "deleted"),
]


def loaded(patterns: list[dict[str, Any]]) -> list[LoadedRule]:
    rules = []
    for n, pattern in enumerate(patterns):
        rule = Rule(id=f"rule-{n}", title=f"Rule {n}", severity="low", match=pattern)
        rules.append(LoadedRule(rule, compile_pattern(pattern), (), None, Location("bench", n, 1)))
    return rules


def unique_operation_patterns(count: int) -> list[dict[str, Any]]:
    """Most rules keyed on an operation of their own, a few on a prefix or anything-but only."""
    patterns = []
    for n in range(count):
        operation = OPERATIONS[n % len(OPERATIONS)] if n < len(OPERATIONS) * 2 else f"Operation{n}"
        pattern: dict[str, Any] = {"provider": ["aws"], "operation": [operation], "details": {"public": [True]}}
        if n % 50 == 49:
            pattern = {"resource": {"name": [{"prefix": f"prod-{n}-"}]}, "outcome": ["success"]}
        patterns.append(pattern)
    return patterns


def unique_operation_events(count: int) -> list[Event]:
    return [
        Event(id=f"e{n}", time=WHEN, provider="aws", account="123456789012", region="us-east-1", service="s3",
              resource=Resource("bucket", f"arn:aws:s3:::bucket-{n % 97}", f"bucket-{n % 97}", "123456789012"),
              action="modified", operation=OPERATIONS[n % len(OPERATIONS)], actor=Actor(id="alice"),
              details={"public": n % 3 == 0})
        for n in range(count)
    ]


def _call(service: str, operation: str, kind: str) -> dict[str, Any]:
    return {"provider": ["aws"], "service": [service], "operation": [operation], "resource": {"kind": [kind]}}


def pack_base_patterns() -> list[dict[str, Any]]:
    """Ten rules like the shipped packs, each matching some of ``pack_like_events``."""
    not_a_service = {"type": [{"anything-but": "AWSService"}]}
    return [
        {**_call("s3", "PutBucketAcl", "bucket"), "outcome": ["success"], "details": {"public": [True]}},
        {**_call("s3", "DeleteBucket", "bucket"), "outcome": ["success"], "actor": not_a_service},
        {**_call("s3", "DeleteObject", "object"), "resource": {"kind": ["object"], "name": [{"prefix": "data/1"}]}},
        {**_call("ec2", "RunInstances", "vm"), "details": {"size": [{"numeric": [">", 900]}]}},
        {**_call("ec2", "AuthorizeSecurityGroupIngress", "security_group"), "details": {"public": [True]}},
        {**_call("dynamodb", "DeleteTable", "table"), "outcome": ["success"], "actor": not_a_service},
        {"provider": ["aws"], "outcome": ["failure"], "actor": {"type": ["IAMUser"]}},
        {"actor": {"type": [{"anything-but": "IAMUser"}]}, "details": {"size": [{"numeric": [">", 995]}]}},
        {**_call("s3", "PutObject", "object"), "details": {"tag": ["team-3"]}, "actor": {"id": [{"prefix": "user-1"}]}},
        {"provider": ["aws"], "service": ["s3"],
         "$or": [{"operation": ["PutBucketAcl"], "details": {"public": [True]}}, {"operation": ["DeleteBucket"]}]},
    ]


def pack_extra_pattern(n: int) -> dict[str, Any]:
    """A rule on one of the shared calls that no ``pack_like_events`` event matches."""
    service, operation, kind, _ = CALLS[n % len(CALLS)]
    pattern: dict[str, Any] = {**_call(service, operation, kind), "outcome": ["success"]}
    variant = n % 4
    if variant == 0:
        pattern["details"] = {"tag": [f"team-{100 + n}"], "public": [True, False]}
    elif variant == 1:
        pattern["resource"] = {"kind": [kind], "name": [{"prefix": f"archive-{n}/"}]}
    elif variant == 2:
        pattern["details"] = {"classification": [f"level-{n}", f"level-{n}-restricted"]}
        pattern["actor"] = {"type": [{"anything-but": "AWSService"}]}
    else:
        pattern["$or"] = [{"details": {"tag": [f"team-{100 + n}"]}},
                          {"details": {"tag": [f"owner-{n}"], "size": [{"numeric": [">", 10]}]}}]
    return pattern


def pack_like_patterns(count: int) -> list[dict[str, Any]]:
    base = pack_base_patterns()
    return base[:count] + [pack_extra_pattern(n) for n in range(len(base), count)]


def pack_like_events(count: int) -> list[Event]:
    events = []
    for n in range(count):
        service, operation, kind, action = CALLS[n % len(CALLS)]
        name = f"data/{n % 50}.csv" if kind == "object" else f"{kind}-{n % 97}"
        events.append(Event(
            id=f"e{n}", time=WHEN, provider="aws", account="123456789012", region="us-east-1", service=service,
            resource=Resource(kind, f"arn:aws:{service}:::{name}", name, "123456789012"), action=action,
            operation=operation, outcome="failure" if n % 7 == 3 else "success",
            actor=Actor(id=f"user-{n % 13}", type="AWSService" if n % 5 == 0 else "IAMUser"),
            details={"public": n % 3 == 0, "tag": f"team-{n % 10}", "size": n % 1000},
        ))
    return events


WORKLOADS: dict[str, tuple[Callable[[int], list[dict[str, Any]]], Callable[[int], list[Event]]]] = {
    "unique operations": (unique_operation_patterns, unique_operation_events),
    "pack-like, shared operations": (pack_like_patterns, pack_like_events),
}
