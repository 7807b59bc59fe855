"""The fields a rule can name and the values the closed ones take, checked against rule patterns at load.

Patterns match the normalized event (``monitor.events.Event.to_dict()``): its own fields, the fields of
``resource`` and ``actor``, and any path under ``details`` and ``raw`` (provider fields, not checked). A
pattern naming another field, or an exact value no event can have, can never match: for a security tool a
silent dead rule is the worst outcome, so both are errors with a "did you mean".

``resource.kind`` is the one set that is not closed: the adapters name the kinds below, and a resource their
tables do not know still gets a kind (an AWS call: its service; a GCP name: its collection, ``projects/p/
topics/t`` -> ``topic``). So a kind close to a known one is an error (a typo), any other unknown kind a warning.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields
from typing import Any, NamedTuple

from monitor.alerts import SEVERITIES, STATUSES
from monitor.engine.references import LIST_KEY, MACRO_KEY, References
from monitor.events import ACTIONS, OUTCOMES, PROVIDERS, Actor, Event, Resource
from monitor.yamlfiles.errors import did_you_mean
from monitor.yamlfiles.source import Path_

OR_KEY = "$or"
OPEN_FIELDS = frozenset({"details", "raw"})  # provider fields: any path below them
OBJECT_FIELDS: dict[str, tuple[str, ...]] = {
    "resource": tuple(f.name for f in fields(Resource)),
    "actor": tuple(f.name for f in fields(Actor)),
}
EVENT_FIELDS = tuple(f.name for f in fields(Event) if not f.name.startswith("_"))
FIELD_PATHS = tuple(
    path for name in EVENT_FIELDS for path in ([f"{name}.{part}" for part in OBJECT_FIELDS[name]]
                                                if name in OBJECT_FIELDS else [name])
)

# The kinds the adapters name (grep 'Resource(' and the kind tables in monitor/adapters), then those their
# fallbacks give for the sample payloads: an AWS call the table does not list is its service's name, a GCP
# resource outside the tables is its collection's singular. Add new ones here.
RESOURCE_KINDS = frozenset({
    "account", "address", "bucket", "database_instance", "dataset", "firewall", "flow_log", "image",
    "internet_gateway", "item", "key_pair", "launch_template", "nat_gateway", "network_acl", "network_interface",
    "object", "route_table", "security_group", "snapshot", "subnet", "table", "trail", "transit_gateway", "vm",
    "volume", "vpc", "vpc_endpoint", "vpc_peering_connection",
    "cloudtrail", "iam", "lambda", "rds", "secretsmanager", "sts",  # AWS fallbacks: the service
    "disk", "instance", "job", "project", "topic",  # GCP fallbacks: the collection
})
CLOSED_VALUES: dict[str, tuple[str, frozenset[str]]] = {
    "action": ("action", ACTIONS),
    "outcome": ("outcome", OUTCOMES),
    "provider": ("provider", PROVIDERS),
    "resource.kind": ("resource kind", RESOURCE_KINDS),
}
_OPEN_ENDED = frozenset({"resource.kind"})  # an unknown value without a close match is a warning


class Schema(NamedTuple):
    """What patterns of one kind match: top-level fields, the fields of object fields, open fields (any path
    below them), and the closed values of some fields (dotted path -> (what it is called, the values))."""

    top: tuple[str, ...]
    objects: Mapping[str, tuple[str, ...]]
    open: frozenset[str]
    closed: Mapping[str, tuple[str, frozenset[str]]]
    noun: str = "event fields"

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(path for name in self.top for path in (
            [f"{name}.{part}" for part in self.objects[name]] if name in self.objects else [name]))

    def listing(self) -> str:
        return ", ".join((*self.paths, *(f"{name}.*" for name in sorted(self.open))))


EVENTS = Schema(EVENT_FIELDS, OBJECT_FIELDS, OPEN_FIELDS, CLOSED_VALUES)
# Routes, inhibition rules and silences match an alert's labels (monitor.notify.routing.alert_labels).
LABELS = Schema(
    ("rule", "severity", "status", "fingerprint", "tags", "provider", "account", "region", "resource"),
    {"resource": OBJECT_FIELDS["resource"]}, frozenset(),
    {"severity": ("severity", frozenset(SEVERITIES)), "status": ("status", frozenset(STATUSES)),
     "provider": CLOSED_VALUES["provider"], "resource.kind": CLOSED_VALUES["resource.kind"]},
    "labels",
)


class Issue(NamedTuple):
    path: Path_  # where in the rule file, for the location
    message: str
    key: bool = False  # locate the key rather than its value
    warning: bool = False


def _known(choices: Iterable[str]) -> str:
    return ", ".join(sorted(choices))


def unknown_field(path: str, choices: Iterable[str] = (*EVENT_FIELDS, *FIELD_PATHS)) -> str:
    """The message for a field no event has, suggesting among ``choices`` (the fields at that level)."""
    return f"unknown field {path!r}" + (did_you_mean(path, choices) or
                                         f"; event fields: {', '.join(FIELD_PATHS)}, details.*, raw.*")


def check_field_path(path: str) -> str | None:
    """Why a dotted field path (a detector's ``group_by`` or ``field``) names nothing in an event, or None."""
    top, _, rest = path.partition(".")
    if top in OPEN_FIELDS or (top in EVENT_FIELDS and not rest):
        return None
    if top in OBJECT_FIELDS and rest in OBJECT_FIELDS[top]:
        return None
    if top in EVENT_FIELDS and top not in OBJECT_FIELDS:
        return f"field {top!r} holds a value, not fields; {path!r} is never set"
    return unknown_field(path)


class _Where(NamedTuple):
    """Where the walk is: the field the object sits in, the macro or list it came through, macros entered."""

    scope: str = ""
    via: str = ""
    macros: tuple[str, ...] = ()
    anchor: Path_ | None = None  # inside a macro: the reference, where its errors are reported

    def at(self, path: Path_) -> Path_:
        return self.anchor if self.anchor is not None else path

    def field(self, key: str) -> str:
        return f"{self.scope}.{key}" if self.scope else key


class PatternChecker:
    """Field names and closed values of rule patterns, read through macros and lists before they expand."""

    def __init__(self, references: References, schema: Schema = EVENTS) -> None:
        self.references = references
        self.schema = schema
        self.issues: list[Issue] = []

    def check(self, pattern: Mapping[str, Any], path: Path_) -> list[Issue]:
        self.issues = []
        self._object(pattern, path, _Where())
        return self.issues

    def _object(self, pattern: Mapping[Any, Any], path: Path_, where: _Where) -> None:
        for key, value in pattern.items():
            here = (*path, key)
            if key == MACRO_KEY:
                self._macros(value, here, where)
            elif key == OR_KEY and isinstance(value, list):
                for i, branch in enumerate(value):
                    if isinstance(branch, Mapping):
                        self._object(branch, (*here, i), where)
            elif isinstance(key, str):
                self._field(where.field(key), value, here, where)

    def _macros(self, names: Any, path: Path_, where: _Where) -> None:
        """A macro's fields are checked where it is merged; errors point at the reference."""
        listed = list(enumerate(names)) if isinstance(names, list) else [(None, names)]
        for i, name in listed:
            body = self.references.macros.get(name) if isinstance(name, str) else None
            if isinstance(body, Mapping) and name not in where.macros:  # unknown or looping: expansion says so
                anchor = where.at(path if i is None else (*path, i))
                self._object(body, path, _Where(where.scope, f" (in macro {name!r})", (*where.macros, name), anchor))

    def _field(self, field: str, value: Any, path: Path_, where: _Where) -> None:
        schema, objects = self.schema, self.schema.objects
        if field.partition(".")[0] in schema.open:
            return
        if field not in schema.paths and field not in objects:
            level = [f"{where.scope}.{name}" for name in objects[where.scope]] if where.scope else schema.top
            hint = did_you_mean(field, level) or f"; {schema.noun}: {schema.listing()}"
            message = f"unknown field {field!r}{hint}"
            self.issues.append(Issue(where.at(path), message + where.via, key=True))
        elif field in objects:
            if isinstance(value, Mapping):
                self._object(value, path, _Where(field, where.via, where.macros, where.anchor))
            elif isinstance(value, list):
                message = (f"{field!r} holds fields ({', '.join(objects[field])}), not values: "
                           f"write e.g. {field}: {{{objects[field][0]}: [...]}}{where.via}")
                self.issues.append(Issue(where.at(path), message, key=True))
        elif isinstance(value, Mapping):
            self.issues.append(Issue(where.at(path), f"{field!r} holds a value, not fields: give an array of values, "
                                           f"e.g. {field}: [...]{where.via}", key=True))
        elif isinstance(value, list) and field in schema.closed:
            self._values(field, value, path, where)

    def _values(self, field: str, items: list[Any], path: Path_, where: _Where) -> None:
        via = where.via
        for i, item in enumerate(items):
            here = where.at((*path, i))
            if not isinstance(item, Mapping):
                self._value(field, item, here, via)
            elif set(item) == {LIST_KEY} and isinstance(item[LIST_KEY], str):
                name = item[LIST_KEY]
                for value in self.references.lists.get(name, ()):
                    self._value(field, value, here, f" (in list {name!r}){via}")
            elif "anything-but" in item:
                excluded = item["anything-but"]
                for value in excluded if isinstance(excluded, list) else [excluded]:
                    if not isinstance(value, Mapping):
                        self._value(field, value, where.at((*here, "anything-but")), via)

    def _value(self, field: str, value: Any, path: Path_, via: str) -> None:
        name, allowed = self.schema.closed[field]
        if isinstance(value, str) and value in allowed:
            return
        hint = did_you_mean(value, allowed) if isinstance(value, str) else ""
        if field in _OPEN_ENDED and not hint:
            message = (f"{name} {value!r} is not one the adapters name ({_known(allowed)}); it matches only "
                       f"if an adapter's fallback gives it (an AWS service, a GCP collection){via}")
            self.issues.append(Issue(path, message, warning=True))
            return
        self.issues.append(Issue(path, f"unknown {name} {value!r}{hint or f'; known: {_known(allowed)}'}{via}"))
