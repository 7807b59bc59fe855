"""The routing tree walked for one alert: depth-first, the first matching child wins unless it says continue."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any, NamedTuple

from monitor.alerts import Alert
from monitor.engine.patterns import Matcher, compile_pattern
from monitor.notify.settings import (
    DEFAULT_GROUP_BY,
    DEFAULT_GROUP_INTERVAL,
    DEFAULT_GROUP_WAIT,
    DEFAULT_REPEAT_INTERVAL,
    Route,
)
from monitor.yamlfiles.durations import parse_duration


def alert_labels(alert: Alert) -> dict[str, Any]:
    """What routes, silences and inhibition rules match on."""
    resource = {name: alert.resource.get(name, "") for name in ("kind", "id", "name", "parent")}
    return {
        "rule": alert.rule, "severity": alert.severity, "status": alert.status, "fingerprint": alert.fingerprint,
        "tags": list(alert.tags), "provider": alert.provider, "account": alert.account, "region": alert.region,
        "resource": resource,
    }


def label_value(labels: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted label path (``resource.parent``), None when absent."""
    node: Any = labels
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


class EffectiveRoute(NamedTuple):
    """A route with the settings it inherited filled in; ``id`` says where it sits in the tree."""

    id: str
    destination: str | None
    group_by: tuple[str, ...]
    group_wait: timedelta
    group_interval: timedelta
    repeat_interval: timedelta
    repeat_backoff: float | None


class _Node(NamedTuple):
    route: EffectiveRoute
    matcher: Matcher | None
    continue_: bool
    children: tuple[_Node, ...]


def _seconds(text: str) -> timedelta:
    return timedelta(seconds=parse_duration(text))


def _root_settings() -> Route:
    return Route(group_by=list(DEFAULT_GROUP_BY), group_wait=DEFAULT_GROUP_WAIT,
                 group_interval=DEFAULT_GROUP_INTERVAL, repeat_interval=DEFAULT_REPEAT_INTERVAL)


def _build(route: Route, parent: Route, route_id: str) -> _Node:
    """Fill unset settings from ``parent`` (itself already filled), then the children from this one."""
    filled = route.model_copy(update={
        name: getattr(parent, name)
        for name in ("destination", "group_by", "group_wait", "group_interval", "repeat_interval", "repeat_backoff")
        if getattr(route, name) is None
    })
    effective = EffectiveRoute(
        id=route_id, destination=filled.destination, group_by=tuple(filled.group_by or ()),
        group_wait=_seconds(filled.group_wait or DEFAULT_GROUP_WAIT),
        group_interval=_seconds(filled.group_interval or DEFAULT_GROUP_INTERVAL),
        repeat_interval=_seconds(filled.repeat_interval or DEFAULT_REPEAT_INTERVAL),
        repeat_backoff=filled.repeat_backoff,
    )
    children = tuple(_build(child, filled, f"{route_id}.{i}") for i, child in enumerate(route.routes))
    matcher = compile_pattern(route.match) if route.match else None
    return _Node(effective, matcher, route.continue_, children)


def default_route(destinations: Iterable[str]) -> Route:
    """Without a ``routes:`` section every alert goes to every destination."""
    return Route(routes=[Route.model_validate({"destination": name, "continue": True}) for name in destinations])


class Router:
    def __init__(self, root: Route) -> None:
        if root.match:
            raise ValueError("the root route catches every alert: move its 'match' into a child route")
        self.root = _build(root, _root_settings(), "routes")

    def match(self, labels: Mapping[str, Any]) -> list[EffectiveRoute]:
        """The routes an alert with these labels goes to; at least the root."""
        return _match(self.root, labels) or [self.root.route]

    def routes(self) -> list[EffectiveRoute]:
        """Every route of the tree, parents before their children."""
        found: list[EffectiveRoute] = []
        stack = [self.root]
        while stack:
            node = stack.pop()
            found.append(node.route)
            stack.extend(reversed(node.children))
        return found


def _match(node: _Node, labels: Mapping[str, Any]) -> list[EffectiveRoute]:
    if node.matcher is not None and not node.matcher.matches(dict(labels)):
        return []
    found: list[EffectiveRoute] = []
    for child in node.children:
        matched = _match(child, labels)
        found.extend(matched)
        if matched and not child.continue_:
            break
    return found or [node.route]


def unknown_destinations(router: Router, known: Iterable[str]) -> list[str]:
    """Errors for routes that name a destination the config does not define (once per name)."""
    names = set(known)
    listed = ", ".join(sorted(names)) or "none"
    first: dict[str, str] = {}
    for route in router.routes():
        if route.destination is not None and route.destination not in names:
            first.setdefault(route.destination, route.id)
    return [
        f"route {route_id} sends to {name!r}, which is not under 'destinations:' (known: {listed})"
        for name, route_id in first.items()
    ]
