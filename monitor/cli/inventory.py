"""``monitor inventory run``: one pass of every inventory input of the config now, printing what changed."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click
import orjson

if TYPE_CHECKING:
    from monitor.events import Event


@click.group()
def inventory() -> None:
    """Pull mode: list cloud resources and record what changed since the last listing."""


@inventory.command("run")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="config file (monitor.yaml)")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def run(config_path: str | None, fmt: str) -> None:
    """List every resource type of the config's inventory inputs once; one line per change found."""
    from monitor.cli.common import load_or_fail
    from monitor.intake.batches import Intake
    from monitor.inventory.source import InventorySource
    from monitor.store import open_store

    config = load_or_fail(config_path)
    settings = [entry for entry in config.inputs if entry.type == "inventory"]
    if not settings:
        raise click.ClickException("no inventory input configured: add one under 'inputs:' (type: inventory)")
    store = open_store(config.state_url())
    failures: list[str] = []
    try:
        intake = Intake(store)
        for entry in settings:
            for done in InventorySource(entry, store).run_once(intake):
                failures += [f"{done.type} {failure}" for failure in done.failures]
                for event in done.events:
                    _print(event, fmt)
    finally:
        store.close()
    if failures:
        raise click.ClickException("inventory failed: " + "; ".join(failures))


def _print(event: Event, fmt: str) -> None:
    if fmt == "json":
        sys.stdout.buffer.write(orjson.dumps(event.to_dict(with_raw=False)) + b"\n")
        return
    unexplained = " unexplained" if event.details.get("unexplained") else ""
    changed = ",".join(event.details.get("changed", []))
    click.echo(f"{event.account} {event.region or '-'} {event.action} {event.resource.kind} {event.resource.id} "
               f"changed={changed}{unexplained}")
