"""The ``ui:`` config section and where the page may listen: a token is required off the loopback."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping

from pydantic import Field, field_validator

from monitor.yamlfiles.models import Closed

DEFAULT_LISTEN = "127.0.0.1:8080"
DEFAULT_TOKEN_ENV = "MONITOR_UI_TOKEN"


class UiError(RuntimeError):
    """The page cannot be served as asked (a public address without a token)."""


class UiSettings(Closed):
    enabled: bool = Field(default=False, description="serve the page from the daemon too (`monitor run`)")
    listen: str = Field(default=DEFAULT_LISTEN, description="HOST:PORT; anything but the loopback needs a token")
    token_env: str = Field(default=DEFAULT_TOKEN_ENV, description="the environment variable holding the token")

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        parse_listen(value)
        return value


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8080`` for IPv6) -> (host, port); raises ValueError."""
    host, colon, port = text.rpartition(":")
    host = host.strip("[]")
    if not colon or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:8080)")
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_token(host: str, token_env: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The token every request must carry (None: none needed, on the loopback without one set).

    Raises UiError for an address off the loopback without a token."""
    token = (os.environ if environ is None else environ).get(token_env, "")
    if token:
        return token
    if not is_loopback(host):
        raise UiError(f"serving on {host} requires a token: set the environment variable {token_env} "
                      f"(or bind to 127.0.0.1)")
    return None
