"""One pass of one resource type over every account and scope: list, diff against the previous listing,
record the changes as events through the sink, then remember the listing. The first listing of a scope is a
baseline: remembered, nothing recorded. A scope that could not be listed is left as it was (no deletions)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson

from monitor.adapters.base import describe
from monitor.events import Event
from monitor.inputs.base import Message, Sink
from monitor.inventory import memory
from monitor.inventory.aws_dynamodb import DYNAMODB
from monitor.inventory.aws_ec2 import EC2
from monitor.inventory.aws_s3 import S3
from monitor.inventory.changes import change_event
from monitor.inventory.diff import diff
from monitor.inventory.gcp_compute import COMPUTE
from monitor.inventory.gcp_storage import STORAGE
from monitor.inventory.reconcile import pushed_resources
from monitor.inventory.settings import InventoryInput
from monitor.inventory.types import ResourceType, Sessions
from monitor.store.base import Store

log = logging.getLogger(__name__)
TYPES: dict[str, ResourceType] = {kind.name: kind for kind in (S3, DYNAMODB, EC2, STORAGE, COMPUTE)}
BATCH = 500


@dataclass
class Pass:
    type: str
    seen: int = 0
    scopes: int = 0
    baselines: int = 0
    events: list[Event] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        unexplained = sum(bool(event.details.get("unexplained")) for event in self.events)
        text = (f"inventory {self.type}: {self.seen} resources in {self.scopes} scope(s), "
                f"{len(self.events)} change(s) ({unexplained} unexplained)")
        if self.baselines:
            text += f", {self.baselines} first listing(s) kept as the baseline"
        return text + (f", {len(self.failures)} scope(s) failed" if self.failures else "")


def run_pass(kind: ResourceType, settings: InventoryInput, sessions: Sessions, store: Store, sink: Sink, *,
             stop: threading.Event | None = None, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Pass:
    result = Pass(kind.name)
    try:
        accounts = sessions.accounts()
    except Exception as exc:
        result.failures.append(f"accounts: {describe(exc)}")
        accounts = []
    known = memory.load_all(store, kind.name) if accounts else {}
    for account in accounts:
        for region in settings.regions if kind.per_region else settings.regions[:1]:
            if stop is not None and stop.is_set():
                return result
            scope = region if kind.per_region else "global"
            try:
                where = _Where(kind, settings, sessions, store, account, region, scope)
                _scope(where, known.get(f"{account}/{scope}"), sink, clock(), result)
            except Exception as exc:
                reason = f"{account}/{scope}: {describe(exc)}"
                log.warning("inventory %s failed in %s", kind.name, reason,
                            extra={"input": f"inventory:{kind.name}", "reason": reason})
                result.failures.append(reason)
    log.info(result.summary(), extra={"input": f"inventory:{kind.name}", "resources": result.seen,
                                      "changes": len(result.events)})
    return result


@dataclass(frozen=True)
class _Where:
    kind: ResourceType
    settings: InventoryInput
    sessions: Sessions
    store: Store
    account: str
    region: str
    scope: str


def _scope(where: _Where, previous: memory.Scope | None, sink: Sink, now: datetime, result: Pass) -> None:
    kind, settings, sessions, store = where.kind, where.settings, where.sessions, where.store
    account, region, scope = where.account, where.region, where.scope
    offset = store.last_offset()
    found = {f.resource.id: f for f in kind.collect(lambda service: sessions.client(account, service, region),
                                                    account, region)}
    result.seen += len(found)
    result.scopes += 1
    if previous is None:
        memory.save(store, kind.name, account, scope, at=now, offset=offset, puts=list(found.values()), deletes=[])
        result.baselines += 1
        return
    changes = diff({rid: known.snapshot for rid, known in previous.resources.items()},
                   {rid: f.snapshot for rid, f in found.items()})
    explained = pushed_resources(store, previous.offset, previous.at) if changes and settings.reconcile else set()
    events = [change_event(kind, change, found.get(change.resource_id) or previous.resources[change.resource_id],
                           account=account, now=now, previous_at=previous.at,
                           unexplained=change.resource_id not in explained if settings.reconcile else None)
              for change in changes]
    _record(sink, events, f"inventory:{kind.name}:{account}/{scope}")
    memory.save(store, kind.name, account, scope, at=now, offset=offset,
                puts=[found[c.resource_id] for c in changes if c.after is not None],
                deletes=[c.resource_id for c in changes if c.after is None])
    result.events.extend(events)


def _record(sink: Sink, events: Sequence[Event], source: str) -> None:
    """As our own CloudEvents (read back losslessly by the intake), in batches."""
    for start in range(0, len(events), BATCH):
        sink([Message(orjson.dumps(event.to_cloudevent()), f"{source}#{event.resource.id}")
              for event in events[start:start + BATCH]])
