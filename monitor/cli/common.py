"""What the commands share: reading the config (or only its state) with errors for a person, and times given on
the command line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from monitor.config import DEFAULT_CONFIG, DEFAULT_STATE, Config, ConfigError, load_config


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


def state_url(config_path: str | None) -> str:
    """The state the config names, for the commands that only read or write the state (``alerts list``,
    ``events``, ``dead-letters``...): the rest of the config, the inputs' ``${env:...}`` among it, is not
    needed, so its errors do not stop them; an error in ``state:`` itself does."""
    try:
        return str(load_config(config_path).state_url())
    except ConfigError as exc:
        return _state_only(exc, config_path)


def _state_only(exc: ConfigError, config_path: str | None) -> str:
    doc = exc.document
    data = doc.data if doc is not None else None
    if doc is None or not isinstance(data, dict) or not isinstance(data.get("state", DEFAULT_STATE), str):
        raise click.ClickException(f"invalid config\n{exc}")
    at_state = doc.locate(("state",)) if "state" in data else None
    if at_state is not None and any(error.location == at_state for error in exc.errors):
        lines = "\n".join(str(error) for error in exc.errors if error.location == at_state)
        raise click.ClickException(f"invalid config\n{lines}")
    base_dir = str(Path(config_path or DEFAULT_CONFIG).parent)
    return Config(state=data.get("state", DEFAULT_STATE), base_dir=base_dir).state_url()
