"""Reconciliation through the daemon and the command line: a change whose pushed event reached the log is
explained; once the notifications stop (the EventBridge rule deleted), a change the inventory finds raises
"changed without a notification" beside the rule the pushed event would have raised."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from monitor import daemon
from monitor.cli import main
from monitor.config import load_config
from monitor.store import open_store
from tests.integration.conftest import Aws
from tests.inventory.conftest import RULES


def _write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def _configs(tmp_path: Path, aws: Aws, queue_url: str) -> tuple[str, str]:
    common = (f"state: sqlite:///{tmp_path}/state.db\n"
              f"rules: [{RULES}/aws, {RULES}/monitor]\n")
    pushed = _write(tmp_path / "pushed.yaml", common + "inputs:\n"
                    f"  - {{type: aws.sqs, queue_url: '{queue_url}', endpoint_url: '{aws.endpoint}', "
                    f"region: {aws.region}, wait_time_seconds: 0}}\n")
    pulled = _write(tmp_path / "inventory.yaml", common + "inputs:\n"
                    f"  - {{type: inventory, endpoint_url: '{aws.endpoint}', regions: [{aws.region}], "
                    "resources: {aws.s3: {every: 15m}}}\n")
    return pushed, pulled


def _cloudtrail_acl(bucket: str, account: str) -> dict[str, Any]:
    """The CloudTrail record of PutBucketAcl public-read, as EventBridge carries it in ``detail``."""
    return {
        "eventVersion": "1.09", "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "s3.amazonaws.com", "eventName": "PutBucketAcl",
        "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.7", "userAgent": "aws-cli/2",
        "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{account}:user/alice", "accountId": account},
        "requestParameters": {"bucketName": bucket, "x-amz-acl": ["public-read"]},
        "eventID": str(uuid.uuid4()), "eventType": "AwsApiCall", "recipientAccountId": account, "readOnly": False,
    }


def _api_call(events: Any, bucket: str, account: str) -> None:
    """What AWS does on the call: the CloudTrail event goes onto the default bus, for the rules there to route
    (moto does not emit it by itself, so the test puts it)."""
    answer = events.put_events(Entries=[{"Source": "aws.s3", "DetailType": "AWS API Call via CloudTrail",
                                         "Detail": json.dumps(_cloudtrail_acl(bucket, account))}])
    assert answer["FailedEntryCount"] == 0


def _inventory(config: str) -> list[str]:
    result = CliRunner().invoke(main, ["inventory", "run", "--config", config])
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def _alerts(tmp_path: Path) -> list[tuple[str, str]]:
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    try:
        return sorted((alert.rule, alert.resource["name"]) for alert in store.list_alerts())
    finally:
        store.close()


def test_a_change_without_its_notification_is_caught_by_reconciliation(tmp_path: Path, aws: Aws) -> None:
    queue_url, queue_arn = aws.create_queue("trail-events")
    pushed, pulled = _configs(tmp_path, aws, queue_url)
    s3, events = aws.client("s3"), aws.client("events")
    events.put_rule(Name="s3-calls", EventPattern=json.dumps({"source": ["aws.s3"]}))
    events.put_targets(Rule="s3-calls", Targets=[{"Id": "monitor", "Arn": queue_arn}])
    for bucket in ("wired", "unwired"):
        s3.create_bucket(Bucket=bucket)
    assert _inventory(pulled) == []  # the baseline

    s3.put_bucket_acl(Bucket="wired", ACL="public-read")  # notified: the rule delivers to the queue
    _api_call(events, "wired", aws.account)
    assert aws.messages_left(queue_url) == 1
    daemon.run(load_config(pushed), once=True)
    assert _alerts(tmp_path) == [("aws-s3-bucket-public-acl", "wired")]
    [line] = _inventory(pulled)
    assert line.startswith(f"{aws.account} us-east-1 permissions_changed bucket arn:aws:s3:::wired changed=acl,")
    assert not line.endswith("unexplained")

    # The EventBridge rule is deleted: nothing arrives any more; the next change is found only by the inventory.
    events.remove_targets(Rule="s3-calls", Ids=["monitor"])
    events.delete_rule(Name="s3-calls")
    s3.put_bucket_acl(Bucket="unwired", ACL="public-read")
    _api_call(events, "unwired", aws.account)
    assert aws.messages_left(queue_url) == 0
    [line] = _inventory(pulled)
    assert line.startswith(f"{aws.account} us-east-1 permissions_changed bucket arn:aws:s3:::unwired changed=acl,")
    assert line.endswith(" unexplained")
    daemon.run(load_config(pushed), once=True)
    assert _alerts(tmp_path) == [("aws-s3-bucket-public-acl", "unwired"), ("aws-s3-bucket-public-acl", "wired"),
                                 ("monitor-reconciliation", "unwired")]
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    [alert] = store.list_alerts(rule="monitor-reconciliation")
    store.close()
    assert alert.title == "unwired permissions_changed without a notification (acl, acl_public, public_reasons)"
    assert alert.severity == "high"


def test_run_once_with_an_inventory_input_raises_the_rules(tmp_path: Path, aws: Aws) -> None:
    _, pulled = _configs(tmp_path, aws, "unused")
    aws.client("s3").create_bucket(Bucket="quiet")
    daemon.run(load_config(pulled), once=True)
    assert _alerts(tmp_path) == []
    aws.client("s3").put_bucket_policy(Bucket="quiet", Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "everyone", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                       "Resource": "arn:aws:s3:::quiet/*"}]}))
    daemon.run(load_config(pulled), once=True)
    assert _alerts(tmp_path) == [("aws-s3-bucket-public-policy", "quiet"), ("monitor-reconciliation", "quiet")]
    daemon.run(load_config(pulled), once=True)  # nothing changed: nothing new
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    events = [stored.event for stored in store.read_events()]
    store.close()
    assert [(e.operation, e.details["changed"]) for e in events] == [
        ("inventory.permissions_changed", ["policy", "policy_public", "public_reasons"])]
    assert events[0].details["public_reasons"] == ["policy statement everyone allows everyone"]
