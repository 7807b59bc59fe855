"""Alert episodes and silences in Redis (mixed into RedisStore).

An episode is ``a:body`` ID -> its JSON (IDs from INCR); ``a:latest:FINGERPRINT`` names the latest episode of
a fingerprint and ``a:seen`` orders episodes by last_seen (members ``LAST_SEEN|ID`` with ID 20 digits wide,
read newest first by reverse lexical range). ``update_alerts`` runs the caller's ``merge`` in Python, so it is
an optimistic transaction: WATCH the fingerprints' ``a:latest`` keys, read, merge, write in MULTI/EXEC, and on
a concurrent change start again from a fresh read (``merge`` must be free of side effects: it may run more
than once). Every write of an episode also rewrites its ``a:latest`` key, so a watcher sees it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
import redis

from monitor.alerts import Alert
from monitor.events import parse_time, sortable_time
from monitor.store.base import AlertMerge, AlertUpdate, NewSilence, Silence
from monitor.store.episodes import Episode, merge_episodes
from monitor.store.redis_client import TIME_LUA, RedisPart, blob, number, text
from monitor.store.sqlite_alerts import alert_from_dict, alert_to_dict

PAGE = 200
ATTEMPTS = 10_000  # optimistic retries before giving up: only a pathological contention gets there

LATEST = """
local p, found = ARGV[1], {}
for i = 2, #ARGV do
  local id = redis.call('GET', p .. 'a:latest:' .. ARGV[i])
  found[#found + 1] = id and redis.call('HGET', p .. 'a:body', id) or false
end
return found
"""

ADD_SILENCE = """
local p = ARGV[1]
local id = redis.call('INCR', p .. 'sil:next')
redis.call('HSET', p .. 'sil:item:' .. id, 'matchers', ARGV[2], 'starts_at', ARGV[3], 'ends_at', ARGV[4],
           'created_by', ARGV[5], 'reason', ARGV[6])
redis.call('ZADD', p .. 'sil:ids', id, id)
redis.call('INCR', p .. 'sil:version')
return id
"""

EXPIRE_SILENCE = TIME_LUA + """
local p, id, now = ARGV[1], ARGV[2], ARGV[3]
local item = p .. 'sil:item:' .. id
if redis.call('EXISTS', item) == 0 then return false end
if not at_or_before(redis.call('HGET', item, 'ends_at'), now) then
  redis.call('HSET', item, 'ends_at', now)
  redis.call('INCR', p .. 'sil:version')
end
return redis.call('HMGET', item, 'matchers', 'starts_at', 'ends_at', 'created_by', 'reason')
"""

SILENCE_FIELDS = ("matchers", "starts_at", "ends_at", "created_by", "reason")


def _seen(alert: Alert, episode_id: int) -> str:
    return f"{sortable_time(alert.last_seen)}|{episode_id:020d}"


class RedisAlerts(RedisPart):
    def update_alerts(self, alerts: Sequence[Alert], merge: AlertMerge, now: datetime) -> list[AlertUpdate]:
        if not alerts:
            return []
        fingerprints = list(dict.fromkeys(a.fingerprint for a in alerts))
        watched = [self.key("a:latest", fp) for fp in fingerprints]
        pipeline: Any = self._redis.pipeline()
        with pipeline as pipe:
            for attempt in range(ATTEMPTS):
                try:
                    pipe.watch(*watched)
                    updates, episodes, created = self._merge(pipe, fingerprints, watched, alerts, merge)
                    self._write(pipe, episodes, created)
                    return updates
                except redis.WatchError:
                    time.sleep(min(0.001 * attempt, 0.05))
        raise RuntimeError(f"update_alerts: {ATTEMPTS} concurrent changes of {fingerprints[:3]} in a row")

    def _merge(
        self, pipe: Any, fingerprints: list[str], watched: list[str], alerts: Sequence[Alert], merge: AlertMerge
    ) -> tuple[list[AlertUpdate], dict[str, list[Episode]], list[Episode]]:
        """Read the latest episodes (immediately, under WATCH) and merge the batch into them in order; the new
        episodes come back in the order they began, as their ids will follow."""
        ids = pipe.mget(watched)
        bodies = pipe.hmget(self.key("a:body"), [i for i in ids if i is not None]) if any(ids) else []
        found = iter(bodies)
        episodes: dict[str, list[Episode]] = {}
        for fp, episode_id in zip(fingerprints, ids, strict=True):
            if episode_id is not None:
                stored = alert_from_dict(orjson.loads(next(found)))
                episodes[fp] = [Episode(int(episode_id), stored, _seen(stored, int(episode_id)))]
        updates, created = merge_episodes(episodes, alerts, merge)
        return updates, episodes, created

    def _write(self, pipe: Any, episodes: dict[str, list[Episode]], created: list[Episode]) -> None:
        if created:  # ids taken before MULTI (a retry leaves a gap, as SQLite's AUTOINCREMENT may)
            first = int(pipe.incrby(self.key("a:next"), len(created))) - len(created) + 1
            for offset, episode in enumerate(created):
                episode.id = first + offset
        pipe.multi()
        for fp, chain in episodes.items():
            for episode in chain:
                assert episode.id is not None
                if episode.stored is not None:
                    pipe.zrem(self.key("a:seen"), episode.stored)
                pipe.hset(self.key("a:body"), str(episode.id), orjson.dumps(alert_to_dict(episode.alert)))
                pipe.zadd(self.key("a:seen"), {_seen(episode.alert, episode.id): 0})
            pipe.set(self.key("a:latest", fp), str(chain[-1].id))
        pipe.execute()

    def list_alerts(
        self, *, rule: str | None = None, severity: str | None = None, status: Sequence[str] = (),
        since: datetime | None = None, limit: int | None = None,
    ) -> list[Alert]:
        if limit is not None and limit <= 0:
            return []
        low = "[" + sortable_time(since) if since is not None else "-"
        listed: list[Alert] = []
        start = 0
        while limit is None or len(listed) < limit:
            members = self._redis.zrevrangebylex(self.key("a:seen"), "+", low, start, PAGE)
            if not members:
                break
            start += len(members)
            bodies = self._redis.hmget(self.key("a:body"), [int(blob(m).rpartition(b"|")[2]) for m in members])
            for body in bodies:
                found = alert_from_dict(orjson.loads(blob(body))) if body is not None else None
                if found is not None and (rule is None or found.rule == rule) and (
                        severity is None or found.severity == severity) and (not status or found.status in status):
                    listed.append(found)
        return listed[:limit]

    def get_alert(self, fingerprint: str) -> Alert | None:
        return self.get_alerts([fingerprint]).get(fingerprint)

    def get_alerts(self, fingerprints: Sequence[str]) -> dict[str, Alert]:
        unique = list(dict.fromkeys(fingerprints))
        found: dict[str, Alert] = {}
        for start in range(0, len(unique), PAGE):
            chunk = unique[start:start + PAGE]
            bodies = self.run(LATEST, chunk)
            found.update((fp, alert_from_dict(orjson.loads(body))) for fp, body in zip(chunk, bodies, strict=True)
                         if body)
        return found

    def set_alert_status(self, fingerprint: str, status: str, now: datetime) -> None:
        latest = self.key("a:latest", fingerprint)
        pipeline: Any = self._redis.pipeline()
        with pipeline as pipe:
            for attempt in range(ATTEMPTS):
                try:
                    pipe.watch(latest)
                    episode_id = pipe.get(latest)
                    if episode_id is None:
                        return
                    body = pipe.hget(self.key("a:body"), episode_id)
                    pipe.multi()
                    pipe.hset(self.key("a:body"), episode_id, orjson.dumps({**orjson.loads(body), "status": status}))
                    pipe.set(latest, episode_id)
                    pipe.execute()
                    return
                except redis.WatchError:
                    time.sleep(min(0.001 * attempt, 0.05))

    def add_silence(self, silence: NewSilence) -> Silence:
        silence_id = self.run(ADD_SILENCE, [orjson.dumps(silence.matchers), sortable_time(silence.starts_at),
                                            sortable_time(silence.ends_at), silence.created_by, silence.reason])
        return Silence(silence.matchers, silence.starts_at, silence.ends_at, silence.created_by, silence.reason,
                       id=int(silence_id))

    def silences(self, *, active_at: datetime | None = None) -> list[Silence]:
        ids = [number(i) for i in self._redis.zrange(self.key("sil:ids"), 0, -1)]
        with self._redis.pipeline(transaction=False) as pipe:
            for silence_id in ids:
                pipe.hmget(self.key("sil:item", silence_id), SILENCE_FIELDS)
            rows = pipe.execute()
        found = [_silence(silence_id, row) for silence_id, row in zip(ids, rows, strict=True) if row[0] is not None]
        return [s for s in found if active_at is None or s.ends_at > active_at]

    def expire_silence(self, silence_id: int, now: datetime) -> Silence | None:
        row = self.run(EXPIRE_SILENCE, [silence_id, sortable_time(now)])
        return _silence(silence_id, row) if row else None

    def silences_version(self) -> int:
        return number(self._redis.get(self.key("sil:version")))


def _silence(silence_id: int, row: Sequence[bytes]) -> Silence:
    matchers, starts_at, ends_at, created_by, reason = (text(value) or "" for value in row)
    return Silence(orjson.loads(matchers), parse_time(starts_at), parse_time(ends_at), created_by, reason,
                   id=silence_id)

