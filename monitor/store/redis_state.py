"""Detector state in Redis (mixed into RedisStore): one hash per rule, written by one Lua script per batch.

``s:rule:RULE`` maps each group key to ``EXPIRES:BODY``; ``s:expiry`` scores every (rule, key) by its expiry
(members ``LEN:RULEKEY``, LEN being the rule's length in bytes) for ``delete_expired_state``. ``write_state``
checks the expected checkpoint first and then writes documents, deletions, the checkpoint and the messages
(the notification log's ``insert``) in the same script, so a stale writer changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from monitor.store.base import UNSET, NewNotification, StateConflict, UnsetType
from monitor.store.redis_client import RedisPart, blob
from monitor.store.redis_notifications import MESSAGES_LUA, notification_args

WRITE_STATE = MESSAGES_LUA + """
local mode, expected, has_checkpoint, name, position = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if has_checkpoint == '1' and mode ~= 'unset' then
  local current = redis.call('HGET', p .. 'checkpoints', name)
  if (mode == 'none' and current) or (mode == 'value' and current ~= expected) then
    return {'conflict', current or ''}
  end
end
local i = 7
local function take(n)
  local values = {}
  for k = 1, n do values[k] = ARGV[i + k - 1] end
  i = i + n
  return values
end
local function member(rule, key) return #rule .. ':' .. rule .. key end
for _ = 1, tonumber(take(1)[1]) do
  local rule, key, body, expires = unpack(take(4))
  redis.call('HSET', p .. 's:rule:' .. rule, key, expires .. ':' .. body)
  redis.call('ZADD', p .. 's:expiry', expires, member(rule, key))
end
for _ = 1, tonumber(take(1)[1]) do
  local rule, key = unpack(take(2))
  redis.call('HDEL', p .. 's:rule:' .. rule, key)
  redis.call('ZREM', p .. 's:expiry', member(rule, key))
end
if has_checkpoint == '1' then redis.call('HSET', p .. 'checkpoints', name, position) end
for _ = 1, tonumber(take(1)[1]) do
  local nid, key, created_at, payload, count = unpack(take(5))
  insert(nid, key, created_at, payload, take(tonumber(count)))
end
return {'ok', ''}
"""

DELETE_EXPIRED = """
local p = ARGV[1]
local expired = redis.call('ZRANGEBYSCORE', p .. 's:expiry', '-inf', ARGV[2])
for _, member in ipairs(expired) do
  local colon = string.find(member, ':', 1, true)
  local length = tonumber(string.sub(member, 1, colon - 1))
  local rule = string.sub(member, colon + 1, colon + length)
  redis.call('HDEL', p .. 's:rule:' .. rule, string.sub(member, colon + length + 1))
  redis.call('ZREM', p .. 's:expiry', member)
end
return #expired
"""


class RedisDetectorState(RedisPart):
    def load_state(self, rule: str) -> Iterator[tuple[str, bytes, int]]:
        documents = self._redis.hgetall(self.key("s:rule", rule))
        for key, value in sorted((blob(k), blob(v)) for k, v in documents.items()):
            expires, _, body = value.partition(b":")
            yield key.decode(), body, int(expires)

    def load_document(self, rule: str, key: str) -> tuple[bytes, int] | None:
        value = self._redis.hget(self.key("s:rule", rule), key)
        if value is None:
            return None
        expires, _, body = blob(value).partition(b":")
        return body, int(expires)

    def write_state(
        self, puts: Sequence[tuple[str, str, bytes, int]], deletes: Sequence[tuple[str, str]],
        checkpoint: tuple[str, str] | None = None, notifications: Sequence[NewNotification] = (), *,
        expected: str | UnsetType | None = UNSET,
    ) -> None:
        mode = "unset" if isinstance(expected, UnsetType) else "none" if expected is None else "value"
        name, position = checkpoint if checkpoint is not None else ("", "")
        args: list[str | bytes | int] = [mode, expected if isinstance(expected, str) else "",
                                         "1" if checkpoint is not None else "0", name, position, len(puts)]
        for rule, key, body, expires_at in puts:
            args += [rule, key, body, int(expires_at)]
        args.append(len(deletes))
        for rule, key in deletes:
            args += [rule, key]
        args += notification_args(notifications)
        outcome, current = self.run(WRITE_STATE, args)
        if outcome == b"conflict":
            raise StateConflict(f"checkpoint {name} is at {current.decode() or None}, not {expected}: "
                                "another writer moved it")

    def delete_expired_state(self, now: int) -> int:
        return int(self.run(DELETE_EXPIRED, [int(now)]))
