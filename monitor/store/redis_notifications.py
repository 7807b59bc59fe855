"""The notification log in Redis (mixed into RedisStore): messages claimed before they are sent.

A message is the hash ``n:msg:ID`` (ID from INCR: integers in creation order, as in SQLite). The Lua scripts
below keep indexes that answer each question without a scan of the log: ``n:nids`` (the grouping's message id
-> ID, the dedup), ``n:ids`` and ``n:status:STATUS`` (IDs scored by themselves, for listing), ``n:due`` (each
pending message as ``DUE|ID``, DUE being the later of its next attempt and its lease's end, read by lexical
range: what is due now), ``n:open:KEY`` (the pending and undelivered IDs of one destination and group, for
superseding) and ``n:fp:FINGERPRINT`` (the IDs carrying an alert).

Superseding, as the port says it: a claim supersedes every due message of a destination and group but the
newest (however many are due, not only within its limit), then takes the oldest ``limit`` of the rest; an
attempt that failed while a newer message of its group was delivered leaves the message superseded, so it
is not sent again after the newer one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

import orjson

from monitor.events import parse_time, sortable_time
from monitor.messages import DeliveryResult
from monitor.store.base import NewNotification, StoredNotification
from monitor.store.redis_client import TIME_LUA, RedisPart, blob, number, text
from monitor.store.sqlite_alerts import notification_from_dict, notification_to_dict

FIELDS = ("id", "status", "attempts", "last_error", "payload", "created_at", "sent_at", "next_attempt_at",
          "sent_to", "sent_by")

MESSAGES_LUA = TIME_LUA + """
local p = ARGV[1]
local FIELDS = {'id', 'status', 'attempts', 'last_error', 'payload', 'created_at', 'sent_at', 'next_attempt_at',
                'sent_to', 'sent_by'}
local function msg(id) return p .. 'n:msg:' .. id end
local function set_due(id, due)
  local old = redis.call('HGET', msg(id), 'due')
  if old and old ~= '' then redis.call('ZREM', p .. 'n:due', old .. '|' .. id) end
  if due ~= '' then redis.call('ZADD', p .. 'n:due', 0, due .. '|' .. id) end
  redis.call('HSET', msg(id), 'due', due)
end
local function set_status(id, status)
  local old = redis.call('HGET', msg(id), 'status')
  redis.call('ZREM', p .. 'n:status:' .. old, id)
  redis.call('ZADD', p .. 'n:status:' .. status, id, id)
  redis.call('HSET', msg(id), 'status', status)
  local open = p .. 'n:open:' .. redis.call('HGET', msg(id), 'key')
  if status == 'pending' or status == 'undelivered' then redis.call('ZADD', open, id, id)
  else redis.call('ZREM', open, id) end
  if status ~= 'pending' then set_due(id, '') end
end
local function supersede(id)
  set_status(id, 'superseded')
  redis.call('HSET', msg(id), 'claimed_until', '')
end
local function insert(nid, key, created_at, payload, fingerprints)
  if redis.call('HEXISTS', p .. 'n:nids', nid) == 1 then return end
  local id = redis.call('INCR', p .. 'n:next')
  redis.call('HSET', p .. 'n:nids', nid, id)
  redis.call('HSET', msg(id), 'id', id, 'nid', nid, 'key', key, 'status', 'pending', 'attempts', 0,
             'last_error', '', 'payload', payload, 'created_at', created_at, 'sent_at', '',
             'next_attempt_at', created_at, 'claimed_until', '', 'sent_to', '[]', 'sent_by', '', 'due', '')
  redis.call('ZADD', p .. 'n:ids', id, id)
  redis.call('ZADD', p .. 'n:status:pending', id, id)
  redis.call('ZADD', p .. 'n:open:' .. key, id, id)
  set_due(id, created_at)
  for _, fingerprint in ipairs(fingerprints) do redis.call('ZADD', p .. 'n:fp:' .. fingerprint, id, id) end
end
"""

CLAIM = MESSAGES_LUA + """
local now, lease_until, limit, worker = ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local ids = {}
for _, member in ipairs(redis.call('ZRANGEBYLEX', p .. 'n:due', '-', '(' .. now .. '~')) do
  ids[#ids + 1] = tonumber(string.sub(member, 29))
end
table.sort(ids)
local keys, newest = {}, {}
for i, id in ipairs(ids) do
  keys[i] = redis.call('HGET', msg(id), 'key')
  newest[keys[i]] = id
end
local taken = {}
for i, id in ipairs(ids) do
  if newest[keys[i]] ~= id then
    supersede(id)
  elseif #taken < limit then
    redis.call('HSET', msg(id), 'claimed_until', lease_until, 'sent_by', worker)
    set_due(id, later(redis.call('HGET', msg(id), 'next_attempt_at'), lease_until))
    taken[#taken + 1] = redis.call('HMGET', msg(id), unpack(FIELDS))
  end
end
return taken
"""

RECORD_ATTEMPTS = MESSAGES_LUA + """
local now, worker, i = ARGV[2], ARGV[3], 4
while i <= #ARGV do
  local id, delivered, attempts, err, retry_at, sent_to = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3],
                                                          ARGV[i + 4], ARGV[i + 5]
  i = i + 6
  if redis.call('EXISTS', msg(id)) == 1 then
    local status = delivered == '1' and 'delivered' or (retry_at ~= '' and 'pending' or 'undelivered')
    if delivered ~= '1' and redis.call('HGET', msg(id), 'status') == 'superseded' then
      status = 'superseded'  -- a newer message of its group was delivered while this one was out: it stays so
    end
    set_status(id, status)
    redis.call('HINCRBY', msg(id), 'attempts', attempts)
    redis.call('HSET', msg(id), 'last_error', err, 'sent_at', delivered == '1' and now or '',
               'next_attempt_at', retry_at, 'claimed_until', '', 'sent_to', sent_to, 'sent_by', worker)
    if status == 'pending' then set_due(id, retry_at) end
    if status == 'delivered' then
      local key = redis.call('HGET', msg(id), 'key')
      for _, older in ipairs(redis.call('ZRANGEBYSCORE', p .. 'n:open:' .. key, '-inf', '(' .. id)) do
        supersede(older)
      end
    end
  end
end
return 0
"""

REQUEUE = MESSAGES_LUA + """
local now, count = ARGV[2], 0
local lists = {redis.call('ZRANGE', p .. 'n:status:undelivered', 0, -1),
               redis.call('ZRANGE', p .. 'n:status:pending', 0, -1)}
for _, ids in ipairs(lists) do
  for _, id in ipairs(ids) do
    local claimed_until = redis.call('HGET', msg(id), 'claimed_until')
    if claimed_until == '' or at_or_before(claimed_until, now) then
      set_status(id, 'pending')
      redis.call('HSET', msg(id), 'next_attempt_at', now, 'claimed_until', '')
      set_due(id, now)
      count = count + 1
    end
  end
end
return count
"""


def notification_args(notifications: Sequence[NewNotification]) -> list[str | bytes | int]:
    """The arguments of ``insert`` in MESSAGES_LUA, for a script that adds messages (see redis_state)."""
    args: list[str | bytes | int] = [len(notifications)]
    for new in notifications:
        message = new.notification
        fingerprints = list(dict.fromkeys(a.fingerprint for a in message.alerts))
        args += [new.id, message.key, sortable_time(new.created_at), orjson.dumps(notification_to_dict(message)),
                 len(fingerprints), *fingerprints]
    return args


class RedisNotifications(RedisPart):
    def claim_notifications(
        self, now: datetime, lease_until: datetime, limit: int = 100, *, worker: str = "",
    ) -> list[StoredNotification]:
        rows = self.run(CLAIM, [sortable_time(now), sortable_time(lease_until), limit, worker])
        return [_stored(row) for row in rows]

    def record_attempts(
        self, outcomes: Sequence[tuple[int, DeliveryResult, datetime | None]], now: datetime, *, worker: str = "",
    ) -> None:
        args: list[str | bytes | int] = [sortable_time(now), worker]
        for row_id, result, retry_at in outcomes:
            args += [row_id, "1" if result.delivered else "0", result.attempts, result.error,
                     sortable_time(retry_at) if retry_at is not None else "",
                     orjson.dumps(list(result.accepted))]
        self.run(RECORD_ATTEMPTS, args)

    def requeue_undelivered(self, now: datetime) -> int:
        return int(self.run(REQUEUE, [sortable_time(now)]))

    def next_notification_due(self) -> datetime | None:
        first = self._redis.zrange(self.key("n:due"), 0, 0)
        return parse_time(blob(first[0])[:27].decode()) if first else None

    def notifications(
        self, *, status: str | None = None, fingerprint: str | None = None, limit: int | None = None
    ) -> list[StoredNotification]:
        if limit is not None and limit <= 0:
            return []
        index = self.key("n:status", status) if status is not None else self.key("n:ids")
        if fingerprint is None:
            ids = [number(i) for i in self._redis.zrange(index, 0, -1 if limit is None else limit - 1)]
        else:
            carrying = [number(i) for i in self._redis.zrange(self.key("n:fp", fingerprint), 0, -1)]
            if status is not None:
                chosen = {number(i) for i in self._redis.zrange(index, 0, -1)}
                carrying = [i for i in carrying if i in chosen]
            ids = carrying[:limit]
        with self._redis.pipeline(transaction=False) as pipe:
            for row_id in ids:
                pipe.hmget(self.key("n:msg", row_id), FIELDS)
            rows = pipe.execute()
        stored = [_stored(row) for row in rows if row[0] is not None]
        return [s for s in stored if status is None or s.status == status]


def _stored(row: Sequence[bytes | None]) -> StoredNotification:
    row_id, status, attempts, last_error, payload, created_at, sent_at, next_attempt_at, sent_to, sent_by = (
        text(value) or "" for value in row)
    notification = replace(notification_from_dict(orjson.loads(payload)), sent_to=tuple(orjson.loads(sent_to)))
    return StoredNotification(int(row_id), notification, status, int(attempts), last_error, parse_time(created_at),
                              parse_time(sent_at) if sent_at else None,
                              parse_time(next_attempt_at) if next_attempt_at else None, sent_by)
