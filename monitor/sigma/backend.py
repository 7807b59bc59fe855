"""A pySigma backend whose "query" is a cloud-monitor rule: Sigma conditions become ``terms``, then patterns.

Values, as Sigma means them (strings match case-insensitively):
- a plain string -> ``{"equals-ignore-case": s}`` (as is when it has no letters); ``s*`` -> a prefix and ``*s``
  -> a suffix, both ignoring case; other wildcards -> ``wildcard`` (case-sensitive: EventBridge has no other);
  ``?`` has no equivalent;
- numbers and booleans as they are, ``|cidr`` -> ``cidr``, ``|exists`` and ``null`` -> ``exists``,
  ``|gt`` and friends -> ``numeric``;
- regular expressions, keywords (values without a field), field references and placeholders have no
  equivalent: the rule is reported with the reason.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, NoReturn

from sigma.conditions import ConditionAND, ConditionFieldEqualsValueExpression, ConditionNOT, ConditionOR
from sigma.conversion.base import Backend
from sigma.conversion.state import ConversionState
from sigma.rule import SigmaRule
from sigma.types import SigmaCompareExpression, SigmaString, SpecialChars

from monitor.events import Event
from monitor.sigma.pipeline import pipeline
from monitor.sigma.terms import All, Any_, Leaf, Not, Term, Unconvertible

NORMALIZED = frozenset(Event.__dataclass_fields__) | {"resource", "actor"}
COMPARE = {"LT": "<", "LTE": "<=", "GT": ">", "GTE": ">="}
LETTERS = re.compile(r"[A-Za-z]")


def _unsupported(what: str) -> NoReturn:
    raise Unconvertible(what)


def raw_field(field: str, product: str) -> Term:
    """A Sigma field with no normalized counterpart, read from the raw payload."""
    if field.split(".", 1)[0] in NORMALIZED:
        return Leaf(field, None)
    if product == "gcp":
        path = field.removeprefix("data.")
        if path.startswith("gcp.audit."):
            name = path.removeprefix("gcp.audit.")
            path = "protoPayload." + re.sub(r"_([a-z])", lambda m: m[1].upper(), name)
        return Leaf(f"raw.{path}", None)
    return Any_((Leaf(f"raw.{field}", None), Leaf(f"raw.detail.{field}", None)))


def _with(term: Term, matcher: Any) -> Term:
    if isinstance(term, Leaf):
        return Leaf(term.field, matcher)
    if isinstance(term, Any_):
        return Any_(tuple(_with(part, matcher) for part in term.parts))
    raise AssertionError(term)  # pragma: no cover - raw_field gives leaves and alternatives only


def string_matcher(value: SigmaString) -> Any:
    parts = value.s
    if any(part == SpecialChars.WILDCARD_SINGLE for part in parts):
        _unsupported(f"the single-character wildcard '?' in {value}")
    if any(isinstance(part, SpecialChars) and part != SpecialChars.WILDCARD_MULTI for part in parts):
        _unsupported(f"a placeholder in {value}")
    text = [part for part in parts if isinstance(part, str)]
    stars = [i for i, part in enumerate(parts) if part == SpecialChars.WILDCARD_MULTI]
    plain = "".join(text)
    if not stars:
        return {"equals-ignore-case": plain} if LETTERS.search(plain) else plain
    if stars == [len(parts) - 1] and len(text) == 1:
        return {"prefix": {"equals-ignore-case": plain}}
    if stars == [0] and len(text) == 1:
        return {"suffix": {"equals-ignore-case": plain}}
    escaped = "".join(part.replace("\\", "\\\\").replace("*", "\\*") if isinstance(part, str) else "*"
                      for part in parts)
    return {"wildcard": re.sub(r"\*+", "*", escaped)}


def any_version_method(field: str | None, value: SigmaString) -> SigmaString | None:
    """A GCP method name given for every API version (``v*.Compute.Firewalls.Delete``), without the version."""
    parts = tuple(value.s)
    if field != "operation" or len(parts) < 3 or parts[:2] != ("v", SpecialChars.WILDCARD_MULTI):
        return None
    rest = parts[2]
    if not isinstance(rest, str) or not rest.startswith("."):
        return None
    method = SigmaString("")
    method.s = [rest[1:], *parts[3:]]
    return method


def case_sensitive(matcher: Any) -> Any:
    """``|cased``: the same matcher without ``equals-ignore-case``."""
    if not isinstance(matcher, dict):
        return matcher
    if "equals-ignore-case" in matcher:
        return matcher["equals-ignore-case"]
    return {key: case_sensitive(value) for key, value in matcher.items()}


class CloudMonitorBackend(Backend):
    """Converts Sigma rules with the aws/cloudtrail and gcp/gcp.audit log sources into rule terms."""

    name: ClassVar[str] = "cloud-monitor"
    formats: ClassVar[dict[str, str]] = {"default": "cloud-monitor rule terms"}
    requires_pipeline: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__(processing_pipeline=pipeline(), collect_errors=False)
        self.product = "aws"

    def convert_rule(self, rule: SigmaRule, output_format: str | None = None, callback: Any = None) -> list[Any]:
        self.product = str(rule.logsource.product or "")
        return super().convert_rule(rule, output_format, callback)

    def decide_convert_condition_as_in_expression(self, cond: Any, state: ConversionState) -> bool:
        return False

    def convert_condition_and(self, cond: ConditionAND, state: ConversionState) -> Term:
        return All(tuple(self.convert_condition(arg, state) for arg in cond.args))

    def convert_condition_or(self, cond: ConditionOR, state: ConversionState) -> Term:
        return Any_(tuple(self.convert_condition(arg, state) for arg in cond.args))

    def convert_condition_not(self, cond: ConditionNOT, state: ConversionState) -> Term:
        return Not(self.convert_condition(cond.args[0], state))

    def _leaf(self, cond: ConditionFieldEqualsValueExpression, matcher: Any) -> Term:
        if not cond.field:
            _unsupported("a value without a field (keyword search)")
        return _with(raw_field(cond.field, self.product), matcher)

    def convert_condition_field_eq_val_str(self, cond: Any, state: ConversionState) -> Term:
        method = any_version_method(cond.field, cond.value)
        if method is not None:  # ``v*.compute.firewalls.delete``: details.method has no version prefix
            return Leaf("details.method", string_matcher(method))
        return self._leaf(cond, string_matcher(cond.value))

    def convert_condition_field_eq_val_str_case_sensitive(self, cond: Any, state: ConversionState) -> Term:
        return self._leaf(cond, case_sensitive(string_matcher(cond.value)))

    def convert_condition_field_eq_val_num(self, cond: Any, state: ConversionState) -> Term:
        return self._leaf(cond, cond.value.number)

    def convert_condition_field_eq_val_bool(self, cond: Any, state: ConversionState) -> Term:
        return self._leaf(cond, cond.value.boolean)

    def convert_condition_field_eq_val_null(self, cond: Any, state: ConversionState) -> Term:
        return self._leaf(cond, {"exists": False})

    def convert_condition_field_exists(self, cond: Any, state: ConversionState) -> Term:
        return self._leaf(cond, {"exists": True})

    def convert_condition_field_not_exists(self, cond: Any, state: ConversionState) -> Term:
        return self._leaf(cond, {"exists": False})

    def convert_condition_field_eq_val_cidr(self, cond: Any, state: ConversionState) -> Term:
        return self._leaf(cond, {"cidr": str(cond.value.network)})

    def convert_condition_field_compare_op_val(self, cond: Any, state: ConversionState) -> Term:
        value: SigmaCompareExpression = cond.value
        return self._leaf(cond, {"numeric": [COMPARE[value.op.name], value.number.number]})

    def convert_condition_field_eq_val_re(self, cond: Any, state: ConversionState) -> NoReturn:
        _unsupported(f"a regular expression on {cond.field} (EventBridge patterns have none)")

    def convert_condition_field_eq_val_timestamp_part(self, cond: Any, state: ConversionState) -> NoReturn:
        _unsupported("a condition on a part of the time")

    def convert_condition_field_eq_field(self, cond: Any, state: ConversionState) -> NoReturn:
        _unsupported("a field compared with another field")

    def convert_condition_field_eq_query_expr(self, cond: Any, state: ConversionState) -> NoReturn:
        _unsupported("a query expression")

    def convert_condition_query_expr(self, cond: Any, state: ConversionState) -> NoReturn:
        _unsupported("a query expression")

    def convert_condition_as_in_expression(self, cond: Any, state: ConversionState) -> NoReturn:
        _unsupported("an in-expression")  # pragma: no cover - decide_... says never

    def convert_condition_val_str(self, cond: Any, state: ConversionState) -> NoReturn:
        _unsupported("a value without a field (keyword search)")

    def convert_condition_val_num(self, cond: Any, state: ConversionState) -> NoReturn:
        _unsupported("a value without a field (keyword search)")

    def convert_condition_val_re(self, cond: Any, state: ConversionState) -> NoReturn:
        _unsupported("a regular expression without a field")

    def finalize_query_default(self, rule: SigmaRule, query: Any, index: int, state: ConversionState) -> Any:
        return query

    def finalize_output_default(self, queries: list[Any]) -> list[Any]:
        return queries

    def _correlation(self, *args: Any, **kwargs: Any) -> NoReturn:
        _unsupported("a correlation rule (use a detect: block instead)")

    convert_correlation_event_count_rule = _correlation
    convert_correlation_value_count_rule = _correlation
    convert_correlation_temporal_rule = _correlation
    convert_correlation_temporal_ordered_rule = _correlation
    convert_correlation_extended_temporal_rule = _correlation
    convert_correlation_extended_temporal_ordered_rule = _correlation
    convert_correlation_value_sum_rule = _correlation
    convert_correlation_value_avg_rule = _correlation
    convert_correlation_value_percentile_rule = _correlation
    convert_correlation_value_median_rule = _correlation
