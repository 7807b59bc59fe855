"""The inventory against moto in server mode: the integration tests' ``aws`` fixture, a store, and a pass."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.events import Event
from monitor.intake.batches import Intake
from monitor.inventory.runner import TYPES, Pass, run_pass
from monitor.inventory.sessions import Sessions
from monitor.inventory.settings import InventoryInput
from monitor.store import open_store
from monitor.store.base import Store
from tests.integration.conftest import Aws, aws, moto_endpoint  # noqa: F401  (fixtures)

RULES = Path(__file__).resolve().parents[2] / "rules"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path}/state.db")
    yield opened
    opened.close()


class Inventory:
    """Passes of the inventory over moto, each recorded in the store through the intake."""

    def __init__(self, moto: Aws, store: Store, **settings: Any) -> None:
        self.settings = InventoryInput(endpoint_url=moto.endpoint, regions=[moto.region], **settings)
        self.sessions = Sessions(self.settings)
        self.store = store
        self.intake = Intake(store)

    def run(self, resource_type: str = "aws.s3") -> Pass:
        done = run_pass(TYPES[resource_type], self.settings, self.sessions, self.store, self.intake)
        assert done.failures == []
        return done

    def events(self) -> list[Event]:
        return [stored.event for stored in self.store.read_events()]


@pytest.fixture
def inventory(aws: Aws, store: Store) -> Inventory:  # noqa: F811
    return Inventory(aws, store)
