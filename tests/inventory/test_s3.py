"""S3 buckets found changed by the inventory: the same rules as the pushed events, and reconciliation."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest

from monitor.engine.evaluate import Engine
from monitor.engine.loader import load_rules
from monitor.inputs.base import Message
from monitor.intake.batches import Intake
from monitor.inventory.aws_s3 import S3
from monitor.inventory.runner import run_pass
from monitor.observe.metrics import Metrics
from tests.integration.conftest import Aws
from tests.inventory.conftest import RULES, Inventory


def test_a_bucket_made_public_by_api_raises_the_public_acl_rule_and_reconciliation(
        aws: Aws, inventory: Inventory, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="monitor.inventory")
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="quiet-bucket")
    first = inventory.run()
    assert (first.seen, first.baselines, first.events) == (1, 1, [])

    s3.put_bucket_acl(Bucket="quiet-bucket", ACL="public-read")
    found = inventory.run()
    [event] = found.events
    assert event.action == "permissions_changed"
    assert event.operation == "inventory.permissions_changed"
    assert event.resource.id == "arn:aws:s3:::quiet-bucket"
    assert "acl" in event.details["changed"]
    assert event.details["public"] is True and event.details["unexplained"] is True
    assert event.details["before"]["acl_public"] is False and event.details["after"]["acl_public"] is True
    assert inventory.events() == [event]

    alerts = Engine(load_rules([RULES])).alerts(inventory.events())
    assert sorted(alert.rule for alert in alerts) == ["aws-s3-bucket-public-acl", "monitor-reconciliation"]
    assert inventory.run().events == []
    assert [r.getMessage() for r in caplog.records if r.name == "monitor.inventory.runner"] == [
        "inventory aws.s3: 1 resources in 1 scope(s), 0 change(s) (0 unexplained), 1 first listing(s) kept as the "
        "baseline",
        "inventory aws.s3: 1 resources in 1 scope(s), 1 change(s) (1 unexplained)",
        "inventory aws.s3: 1 resources in 1 scope(s), 0 change(s) (0 unexplained)",
    ]


def test_a_pass_cut_short_after_recording_records_nothing_twice(aws: Aws, inventory: Inventory) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="kept")
    s3.create_bucket(Bucket="dropped")
    inventory.run()
    s3.put_bucket_versioning(Bucket="kept", VersioningConfiguration={"Status": "Enabled"})
    s3.delete_bucket(Bucket="dropped")

    def record_then_die(messages: Sequence[Message]) -> None:
        inventory.intake(messages)
        raise ConnectionError("killed before the listing was remembered")

    cut = run_pass(S3, inventory.settings, inventory.sessions, inventory.store, record_then_die)
    assert len(cut.failures) == 1 and "ConnectionError" in cut.failures[0]
    assert len(inventory.events()) == 2
    again = inventory.run()
    assert sorted(e.id for e in again.events) == sorted(e.id for e in inventory.events())
    assert inventory.intake.duplicates == 2 and len(inventory.events()) == 2
    assert inventory.run().events == []
    assert sorted((e.resource.name, e.action) for e in inventory.events()) == [
        ("dropped", "deleted"), ("kept", "modified")]


def test_lost_protections_found_raise_their_rules(aws: Aws, inventory: Inventory) -> None:
    s3 = aws.client("s3")
    for bucket in ("audit-logs", "records", "doomed"):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_encryption(Bucket="records", ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]})
    s3.put_bucket_acl(Bucket="audit-logs", ACL="log-delivery-write")  # the log delivery group may write there
    s3.put_bucket_logging(Bucket="records", BucketLoggingStatus={
        "LoggingEnabled": {"TargetBucket": "audit-logs", "TargetPrefix": "records/"}})
    s3.put_public_access_block(Bucket="records", PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    inventory.run()

    s3.delete_bucket_encryption(Bucket="records")
    s3.put_bucket_logging(Bucket="records", BucketLoggingStatus={})
    s3.delete_public_access_block(Bucket="records")
    s3.put_bucket_lifecycle_configuration(Bucket="audit-logs", LifecycleConfiguration={"Rules": [
        {"ID": "short", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}}]})
    s3.delete_bucket(Bucket="doomed")
    found = {event.resource.name: event for event in inventory.run().events}
    assert found["records"].details["changed"] == ["encryption", "logging", "public_access_block"]
    assert found["records"].action == "permissions_changed"
    assert found["audit-logs"].details["expiration_days"] == 1
    alerts = sorted((alert.rule, str(alert.resource["name"]))
                    for alert in Engine(load_rules([RULES])).alerts(inventory.events()))
    assert alerts == [
        ("aws-s3-bucket-deleted", "doomed"), ("aws-s3-bucket-encryption-removed", "records"),
        ("aws-s3-bucket-logging-disabled", "records"), ("aws-s3-log-bucket-short-expiry", "audit-logs"),
        ("aws-s3-public-access-block-removed", "records"), ("monitor-reconciliation", "audit-logs"),
        ("monitor-reconciliation", "doomed"), ("monitor-reconciliation", "records"),
    ]


def test_found_changes_count_in_the_metrics_under_source_inventory(aws: Aws, inventory: Inventory) -> None:
    metrics = Metrics(inventory.store)
    inventory.intake = Intake(inventory.store, observer=metrics)
    aws.client("s3").create_bucket(Bucket="counted")
    inventory.run()
    aws.client("s3").put_bucket_versioning(Bucket="counted", VersioningConfiguration={"Status": "Enabled"})
    inventory.run()
    labels = {"source": "inventory", "provider": "aws", "kind": "bucket"}
    assert metrics.registry.get_sample_value("monitor_events_recorded_total", labels) == 1
    assert metrics.registry.get_sample_value("monitor_messages_total", {"source": "inventory"}) == 1
