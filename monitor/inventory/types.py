"""What a resource type of the inventory is: how to list it, and what its snapshots mean as event details."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from monitor.events import Resource
from monitor.inventory.diff import Snapshot

PAGE_SIZE: int | None = None  # items per page of a listing; None: the service's own (tests make it small)
Clients = Callable[[str], Any]
"""A service name to a boto3 client for the account and region being listed."""


class Sessions(Protocol):
    """Who to list (accounts or projects) and a client for a service in one of them."""

    def accounts(self) -> list[str]: ...

    def client(self, account: str, service: str, region: str) -> Any: ...


@dataclass(frozen=True)
class Found:
    resource: Resource
    region: str
    snapshot: dict[str, Any]


@dataclass(frozen=True)
class ResourceType:
    name: str  # the config's name: aws.s3
    service: str  # the events' service: s3
    per_region: bool  # False: listed once per account (S3 buckets are global)
    collect: Callable[[Clients, str, str], Iterator[Found]]  # (clients, account, region)
    facts: Callable[[Snapshot | None, Snapshot | None], dict[str, Any]]  # (before, after) -> details
    permissions: frozenset[str]  # properties whose change makes the event permissions_changed
    states: frozenset[str] = field(default=frozenset())  # properties that alone make it state_changed
    provider: str = "aws"

    def action(self, kind: str, changed: Iterable[str]) -> str:
        if kind != "modified":
            return kind
        changed = set(changed)
        if changed & self.permissions:
            return "permissions_changed"
        return "state_changed" if changed and changed <= self.states else "modified"


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def optional(call: Callable[..., Any], missing: frozenset[str], **kwargs: Any) -> Any:
    """The call's answer, or None when it fails with one of the ``missing`` codes (no policy, no encryption...)."""
    try:
        return call(**kwargs)
    except Exception as exc:
        if error_code(exc) in missing:
            return None
        raise


def pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    """Every item under ``key`` of every page of a paginated call."""
    if PAGE_SIZE is not None:
        kwargs["PaginationConfig"] = {"PageSize": PAGE_SIZE}
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])
