"""The event log in Redis (mixed into RedisStore): events, dead letters, checkpoints and leases.

An event is kept once, under the offset an INCR gave it: ``e:body`` maps the offset to its recorded time, its
event time (both 27 characters wide) and its JSON; ``e:ids`` maps event ids to offsets (the dedup);
``e:log`` (scored by offset) and ``e:time`` (members ``TIME|offset``, read by lexical range) index it, so a
read walks only the entries after its offset or inside its time range, whichever are fewer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import orjson

from monitor.events import Event, parse_time, sortable_time
from monitor.store.base import DeadLetter, NewDeadLetter, StoredEvent
from monitor.store.redis_client import TIME_LUA, RedisPart, blob, number, text

TIME_WIDTH = 27  # len(sortable_time(...))
PAGE = 500

RECORD = """
local p, now = ARGV[1], ARGV[2]
local events = tonumber(ARGV[3])
local CHUNK = 2000  -- arguments per call, well under Lua's stack limit for unpack
local function each_chunk(values, command, key)
  for start = 1, #values, CHUNK do
    redis.call(command, key, unpack(values, start, math.min(start + CHUNK - 1, #values)))
  end
end
local fresh, taken = {0}, {}  -- the first offset given, then the indexes of the new events
for start = 1, events, CHUNK do
  local ids = {}
  for index = start, math.min(start + CHUNK - 1, events) do ids[#ids + 1] = ARGV[1 + index * 3] end
  local known = redis.call('HMGET', p .. 'e:ids', unpack(ids))
  for k, id in ipairs(ids) do
    if not known[k] and not taken[id] then
      taken[id] = true
      fresh[#fresh + 1] = start + k - 1
    end
  end
end
if #fresh > 1 then
  local offset = redis.call('INCRBY', p .. 'e:next', #fresh - 1) - #fresh + 1
  fresh[1] = offset + 1
  local ids, bodies, log, times = {}, {}, {}, {}
  for k = 2, #fresh do
    local index = fresh[k]
    offset = offset + 1
    local id, time, body = ARGV[1 + index * 3], ARGV[2 + index * 3], ARGV[3 + index * 3]
    ids[#ids + 1], ids[#ids + 2] = id, offset
    bodies[#bodies + 1], bodies[#bodies + 2] = offset, now .. time .. body
    log[#log + 1], log[#log + 2] = offset, offset
    times[#times + 1], times[#times + 2] = 0, time .. '|' .. offset
  end
  each_chunk(ids, 'HSET', p .. 'e:ids')
  each_chunk(bodies, 'HSET', p .. 'e:body')
  each_chunk(log, 'ZADD', p .. 'e:log')
  each_chunk(times, 'ZADD', p .. 'e:time')
end
local i = 4 + events * 3
for _ = 1, tonumber(ARGV[i]) do
  i = i + 1
  redis.call('RPUSH', p .. 'd:list', redis.call('INCR', p .. 'd:next') .. '|' .. now .. ARGV[i])
end
return fresh
"""

ACQUIRE_LEASE = TIME_LUA + """
local p, name, holder, now, until_ = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local key = p .. 'lease:' .. name
local current = redis.call('HMGET', key, 'holder', 'until')
if current[1] and current[1] ~= holder and not at_or_before(current[2], now) then return 0 end
redis.call('HSET', key, 'holder', holder, 'until', until_)
return 1
"""

RELEASE_LEASE = """
local key = ARGV[1] .. 'lease:' .. ARGV[2]
if redis.call('HGET', key, 'holder') == ARGV[3] then redis.call('DEL', key) end
return 0
"""


class RedisEventLog(RedisPart):
    def record(self, events: Sequence[Event], dead_letters: Sequence[NewDeadLetter] = ()) -> list[StoredEvent]:
        recorded_at = datetime.now(UTC)
        now = sortable_time(recorded_at)
        args: list[str | bytes | int] = [now, len(events)]
        for event in events:  # serialized before the script runs: a script has no rollback
            args += [event.id, sortable_time(event.time), event.to_json()]
        args.append(len(dead_letters))
        args += [orjson.dumps([d.source, d.reason, d.payload]) for d in dead_letters]
        first, *new = self.run(RECORD, args)
        return [StoredEvent(int(first) + n, recorded_at, events[int(index) - 1]) for n, index in enumerate(new)]

    def read_events(
        self, *, after: int = 0, since: datetime | None = None, until: datetime | None = None,
        limit: int | None = None,
    ) -> Iterator[StoredEvent]:
        if limit is not None and limit <= 0:
            return
        low = "[" + sortable_time(since) if since is not None else "-"
        high = "(" + sortable_time(until) if until is not None else "+"
        if (since is not None or until is not None) and self._in_range(low, high) <= self._after(after):
            yield from self._by_time(after, low, high, limit)
        else:
            yield from self._by_offset(after, since, until, limit)

    def _in_range(self, low: str, high: str) -> int:
        return int(self._redis.zlexcount(self.key("e:time"), low, high))

    def _after(self, after: int) -> int:
        return int(self._redis.zcount(self.key("e:log"), f"({after}", "+inf"))

    def _by_time(self, after: int, low: str, high: str, limit: int | None) -> Iterator[StoredEvent]:
        members = self._redis.zrangebylex(self.key("e:time"), low, high)
        offsets = sorted(o for member in members if (o := int(blob(member)[TIME_WIDTH + 1:])) > after)[:limit]
        for start in range(0, len(offsets), PAGE):
            page = offsets[start:start + PAGE]
            for offset, value in zip(page, self._redis.hmget(self.key("e:body"), page), strict=True):
                if value is not None:
                    yield _stored(offset, blob(value))

    def _by_offset(
        self, after: int, since: datetime | None, until: datetime | None, limit: int | None
    ) -> Iterator[StoredEvent]:
        low = sortable_time(since).encode() if since is not None else b""
        high = sortable_time(until).encode() if until is not None else None
        left = limit
        while left is None or left > 0:
            page = [number(o) for o in self._redis.zrangebyscore(self.key("e:log"), f"({after}", "+inf", 0, PAGE)]
            if not page:
                return
            after = page[-1]
            for offset, reply in zip(page, self._redis.hmget(self.key("e:body"), page), strict=True):
                value = blob(reply) if reply is not None else b""
                time = value[TIME_WIDTH:2 * TIME_WIDTH]
                if value and low <= time and (high is None or time < high):
                    yield _stored(offset, value)
                    left = left - 1 if left is not None else None
                    if left == 0:
                        return

    def dead_letters(self, *, limit: int | None = None) -> list[DeadLetter]:
        items = self._redis.lrange(self.key("d:list"), 0, limit - 1 if limit else -1)
        letters = []
        for item in items:
            letter_id, _, rest = blob(item).partition(b"|")
            source, reason, payload = orjson.loads(rest[TIME_WIDTH:])
            letters.append(DeadLetter(source=source, reason=reason, payload=payload, id=int(letter_id),
                                      recorded_at=parse_time(rest[:TIME_WIDTH].decode())))
        return letters

    def last_offset(self) -> int:
        return number(self._redis.get(self.key("e:next")))

    def checkpoint(self, name: str) -> str | None:
        return text(self._redis.hget(self.key("checkpoints"), name))

    def save_checkpoint(self, name: str, position: str) -> None:
        self._redis.hset(self.key("checkpoints"), name, position)

    def acquire_lease(self, name: str, holder: str, now: datetime, until: datetime) -> bool:
        return bool(self.run(ACQUIRE_LEASE, [name, holder, sortable_time(now), sortable_time(until)]))

    def release_lease(self, name: str, holder: str) -> None:
        self.run(RELEASE_LEASE, [name, holder])

    def lease_holder(self, name: str) -> tuple[str, datetime] | None:
        holder, until = (text(v) for v in self._redis.hmget(self.key("lease", name), ["holder", "until"]))
        return (holder, parse_time(until)) if holder is not None and until is not None else None


def _stored(offset: int, value: bytes) -> StoredEvent:
    return StoredEvent(offset, parse_time(value[:TIME_WIDTH].decode()),
                       Event.from_dict(orjson.loads(value[2 * TIME_WIDTH:])))
