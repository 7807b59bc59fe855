"""The ``metrics:`` section of the config: where the metrics and health endpoint listens."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, Field

from monitor.yamlfiles.models import Closed

DEFAULT_LISTEN = "127.0.0.1:9464"
C = TypeVar("C", bound=BaseModel)


def parse_listen(text: str) -> tuple[str, int]:
    """``("127.0.0.1", 9464)`` for ``127.0.0.1:9464``; ``[::1]:9464`` for IPv6; raises ValueError."""
    host, colon, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"{text!r} is not HOST:PORT (e.g. {DEFAULT_LISTEN}; port 0 takes a free one)")
    return host, int(port)


def check_listen(text: str) -> str:
    parse_listen(text)
    return text


class MetricsSettings(Closed):
    listen: Annotated[str, AfterValidator(check_listen)] = Field(
        default=DEFAULT_LISTEN,
        description="HOST:PORT of /metrics, /healthz and /readyz; on localhost unless you choose otherwise")


def listen_option(_context: Any, _parameter: Any, value: str | None) -> str | None:
    """The click callback of ``monitor run --metrics-listen``."""
    import click  # only the command line needs it

    if value is not None:
        try:
            parse_listen(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


def with_metrics(config: C, listen: str | None) -> C:
    """``config`` with its endpoint at ``listen`` (``--metrics-listen``), when given."""
    return config if listen is None else config.model_copy(update={"metrics": MetricsSettings(listen=listen)})
