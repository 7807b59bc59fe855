from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.config import ConfigError, load_config
from monitor.notify.routing import Router, default_route, unknown_destinations
from monitor.notify.settings import Route

TREE = Route.model_validate({
    "destination": "chat",
    "group_by": ["rule", "resource.parent"],
    "routes": [
        {"match": {"severity": ["critical"]}, "destination": "pager", "continue": True, "group_wait": "0s"},
        {"match": {"rule": [{"prefix": "s3-"}]}, "destination": "storage-team", "repeat_interval": "1d",
         "routes": [
             {"match": {"resource": {"kind": ["object"]}}, "group_by": ["resource.id"], "repeat_backoff": 2},
             {"match": {"account": ["999"]}, "destination": "audit"},
         ]},
        {"match": {"account": ["111"]}, "destination": "account-111"},
        {"match": {"tags": ["exposure"]}, "destination": "exposure", "continue": True},
        {"match": {"tags": ["exposure"]}, "destination": "exposure-copy"},
        {"match": {"tags": ["exposure"]}, "destination": "never"},
    ],
})


def labels(rule: str = "ec2-instance-launched", severity: str = "low", account: str = "222", kind: str = "vm",
           tags: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"rule": rule, "severity": severity, "status": "firing", "fingerprint": "f", "tags": list(tags),
            "provider": "aws", "account": account, "region": "eu-west-1",
            "resource": {"kind": kind, "id": "arn:x", "name": "x", "parent": account}}


@pytest.mark.parametrize(("alert", "expected"), [
    pytest.param(labels(), [("routes", "chat")], id="nothing matches: the root catches it"),
    pytest.param(labels(severity="critical"), [("routes.0", "pager")],
                 id="continue, then no other sibling matches: only the continuing route"),
    pytest.param(labels(severity="critical", rule="s3-bucket-deleted", kind="bucket"),
                 [("routes.0", "pager"), ("routes.1", "storage-team")], id="continue goes on to the next match"),
    pytest.param(labels(rule="s3-bucket-deleted", kind="bucket", account="111"), [("routes.1", "storage-team")],
                 id="first match wins: account-111 is not tried"),
    pytest.param(labels(rule="s3-object-deleted", kind="object"), [("routes.1.0", "storage-team")],
                 id="deepest match, destination inherited"),
    pytest.param(labels(rule="s3-object-deleted", kind="object", account="999"), [("routes.1.0", "storage-team")],
                 id="first matching grandchild wins"),
    pytest.param(labels(rule="s3-bucket-deleted", kind="bucket", account="999"), [("routes.1.1", "audit")],
                 id="second grandchild"),
    pytest.param(labels(account="111"), [("routes.2", "account-111")], id="third child"),
    pytest.param(labels(tags=("aws", "exposure")), [("routes.3", "exposure"), ("routes.4", "exposure-copy")],
                 id="continue chains until a route without it"),
])
def test_routes_an_alert_goes_to(alert: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert [(r.id, r.destination) for r in Router(TREE).match(alert)] == expected


def test_children_inherit_what_they_do_not_set_and_the_root_has_alertmanager_defaults() -> None:
    routes = {r.id: r for r in Router(TREE).routes()}
    root, pager, storage, objects = routes["routes"], routes["routes.0"], routes["routes.1"], routes["routes.1.0"]
    assert (root.group_wait, root.group_interval, root.repeat_interval, root.repeat_backoff) == (
        timedelta(seconds=30), timedelta(minutes=5), timedelta(hours=4), None)
    assert pager.group_wait == timedelta(0)
    assert pager.group_by == storage.group_by == ("rule", "resource.parent")
    assert storage.repeat_interval == objects.repeat_interval == timedelta(days=1)
    assert objects.group_by == ("resource.id",)
    assert objects.repeat_backoff == 2
    assert routes["routes.1.1"].repeat_backoff is None
    assert list(routes) == ["routes", "routes.0", "routes.1", "routes.1.0", "routes.1.1", "routes.2", "routes.3",
                            "routes.4", "routes.5"]


def test_without_group_by_anywhere_alerts_are_grouped_by_rule() -> None:
    assert Router(Route(destination="chat")).routes()[0].group_by == ("rule",)


def test_without_routes_every_destination_gets_every_alert() -> None:
    matched = Router(default_route(["chat", "mail"])).match(labels())
    assert [(r.id, r.destination) for r in matched] == [("routes.0", "chat"), ("routes.1", "mail")]


def test_without_routes_or_destinations_the_root_has_nowhere_to_send() -> None:
    assert [(r.id, r.destination) for r in Router(default_route([])).match(labels())] == [("routes", None)]


def test_the_root_must_not_match() -> None:
    with pytest.raises(ValueError, match=r"^the root route catches every alert: move its 'match' into a child route$"):
        Router(Route.model_validate({"match": {"rule": ["x"]}}))


def test_destinations_that_the_config_does_not_define() -> None:
    assert unknown_destinations(Router(TREE), ["chat", "pager", "storage-team", "audit", "account-111",
                                               "exposure", "exposure-copy"]) == [
        "route routes.5 sends to 'never', which is not under 'destinations:' "
        "(known: account-111, audit, chat, exposure, exposure-copy, pager, storage-team)",
    ]
    assert unknown_destinations(Router(Route(destination="x")), []) == [
        "route routes sends to 'x', which is not under 'destinations:' (known: none)"]


def test_route_mistakes_are_reported_at_load_with_their_place(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text(
        "destinations:\n"
        "  chat: {urls: ['json://127.0.0.1:1/']}\n"
        "routes:\n"
        "  destination: chat\n"
        "  group_wait: 5x\n"
        "  group_by: [resource.prent]\n"
        "  routes:\n"
        "    - {match: {severty: [critical]}, continue: true}\n"
        "    - {match: {severity: [{prefix: 1}]}}\n"
        "    - {repeat_backoff: 0.5}\n"
        "inhibit_rules:\n"
        "  - {source_match: {rule: [a]}, target_match: {}, equal: [acount]}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert [str(e).removeprefix(f"{config}:") for e in caught.value.errors] == [
        "5:15: routes.group_wait: '5x' is not a duration (use a number and a unit: 30s, 5m, 1h, 1d, 2w)",
        "6:14: routes.group_by[0]: unknown label 'resource.prent' (did you mean 'resource.parent'?)",
        "8:15: routes.routes[0].match: unknown label 'severty' (did you mean 'severity'?)",
        "9:15: routes.routes[1].match: prefix expects a string or {'equals-ignore-case': 'text'}; "
        "for several, give each its own {'prefix': ...} item",
        "10:24: routes.routes[2].repeat_backoff: Input should be greater than or equal to 1",
        "12:47: inhibit_rules[0].target_match: an empty object matches nothing; give at least one field",
        "12:59: inhibit_rules[0].equal[0]: unknown label 'acount' (did you mean 'account'?)",
    ]


def test_continue_is_read_from_yaml(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text("routes:\n  routes:\n    - {match: {rule: [a]}, continue: true}\n")
    routes = load_config(config).routes
    assert routes is not None
    assert routes.routes[0].continue_ is True
