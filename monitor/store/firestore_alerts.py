"""Alert episodes and silences in Firestore (mixed into FirestoreStore).

An episode is ``alerts/ID`` (ID from ``counters/alerts``) with its JSON and ``seen``, its last_seen and its ID
(20 digits) as one text, so one single-field index lists episodes newest first, ties by ID.
``alert_latest/SHA256(FINGERPRINT)`` names a fingerprint's latest episode. ``update_alerts`` reads the latest
episodes, runs the caller's ``merge`` and writes in one transaction, run again from a fresh read when another
writer got there first (``merge`` must be free of side effects); a batch of more alerts than one commit holds
is merged in turns, in order, each turn atomic.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from monitor.alerts import Alert
from monitor.events import parse_time, sortable_time
from monitor.store.base import AlertMerge, AlertUpdate, NewSilence, Silence
from monitor.store.compact import pack, unpack
from monitor.store.episodes import Episode, merge_episodes
from monitor.store.firestore_client import ATTEMPTS, WRITES, FirestorePart, Transaction, doc_id, firestore
from monitor.store.sqlite_alerts import alert_from_dict, alert_to_dict

PAGE = 200
TURN = (WRITES - 1) // 2  # alerts per transaction: an episode and a latest pointer each, and the counter


def _episode(episode_id: int, alert: Alert) -> dict[str, Any]:
    return {"id": episode_id, "fingerprint": alert.fingerprint, "rule": alert.rule, "severity": alert.severity,
            "status": alert.status, "seen": f"{sortable_time(alert.last_seen)}|{episode_id:020d}",
            "body": pack(orjson.dumps(alert_to_dict(alert)))}


def _alert(document: dict[str, Any]) -> Alert:
    return alert_from_dict(orjson.loads(unpack(document["body"])))


class FirestoreAlerts(FirestorePart):
    def update_alerts(self, alerts: Sequence[Alert], merge: AlertMerge, now: datetime) -> list[AlertUpdate]:
        updates: list[AlertUpdate] = []
        for start in range(0, len(alerts), TURN):
            turn = alerts[start:start + TURN]
            for _ in range(ATTEMPTS):
                if (done := self._update(turn, merge)) is not None:
                    updates += done
                    break
            else:
                raise RuntimeError(f"update_alerts: {ATTEMPTS} concurrent changes of {turn[0].fingerprint} in a row")
        return updates

    def _update(self, alerts: Sequence[Alert], merge: AlertMerge) -> list[AlertUpdate] | None:
        """Read, merge and write one turn, conditional on what was read; None when another writer was first."""
        fingerprints = list(dict.fromkeys(a.fingerprint for a in alerts))
        pointers = self.snapshots([self.doc("alert_latest", doc_id(fp)) for fp in fingerprints])
        pointed = [self.doc("alerts", str(p.get("id"))) for p in pointers.values() if p.exists]
        episodes = self.snapshots(pointed)
        counter = self.doc("counters", "alerts").get()
        last = int(counter.get("value")) if counter.exists else 0
        chains: dict[str, list[Episode]] = {}  # fingerprint -> episodes, oldest first; stored: the snapshot read
        for snapshot in episodes.values():
            if snapshot.exists:
                chains[snapshot.get("fingerprint")] = [Episode(int(snapshot.get("id")), _alert(snapshot.to_dict()),
                                                               snapshot)]
        updates, created = merge_episodes(chains, alerts, merge)
        for episode in created:  # ids in the order the episodes began
            last += 1
            episode.id = last
        writes = []
        for fingerprint, chain in chains.items():
            writes += [(self.doc("alerts", str(e.id)), _episode(e.id or 0, e.alert), e.stored) for e in chain]
            writes.append((self.doc("alert_latest", doc_id(fingerprint)), {"fingerprint": fingerprint,
                                                                          "id": chain[-1].id},
                           pointers[doc_id(fingerprint)]))
        writes.append((counter.reference, {"value": last}, counter))
        return updates if self.commit_if_unchanged(writes) else None

    def list_alerts(
        self, *, rule: str | None = None, severity: str | None = None, status: Sequence[str] = (),
        since: datetime | None = None, limit: int | None = None,
    ) -> list[Alert]:
        if limit is not None and limit <= 0:
            return []
        query = self.collection("alerts").order_by("seen", direction="DESCENDING")
        if since is not None:
            query = query.where(filter=firestore.FieldFilter("seen", ">=", sortable_time(since)))
        listed: list[Alert] = []
        while limit is None or len(listed) < limit:
            page = [s.to_dict() for s in query.limit(PAGE).stream()]
            if not page:
                break
            query = query.start_after({"seen": page[-1]["seen"]})
            listed += [_alert(d) for d in page if (rule is None or d["rule"] == rule)
                       and (severity is None or d["severity"] == severity) and (not status or d["status"] in status)]
        return listed[:limit]

    def get_alert(self, fingerprint: str) -> Alert | None:
        return self.get_alerts([fingerprint]).get(fingerprint)

    def get_alerts(self, fingerprints: Sequence[str]) -> dict[str, Alert]:
        unique = list(dict.fromkeys(fingerprints))
        pointers = self.read_all(None, [self.doc("alert_latest", doc_id(fp)) for fp in unique])
        episodes = self.read_all(None, [self.doc("alerts", str(p["id"])) for p in pointers.values()])
        return {d["fingerprint"]: _alert(d) for d in episodes.values()}

    def set_alert_status(self, fingerprint: str, status: str, now: datetime) -> None:
        pointer = self.doc("alert_latest", doc_id(fingerprint))

        def update(transaction: Transaction) -> None:
            found = pointer.get(transaction=transaction)
            if not found.exists:
                return
            ref = self.doc("alerts", str(found.get("id")))
            document = ref.get(transaction=transaction).to_dict()
            body = {**orjson.loads(unpack(document["body"])), "status": status}
            transaction.set(ref, {**document, "status": status, "body": pack(orjson.dumps(body))})

        self.transact(update)

    def add_silence(self, silence: NewSilence) -> Silence:
        def add(transaction: Transaction) -> int:
            silence_id = self.counter(transaction, "silences") + 1
            version = self.counter(transaction, "silence_version")
            transaction.create(self.doc("silences", str(silence_id)), {
                "id": silence_id, "matchers": orjson.dumps(silence.matchers).decode(),
                "starts_at": sortable_time(silence.starts_at), "ends_at": sortable_time(silence.ends_at),
                "created_by": silence.created_by, "reason": silence.reason})
            self.bump(transaction, "silences", silence_id)
            self.bump(transaction, "silence_version", version + 1)
            return silence_id

        silence_id = self.transact(add)
        return Silence(silence.matchers, silence.starts_at, silence.ends_at, silence.created_by, silence.reason,
                       id=silence_id)

    def silences(self, *, active_at: datetime | None = None) -> list[Silence]:
        found = [_silence(s.to_dict()) for s in self.collection("silences").order_by("id").stream()]
        return [s for s in found if active_at is None or s.ends_at > active_at]

    def expire_silence(self, silence_id: int, now: datetime) -> Silence | None:
        ref = self.doc("silences", str(silence_id))

        def expire(transaction: Transaction) -> dict[str, Any] | None:
            snapshot = ref.get(transaction=transaction)
            if not snapshot.exists:
                return None
            document: dict[str, Any] = snapshot.to_dict()
            version = self.counter(transaction, "silence_version")
            if document["ends_at"] > sortable_time(now):
                document["ends_at"] = sortable_time(now)
                transaction.set(ref, document)
                self.bump(transaction, "silence_version", version + 1)
            return document

        document = self.transact(expire)
        return _silence(document) if document is not None else None

    def silences_version(self) -> int:
        return self.value("silence_version")


def _silence(document: dict[str, Any]) -> Silence:
    return Silence(orjson.loads(document["matchers"]), parse_time(document["starts_at"]),
                   parse_time(document["ends_at"]), document["created_by"], document["reason"], id=int(document["id"]))
