"""Alert episodes and silences in DynamoDB (mixed into DynamoStore).

Each episode is one ``seen`` item, sorted by ``LAST_SEEN#ID`` (ID 20 digits wide, from a counter in the order
episodes began), so a query of that partition from its end lists episodes most recently seen first; it keeps
the rule, severity and status beside the body, for filtering. ``a#FINGERPRINT``/``latest`` holds a copy of the
latest episode with its ``seen`` key and a revision ``rv``. ``update_alerts`` runs the caller's ``merge`` in
Python, so it is optimistic: read the pointers, merge, then write each fingerprint's pointer (conditional on the
revision read) with its episodes in one transaction (several fingerprints share one while they fit); the
fingerprints whose pointer moved meanwhile are read and merged again (``merge`` must be free of side effects).
A body too big for an item (a hostile event id among ``event_ids``) is kept in pieces, as events are.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

import orjson

from monitor.alerts import Alert
from monitor.events import parse_time, sortable_time
from monitor.store.base import AlertMerge, AlertUpdate, NewSilence, Silence
from monitor.store.dynamodb_client import (
    MAX_TRANSACTION,
    Cancelled,
    DynamoPart,
    Item,
    key,
    n,
    named,
    number,
    padded,
    s,
    text,
)
from monitor.store.episodes import Episode, merge_episodes
from monitor.store.sqlite_alerts import alert_from_dict, alert_to_dict

RETRIES = 1000  # optimistic rounds before giving up: only a pathological contention gets there


def _seen(alert: Alert, episode_id: int) -> str:
    return f"{sortable_time(alert.last_seen)}#{padded(episode_id)}"


def _pointer(fingerprint: str) -> tuple[str, str]:
    return named("a", fingerprint), "latest"


class DynamoAlerts(DynamoPart):
    def update_alerts(self, alerts: Sequence[Alert], merge: AlertMerge, now: datetime) -> list[AlertUpdate]:
        results: list[AlertUpdate | None] = [None] * len(alerts)
        waiting = list(range(len(alerts)))
        for attempt in range(RETRIES):
            if not waiting:
                return [update for update in results if update is not None]
            moved = self._merge_and_write(alerts, waiting, merge, results)
            waiting = [i for i in waiting if alerts[i].fingerprint in moved]
            if waiting:
                time.sleep(min(0.002 * attempt, 0.05))
        raise RuntimeError(f"update_alerts: {RETRIES} concurrent changes of {alerts[waiting[0]].fingerprint} in a row")

    def _merge_and_write(self, alerts: Sequence[Alert], positions: list[int], merge: AlertMerge,
                         results: list[AlertUpdate | None]) -> set[str]:
        """Merge the alerts at ``positions`` into the latest episodes and write them; the fingerprints whose
        pointer another writer moved meanwhile (nothing of theirs written) come back."""
        fingerprints = list(dict.fromkeys(alerts[i].fingerprint for i in positions))
        pointers = self.get_many([_pointer(fp) for fp in fingerprints])
        chains: dict[str, list[Episode]] = {}
        revisions: dict[str, int | None] = {}
        for fp in fingerprints:
            item = pointers.get(_pointer(fp))
            revisions[fp] = number(item, "rv") if item is not None else None
            if item is not None:
                chains[fp] = [Episode(number(item, "id"), self._alert(item), text(item, "seen"))]
        merged, created = merge_episodes(chains, [alerts[i] for i in positions], merge)
        updates = dict(zip(positions, merged, strict=True))
        if created:  # ids in the order the episodes began (a retry leaves a gap)
            last = self.counter("alert", len(created))
            for episode_id, episode in enumerate(created, last - len(created) + 1):
                episode.id = episode_id
        moved = self._write_chains(chains, revisions)
        for i, update in updates.items():
            if alerts[i].fingerprint not in moved:
                results[i] = update
        return moved

    def _write_chains(self, chains: dict[str, list[Episode]], revisions: dict[str, int | None]) -> set[str]:
        moved: set[str] = set()
        batch: list[tuple[str, list[Item]]] = []
        for fp, chain in [*chains.items(), ("", [])]:
            operations = self._chain_operations(fp, chain, revisions[fp]) if chain else []
            if batch and (not chain or sum(len(o) for _, o in batch) + len(operations) > MAX_TRANSACTION):
                flat = [operation for _, each in batch for operation in each]
                try:
                    self.transact(flat)
                except Cancelled as cancelled:
                    if not any(cancelled.failed(i) for i in range(len(flat))):
                        raise
                    moved |= {each for each, _ in batch}  # a pointer moved: nothing of this transaction written
                batch = []
            if chain:
                batch.append((fp, operations))
        return moved

    def _chain_operations(self, fp: str, chain: list[Episode], revision: int | None) -> list[Item]:
        latest = chain[-1]
        assert latest.id is not None
        body = self._alert_body(latest.alert)
        pk, sk = _pointer(fp)
        pointer = {**key(pk, sk), "id": n(latest.id), "seen": s(_seen(latest.alert, latest.id)), **body,
                   "rv": n((revision or 0) + 1)}
        operations = [self.op_put(pointer, "rv = :rv", {":rv": n(revision)}) if revision is not None
                      else self.op_put(pointer, "attribute_not_exists(PK)")]
        for episode in chain:
            assert episode.id is not None
            seen = _seen(episode.alert, episode.id)
            if episode.stored is not None and episode.stored != seen:
                operations.append(self.op_delete("seen", episode.stored))
            alert = episode.alert
            operations.append(self.op_put({**key("seen", seen), "fp": s(fp), "rule": s(alert.rule),
                                           "sev": s(alert.severity), "st": s(alert.status),
                                           **(body if episode is latest else self._alert_body(alert))}))
        return operations

    def _alert_body(self, alert: Alert) -> Item:
        """An episode's body attributes; the pieces of one too big for an item (a hostile event id kept in
        ``event_ids``) are written first."""
        attributes, parts = self.body(orjson.dumps(alert_to_dict(alert)))
        for part in parts:
            self.put(part)
        return attributes

    def _alert(self, item: Item) -> Alert:
        return alert_from_dict(orjson.loads(self.read_body(item)))

    def list_alerts(
        self, *, rule: str | None = None, severity: str | None = None, status: Sequence[str] = (),
        since: datetime | None = None, limit: int | None = None,
    ) -> list[Alert]:
        if limit is not None and limit <= 0:
            return []
        listed: list[Alert] = []
        for item in self.query("seen", after=sortable_time(since) if since is not None else None, forward=False):
            if (rule is None or text(item, "rule") == rule) and (severity is None or text(item, "sev") == severity) \
                    and (not status or text(item, "st") in status):
                listed.append(self._alert(item))
                if limit is not None and len(listed) >= limit:
                    break
        return listed

    def get_alert(self, fingerprint: str) -> Alert | None:
        return self.get_alerts([fingerprint]).get(fingerprint)

    def get_alerts(self, fingerprints: Sequence[str]) -> dict[str, Alert]:
        unique = list(dict.fromkeys(fingerprints))
        found = self.get_many([_pointer(fp) for fp in unique])
        return {fp: self._alert(found[_pointer(fp)]) for fp in unique if _pointer(fp) in found}

    def set_alert_status(self, fingerprint: str, status: str, now: datetime) -> None:
        for _ in range(RETRIES):
            item = self.get(*_pointer(fingerprint))
            if item is None:
                return
            body = self._alert_body(replace(self._alert(item), status=status))
            bodiless = {name: value for name, value in item.items() if name not in ("b", "pid", "np")}
            pointer = {**bodiless, **body, "rv": n(number(item, "rv") + 1)}
            seen = {name: value for name, value in (self.get("seen", text(item, "seen")) or {}).items()
                    if name not in ("b", "pid", "np")}
            try:
                self.transact([self.op_put(pointer, "rv = :rv", {":rv": n(number(item, "rv"))}),
                               self.op_put({**seen, **key("seen", text(item, "seen")), "st": s(status), **body})])
                return
            except Cancelled:
                continue

    def add_silence(self, silence: NewSilence) -> Silence:
        silence_id = self.counter("silence")
        self.transact([self.op_put({**key("sil", padded(silence_id)), "m": s(orjson.dumps(silence.matchers).decode()),
                                    "from": s(sortable_time(silence.starts_at)), "e": s(sortable_time(silence.ends_at)),
                                    "by": s(silence.created_by), "why": s(silence.reason)}),
                       self.op_update("counter", "silences", "ADD n :one", {":one": n(1)})])
        return Silence(silence.matchers, silence.starts_at, silence.ends_at, silence.created_by, silence.reason,
                       id=silence_id)

    def silences(self, *, active_at: datetime | None = None) -> list[Silence]:
        found = [_silence(item) for item in self.query("sil")]
        return [each for each in found if active_at is None or each.ends_at > active_at]

    def expire_silence(self, silence_id: int, now: datetime) -> Silence | None:
        stamp = s(sortable_time(now))
        try:
            self.transact([self.op_update("sil", padded(silence_id), "SET e = :now", {":now": stamp},
                                          condition="attribute_exists(PK) AND e > :now"),
                           self.op_update("counter", "silences", "ADD n :one", {":one": n(1)})])
        except Cancelled as cancelled:
            if not cancelled.failed(0):
                raise
        item = self.get("sil", padded(silence_id))
        return _silence(item) if item is not None else None

    def silences_version(self) -> int:
        return number(self.get("counter", "silences") or {}, "n")


def _silence(item: Item) -> Silence:
    return Silence(orjson.loads(text(item, "m")), parse_time(text(item, "from")), parse_time(text(item, "e")),
                   text(item, "by"), text(item, "why"), id=int(text(item, "SK")))
