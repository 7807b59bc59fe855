"""Sigma condition terms as patterns: one row per shape, including the ones EventBridge cannot express."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.sigma.terms import All, Any_, Leaf, Not, Term, Unconvertible, split, to_pattern

A, B = Leaf("operation", "A"), Leaf("operation", "B")
SERVICE = Leaf("service", "ec2")
IP = Leaf("actor.ip", {"cidr": "10.0.0.0/8"})

PATTERNS: list[Any] = [
    pytest.param(Any_((A, B)), {"operation": ["A", "B"]}, id="or-on-one-field-is-one-array"),
    pytest.param(All((SERVICE, Any_((A, B)))), {"service": ["ec2"], "operation": ["A", "B"]}, id="and-merges"),
    pytest.param(Any_((SERVICE, IP)), {"$or": [{"service": ["ec2"]}, {"actor": {"ip": [{"cidr": "10.0.0.0/8"}]}}]},
                 id="or-across-fields"),
    pytest.param(All((Any_((SERVICE, IP)), Any_((A, Leaf("region", "x"))))),
                 {"$or": [{"service": ["ec2"], "operation": ["A"]}, {"service": ["ec2"], "region": ["x"]},
                          {"actor": {"ip": [{"cidr": "10.0.0.0/8"}]}, "operation": ["A"]},
                          {"actor": {"ip": [{"cidr": "10.0.0.0/8"}]}, "region": ["x"]}]},
                 id="two-ors-multiplied-out"),
    pytest.param(All((SERVICE, Not(Any_((A, B))))), {"service": ["ec2"], "operation": [{"anything-but": ["A", "B"]}]},
                 id="not-values-is-anything-but"),
    pytest.param(Not(Leaf("operation", {"prefix": "Get"})), {"operation": [{"anything-but": {"prefix": "Get"}}]},
                 id="not-prefix"),
]


@pytest.mark.parametrize(("term", "pattern"), PATTERNS)
def test_pattern(term: Term, pattern: dict[str, Any]) -> None:
    assert to_pattern(term) == pattern


UNCONVERTIBLE = [
    pytest.param(All((A, B)), "two conditions on operation that must both hold", id="and-on-one-field"),
    pytest.param(Not(All((SERVICE, A))), "a 'not' inside the condition that is not one field's values",
                 id="not-of-an-and"),
    pytest.param(Not(Leaf("operation", {"wildcard": "a*b"})), "a 'not' of wildcards", id="not-of-a-wildcard"),
    pytest.param(All(tuple(Any_((Leaf(f"f{i}", 1), Leaf(f"g{i}", 2))) for i in range(7))), "128 alternatives",
                 id="too-many-alternatives"),
]


@pytest.mark.parametrize(("term", "reason"), UNCONVERTIBLE)
def test_unconvertible(term: Term, reason: str) -> None:
    with pytest.raises(Unconvertible, match=reason):
        to_pattern(term)


def test_top_level_negations_become_exceptions() -> None:
    positive, negated = split(All((SERVICE, Not(IP), Not(Any_((A, Leaf("region", "x")))))))
    assert (positive, negated) == ([SERVICE], [IP, A, Leaf("region", "x")])
