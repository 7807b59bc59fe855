"""``monitor sigma``: Sigma rules written for these tests converted through pySigma; the converted rules load,
and raise alerts on the events the Sigma rules describe and on nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from monitor.adapters import normalize
from monitor.cli import main
from monitor.engine.evaluate import Engine
from monitor.engine.loader import load_rules
from monitor.sigma.convert import convert_paths
from tests.rules import payloads as p

RULES = Path(__file__).parent / "rules"
MALLORY = p.user("mallory")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    out = tmp_path_factory.mktemp("sigma") / "converted.yaml"
    result = CliRunner().invoke(main, ["sigma", str(RULES), "--output", str(out)])
    assert result.exit_code == 0, result.output
    return Engine(load_rules([out]))


def _eventbridge(record: dict[str, Any]) -> dict[str, Any]:
    return {"version": "0", "id": "eb-" + record["eventID"], "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.ec2", "account": p.ACCOUNT, "time": record["eventTime"], "region": "eu-west-1",
            "resources": [], "detail": record}


SHARE = p.cloudtrail("ModifySnapshotAttribute", "ec2", p.at(10), MALLORY,
                     {"snapshotId": "snap-0a1", "attributeType": "CREATE_VOLUME_PERMISSION",
                      "createVolumePermission": {"add": {"items": [{"userId": "999988887777"}]}}})
CASES = [
    pytest.param(SHARE, ["sigma-aws_snapshot_shared"], id="snapshot-shared"),
    pytest.param(_eventbridge(SHARE), ["sigma-aws_snapshot_shared"], id="snapshot-shared-through-eventbridge"),
    pytest.param(p.cloudtrail("ModifySnapshotAttribute", "ec2", p.at(11), MALLORY,
                              {"snapshotId": "snap-0a1", "attributeType": "CREATE_VOLUME_PERMISSION"},
                              error="UnauthorizedOperation"), [], id="refused-share-filtered"),
    pytest.param(p.cloudtrail("ModifySnapshotAttribute", "ec2", p.at(12), MALLORY,
                              {"snapshotId": "snap-0a1", "attributeType": "CREATE_VOLUME_PERMISSION"}, ip="10.1.2.3"),
                 [], id="share-from-the-vpc-filtered"),
    pytest.param(p.cloudtrail("ModifySnapshotAttribute", "ec2", p.at(13), MALLORY,
                              {"snapshotId": "snap-0a1", "attributeType": "PRODUCT_CODES"}), [], id="other-attribute"),
    pytest.param(p.s3_call("DeleteBucket", p.at(20), MALLORY, "invoices"), ["sigma-aws_bucket_deleted_by_hand"],
                 id="bucket-deleted"),
    pytest.param(p.s3_call("DeleteBucket", p.at(21), MALLORY, "review-42", agent=p.TERRAFORM), [],
                 id="terraform-filtered"),
    pytest.param(p.s3_call("DeleteBucketPolicy", p.at(22), MALLORY, "invoices"), [], id="policy-deletion-filtered"),
    pytest.param(p.gcp_entry("v1.compute.firewalls.insert", f"projects/{p.PROJECT}/global/firewalls/fw",
                             p.at(30), "ops@example.com", service_name="compute.googleapis.com"),
                 ["sigma-gcp_firewall_inserted"], id="firewall-any-version"),
    pytest.param(p.gcp_entry("v1.compute.firewalls.delete", f"projects/{p.PROJECT}/global/firewalls/fw",
                             p.at(31), "ops@example.com", service_name="compute.googleapis.com"), [],
                 id="firewall-deleted-not-listed"),
    pytest.param(p.gcp_entry("google.iam.admin.v1.DeleteServiceAccount", f"projects/{p.PROJECT}/serviceAccounts/x",
                             p.at(32), "ops@example.com", service_name="iam.googleapis.com"), [],
                 id="other-method-name"),
    pytest.param(p.gcp_entry("iam.serviceAccounts.delete", f"projects/{p.PROJECT}/serviceAccounts/x",
                             p.at(33), "ops@example.com", service_name="iam.googleapis.com"),
                 ["sigma-gcp_service_account_deleted"], id="service-account-deleted"),
]


@pytest.mark.parametrize(("payload", "rules"), CASES)
def test_converted_rules_alert_as_the_sigma_rules_say(engine: Engine, payload: dict[str, Any],
                                                      rules: list[str]) -> None:
    assert sorted(alert.rule for alert in engine.alerts(normalize(payload))) == rules


def test_what_cannot_be_converted_is_named_with_the_reason() -> None:
    result = convert_paths([RULES])
    assert sorted(rule["id"] for rule in result.rules) == [
        "sigma-aws_bucket_deleted_by_hand", "sigma-aws_snapshot_shared", "sigma-gcp_firewall_inserted",
        "sigma-gcp_service_account_deleted"]
    assert [problem.removeprefix(f"{RULES}/") for problem in result.problems] == [
        "aws_role_session_regex.yml: Regex Only: a regular expression on userIdentity.arn (EventBridge patterns have "
        "none)",
        "windows_process.yml: Not A Cloud Rule: log source windows/None is not aws/cloudtrail or gcp/gcp.audit",
    ]


def test_a_converted_rule_keeps_the_sigma_metadata_and_filters() -> None:
    [rule] = [r for r in convert_paths([RULES / "aws_snapshot_shared.yml"]).rules]
    assert (rule["title"], rule["severity"]) == ("EBS Snapshot Shared With Another Account", "high")
    assert rule["tags"] == ["sigma", "attack.exfiltration", "attack.t1537"]
    assert rule["description"].endswith("(Sigma rule 0b6f2f5e-2d0c-4c5e-9a8e-6f2c1c5d7e01)")
    assert [e["match"] for e in rule["exceptions"]] == [
        {"details": {"error_code": [{"exists": True}]}}, {"actor": {"ip": [{"cidr": "10.0.0.0/8"}]}}]


def test_the_command_prints_the_rule_file_and_reports_to_stderr() -> None:
    result = CliRunner().invoke(main, ["sigma", str(RULES / "aws_role_session_regex.yml")])
    assert result.exit_code == 1
    assert "cannot convert" in result.output and "0 converted, 1 not converted" in result.output
    ok = CliRunner().invoke(main, ["sigma", str(RULES / "gcp_firewall_inserted.yml")])
    assert ok.exit_code == 0
    assert ok.output.startswith("# Converted from Sigma") and "id: sigma-gcp_firewall_inserted" in ok.output
