"""The store for a fleet: every port in one Redis database (``state: redis://HOST:PORT/DB``), for redis-py
against a standalone redis-server (Debian's package).

Decisions:
- Every key starts with one prefix (``cm:`` unless told otherwise), so one database can hold the state next
  to other data; the key layout of each part is in its module (redis_events, redis_state, redis_notifications,
  redis_alerts).
- Offsets, notification ids, dead-letter ids, episode ids and silence ids come from INCR counters: integers in
  creation order, as in SQLite.
- Whatever must happen together (recording a batch, a detector write with its checkpoint check and messages,
  a claim, the outcome of attempts, a lease) is one Lua script, registered once per store and run by its SHA.
  A script is atomic but has no rollback, so each checks everything before its first write and takes only
  arguments serialized and checked in Python. The scripts name their keys from the prefix (not through KEYS),
  which standalone Redis allows and Redis Cluster does not.
- ``update_alerts`` has a Python callable to run, so it is an optimistic WATCH/MULTI/EXEC loop instead.
- Times are ``monitor.events.sortable_time`` text (fixed width: text order is time order); indexes over them
  are sorted sets read by lexical range (exact, where a float score would round microseconds). Lua compares
  such times byte by byte. Detector expiries are integer scores (exact up to 2**53).
- Durability is the server's: run redis-server with AOF (``appendfsync everysec`` or ``always``) for state
  that survives its restart; the tests run it without persistence.
- The schema version is ``meta.schema_version``; a database marked by a newer release is refused untouched.
"""

from __future__ import annotations

import redis

from monitor.store.base import SCHEMA_VERSION, NewerSchema
from monitor.store.redis_alerts import RedisAlerts
from monitor.store.redis_client import number
from monitor.store.redis_events import RedisEventLog
from monitor.store.redis_notifications import RedisNotifications
from monitor.store.redis_state import RedisDetectorState

OPEN_SCHEMA = """
local p, ours = ARGV[1], tonumber(ARGV[2])
local found = tonumber(redis.call('HGET', p .. 'meta', 'schema_version') or '0')
if found > ours then return found end
redis.call('HSET', p .. 'meta', 'schema_version', ours)
return ours
"""


class RedisStore(RedisEventLog, RedisDetectorState, RedisNotifications, RedisAlerts):
    def __init__(self, url: str, *, prefix: str = "cm:") -> None:
        self._redis = redis.Redis.from_url(url)
        self._prefix = prefix
        self._scripts = {}
        where = self._redis.connection_pool.connection_kwargs
        self._name = f"redis://{where.get('host', '?')}:{where.get('port', '?')}/{where.get('db', 0)} ({prefix}*)"
        try:
            version = int(self.run(OPEN_SCHEMA, [SCHEMA_VERSION]))
        except BaseException:
            self._redis.close()
            raise
        if version > SCHEMA_VERSION:
            self._redis.close()
            raise NewerSchema(f"{self._name} holds state of schema version {version}, written by a newer release "
                              f"of cloud-monitor (this one reads up to {SCHEMA_VERSION}): upgrade cloud-monitor")

    def schema_version(self) -> int:
        return number(self._redis.hget(self.key("meta"), "schema_version"))

    def close(self) -> None:
        self._redis.close()
