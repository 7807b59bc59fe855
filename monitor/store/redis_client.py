"""What every part of the Redis store shares: one client, one key prefix, Lua scripts registered once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis
from redis.commands.core import Script

# Lua compares sortable times (fixed width, see monitor.events.sortable_time) byte by byte: its own string
# comparison follows the server's collation locale, which need not be byte order.
TIME_LUA = """
local function at_or_before(a, b)
  for i = 1, #a do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return true
end
local function later(a, b)
  if a == '' then return b end
  if b == '' or at_or_before(b, a) then return a end
  return b
end
"""


def text(value: bytes | str | None) -> str | None:
    """A reply as text (the client hands out bytes: bodies are binary)."""
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else value


def number(value: object, default: int = 0) -> int:
    """An integer reply (or a counter not created yet: ``default``)."""
    if value is None:
        return default
    if isinstance(value, bytes | str | int):
        return int(value)
    raise TypeError(f"not an integer reply: {type(value).__name__}")


def blob(value: object) -> bytes:
    """A bulk reply as the bytes it is (the client decodes nothing)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    raise TypeError(f"not a bulk reply: {type(value).__name__}")


class RedisPart:
    """A mixin of RedisStore: ``_redis`` and ``_prefix`` are set by RedisStore before any call."""

    _redis: redis.Redis
    _prefix: str
    _scripts: dict[str, Script]

    def key(self, *parts: str | int) -> str:
        return self._prefix + ":".join(str(part) for part in parts)

    def run(self, source: str, args: Sequence[str | bytes | int]) -> Any:
        """Run a Lua script (loaded on first use, then called by its SHA) with the prefix as ARGV[1]."""
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = self._redis.register_script(source)
        return script(keys=[], args=[self._prefix, *args])
