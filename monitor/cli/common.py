"""What the commands share: reading the config with errors for a person, and times given on the command line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import click

from monitor.config import ConfigError, load_config


def parse_since(value: str | None) -> datetime | None:
    """An ISO time or a duration back from now (``30m``, ``2h``, ``7d``)."""
    if value is None:
        return None
    from monitor.events import parse_time
    from monitor.yamlfiles.durations import parse_duration

    try:
        return datetime.now(UTC) - timedelta(seconds=parse_duration(value))
    except ValueError:
        pass
    try:
        return parse_time(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is neither a time (2026-01-31T12:00:00Z) nor a duration (2h)") from None


def load_or_fail(config_path: str | None) -> Any:
    try:
        return load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(f"invalid config\n{exc}") from None
