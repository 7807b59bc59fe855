"""The input in the daemon: APScheduler lists each type on its own schedule until the input is stopped."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from monitor.intake.batches import Intake
from monitor.inventory.settings import InventoryInput
from monitor.inventory.source import InventorySource
from monitor.store.base import Store
from tests.integration.conftest import Aws


def test_each_type_is_listed_on_its_schedule_until_stopped(aws: Aws, store: Store) -> None:
    settings = InventoryInput(endpoint_url=aws.endpoint, regions=[aws.region],
                              resources={"aws.s3": {"every": "1s"}, "aws.dynamodb": {"every": "1h"}})
    source = InventorySource(settings, store)
    assert source.name == "inventory:aws.s3,aws.dynamodb"
    aws.client("s3").create_bucket(Bucket="watched")
    stop = threading.Event()
    runner = threading.Thread(target=source.run, args=(Intake(store), stop, False))
    runner.start()
    try:
        deadline = time.monotonic() + 20
        scopes = [("inventory:aws.s3", f"{aws.account}/global"), ("inventory:aws.dynamodb", f"{aws.account}/us-east-1")]
        while any(store.load_document(*scope) is None for scope in scopes):  # each type's first pass, at start
            assert time.monotonic() < deadline, "no first pass"
            time.sleep(0.1)
        aws.client("s3").put_bucket_versioning(Bucket="watched", VersioningConfiguration={"Status": "Enabled"})
        while not list(store.read_events()):  # a later pass finds it
            assert time.monotonic() < deadline, "the change was not found"
            time.sleep(0.1)
    finally:
        stop.set()
        runner.join(timeout=20)
    assert not runner.is_alive()
    [stored] = store.read_events()
    assert (stored.event.resource.name, stored.event.details["changed"]) == ("watched", ["versioning"])


def test_in_a_fleet_one_daemon_lists_each_type(aws: Aws, store: Store) -> None:
    settings = InventoryInput(endpoint_url=aws.endpoint, regions=[aws.region], resources={"aws.s3": {"every": "15m"}})
    first, second = InventorySource(settings, store), InventorySource(settings, store)
    [kind] = first.kinds()
    s3, stop = aws.client("s3"), threading.Event()
    s3.create_bucket(Bucket="watched")
    first._scheduled(kind, Intake(store), stop)  # the baseline, under the lease
    s3.put_bucket_versioning(Bucket="watched", VersioningConfiguration={"Status": "Enabled"})
    second._scheduled(kind, Intake(store), stop)  # the other daemon's pass: the lease is held, nothing listed
    assert list(store.read_events()) == []
    first._scheduled(kind, Intake(store), stop)
    assert [stored.event.details["changed"] for stored in store.read_events()] == [["versioning"]]
    holder = store.lease_holder("inventory:aws.s3")
    assert holder is not None and holder[0] == first.worker


def test_a_type_waiting_behind_a_long_pass_still_gets_its_run(aws: Aws, store: Store,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """APScheduler drops a run later than its misfire grace (1 s by default); one worker runs the passes in turn."""
    from monitor.inventory import source as source_module

    real, started = source_module.run_pass, []

    def slow_first(*args: Any, **kwargs: Any) -> Any:
        started.append(args[0].name)
        if len(started) == 1:
            time.sleep(2.5)  # the other type, due at start too, waits longer than the default grace
        return real(*args, **kwargs)

    monkeypatch.setattr(source_module, "run_pass", slow_first)
    settings = InventoryInput(endpoint_url=aws.endpoint, regions=[aws.region],
                              resources={"aws.s3": {"every": "1h"}, "aws.dynamodb": {"every": "1h"}})
    stop = threading.Event()
    runner = threading.Thread(target=InventorySource(settings, store).run, args=(Intake(store), stop, False))
    runner.start()
    try:
        deadline = time.monotonic() + 20
        while len(started) < 2:
            assert time.monotonic() < deadline, f"only {started} ran"
            time.sleep(0.1)
    finally:
        stop.set()
        runner.join(timeout=20)
    assert sorted(started) == ["aws.dynamodb", "aws.s3"]
