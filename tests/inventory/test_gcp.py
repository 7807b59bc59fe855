"""Google Cloud: Cloud Storage buckets and Compute Engine instances and firewalls, listed from a stand-in of
their JSON APIs (tests/inventory/gcp_server.py: recorded shapes, two to a page; there is no emulator)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.engine.evaluate import Engine
from monitor.engine.loader import load_rules
from monitor.events import Event
from monitor.intake.batches import Intake
from monitor.inventory.gcp_api import GcpSessions
from monitor.inventory.runner import TYPES, run_pass
from monitor.inventory.settings import InventoryInput
from monitor.store.base import Store
from tests.inventory.conftest import RULES
from tests.inventory.gcp_server import GcpApiServer

PROJECT = "shop-prod-4821"


@pytest.fixture
def gcp() -> Iterator[GcpApiServer]:
    server = GcpApiServer(PROJECT)
    yield server
    server.close()


def _run(settings: InventoryInput, store: Store, name: str) -> list[Event]:
    done = run_pass(TYPES[name], settings, GcpSessions(settings), store, Intake(store))
    assert done.failures == []
    return list(done.events)


def _alerts(store: Store) -> list[tuple[str, str]]:
    events = [stored.event for stored in store.read_events()]
    return sorted((a.rule, str(a.resource["name"])) for a in Engine(load_rules([RULES])).alerts(events))


def test_buckets_made_public_or_shared_are_found(gcp: GcpApiServer, store: Store) -> None:
    settings = InventoryInput(provider="gcp", projects=[PROJECT], endpoint_url=gcp.url)
    for name in ("site-assets", "invoices", "backups"):
        gcp.add_bucket(name)
    assert _run(settings, store, "gcp.storage") == []  # the baseline, two pages

    gcp.policies["site-assets"]["bindings"].append({"role": "roles/storage.objectViewer", "members": ["allUsers"]})
    gcp.policies["invoices"]["bindings"].append(
        {"role": "roles/storage.objectViewer", "members": ["user:eve@evil.example"]})
    gcp.buckets["backups"]["versioning"] = {"enabled": True}
    found = {event.resource.name: event for event in _run(settings, store, "gcp.storage")}
    assert sorted(found) == ["backups", "invoices", "site-assets"]
    public = found["site-assets"]
    assert (public.provider, public.account, public.region, public.service) == ("gcp", PROJECT, "europe-west1",
                                                                                  "storage")
    assert public.resource.id == "//storage.googleapis.com/projects/_/buckets/site-assets"
    assert public.action == "permissions_changed" and public.details["public"] is True
    assert found["invoices"].details["member_domains"] == ["evil.example"]
    assert "public" not in found["backups"].details and found["backups"].action == "modified"
    assert _alerts(store) == [
        ("gcp-storage-bucket-public", "site-assets"), ("gcp-storage-bucket-shared-outside", "invoices"),
        ("monitor-reconciliation", "backups"), ("monitor-reconciliation", "invoices"),
        ("monitor-reconciliation", "site-assets"),
    ]
    assert _run(settings, store, "gcp.storage") == []


def test_instances_and_firewalls_are_found(gcp: GcpApiServer, store: Store) -> None:
    settings = InventoryInput(provider="gcp", projects=[PROJECT], endpoint_url=gcp.url)
    for zone in ("europe-west1-b", "us-central1-a", "us-east1-c"):
        gcp.add_instance(zone, f"web-{zone}")
    gcp.add_firewall("allow-https")
    gcp.add_firewall("allow-ssh-from-office", sourceRanges=["198.51.100.0/24"],
                     allowed=[{"IPProtocol": "tcp", "ports": ["22"]}])
    gcp.add_firewall("allow-db", sourceRanges=["0.0.0.0/0"], allowed=[{"IPProtocol": "tcp", "ports": ["5432"]}],
                     disabled=True)
    assert _run(settings, store, "gcp.compute") == []

    gcp.instances["us-central1-a"][0]["status"] = "TERMINATED"
    gcp.firewalls["allow-ssh-from-office"]["sourceRanges"] = ["0.0.0.0/0"]
    gcp.firewalls["allow-db"]["disabled"] = False
    found = {event.resource.name: event for event in _run(settings, store, "gcp.compute")}
    assert sorted(found) == ["allow-db", "allow-ssh-from-office", "web-us-central1-a"]
    vm = found["web-us-central1-a"]
    assert (vm.action, vm.details["status"], vm.region) == ("state_changed", "TERMINATED", "us-central1")
    assert vm.resource.id == (f"//compute.googleapis.com/projects/{PROJECT}/zones/us-central1-a/instances/"
                              "web-us-central1-a")
    ssh = found["allow-ssh-from-office"]
    assert (ssh.action, ssh.details["open_to_world"], ssh.details["ports"]) == (
        "modified", True, [{"protocol": "tcp", "from": 22, "to": 22}])
    assert [a for a in _alerts(store) if a[0] != "monitor-reconciliation"] == [
        ("gcp-compute-firewall-open-to-world", "allow-db"), ("gcp-compute-firewall-open-to-world",
                                                             "allow-ssh-from-office")]


def test_a_project_that_cannot_be_listed_fails_the_command_and_changes_nothing(
        gcp: GcpApiServer, store: Store, tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text(f"state: sqlite:///{tmp_path}/state.db\ninputs:\n"
                      f"  - {{type: inventory, provider: gcp, projects: [{PROJECT}, unknown-project-1], "
                      f"endpoint_url: '{gcp.url}', resources: {{gcp.storage: {{every: 1h}}}}}}\n")
    gcp.add_bucket("site-assets")
    result = CliRunner().invoke(main, ["inventory", "run", "--config", str(config)])
    assert result.exit_code == 1
    assert "Error: inventory failed: gcp.storage unknown-project-1/global: HTTPError: 404" in result.output
    gcp.policies["site-assets"]["bindings"].append({"role": "roles/storage.objectViewer", "members": ["allUsers"]})
    again = CliRunner().invoke(main, ["inventory", "run", "--config", str(config), "--format", "json"])
    assert again.exit_code == 1
    [line] = again.stdout.splitlines()  # the project that can be listed is, and its change recorded
    assert '"operation":"inventory.permissions_changed"' in line and f'"account":"{PROJECT}"' in line


def test_an_answer_of_the_wrong_shape_fails_the_scope_and_changes_nothing(gcp: GcpApiServer, store: Store) -> None:
    settings = InventoryInput(provider="gcp", projects=[PROJECT], endpoint_url=gcp.url)
    gcp.add_bucket("site-assets")
    assert _run(settings, store, "gcp.storage") == []
    good = dict(gcp.buckets["site-assets"])
    for hostile in ({"iamConfiguration": "oops"}, {"versioning": [1, 2]}, {"name": None}):
        gcp.buckets["site-assets"] = {**good, **hostile}
        done = run_pass(TYPES["gcp.storage"], settings, GcpSessions(settings), store, Intake(store))
        assert (len(done.failures), done.events) == (1, []), hostile
    assert list(store.read_events()) == []
    gcp.buckets["site-assets"] = good
    assert _run(settings, store, "gcp.storage") == []  # the last good listing still stands
