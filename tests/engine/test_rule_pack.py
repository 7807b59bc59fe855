"""The shipped rule packs validate and pass their own test cases; the runner reports failures usefully."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from monitor.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_rules_validate() -> None:
    result = CliRunner().invoke(main, ["validate", str(ROOT / "rules")])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: ")


def test_shipped_rule_tests_pass() -> None:
    result = CliRunner().invoke(main, ["test", str(ROOT / "rules")])
    assert result.exit_code == 0, result.output
    passed, failed = result.output.strip().splitlines()[-1].split(", ")
    assert failed == "0 failed"
    assert int(passed.split()[0]) >= 30


def test_a_failing_case_names_rule_event_and_difference(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        "rules:\n"
        "  - {id: bucket-deleted, title: Bucket deleted, severity: high, match: {operation: [DeleteBucket]}}\n"
    )
    sample = json.loads((ROOT / "rules/aws/samples/cloudtrail_s3_deletebucket_panther.json").read_text())
    (tmp_path / "r.tests.yaml").write_text(
        "tests:\n"
        "  - name: wrong severity\n"
        f"    events: [{json.dumps(sample)}]\n"
        "    expect: [{rule: bucket-deleted, severity: low}]\n"
        "  - name: expects nothing\n"
        f"    events: [{json.dumps(sample)}]\n"
        "    expect: []\n"
    )
    result = CliRunner().invoke(main, ["test", str(tmp_path)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == f"FAIL {tmp_path}/r.tests.yaml:2:5: wrong severity"
    assert lines[1] == "    rule bucket-deleted: severity: expected 'low', got 'high'"
    assert lines[2] == f"FAIL {tmp_path}/r.tests.yaml:5:5: expects nothing"
    assert lines[3].startswith("    rule bucket-deleted: unexpected alert on arn:aws:s3:::")
    assert lines[-1] == "0 passed, 2 failed"


def test_evaluate_prints_alerts_as_json_lines() -> None:
    sample = ROOT / "rules/aws/samples/handmade_putbucketacl_public_read.json"
    result = CliRunner().invoke(main, ["evaluate", "--rules", str(ROOT / "rules"), str(sample)])
    assert result.exit_code == 0, result.output
    [alert] = [json.loads(line) for line in result.output.splitlines()]
    assert alert["rule"] == "aws-s3-bucket-public-acl"
    assert alert["severity"] == "critical"
    assert alert["count"] == 1
    assert alert["event_ids"] == ["handmade-public-acl-0001"]
    assert alert["resource"]["id"] == "arn:aws:s3:::bucket"
    assert set(alert) >= {"rule", "title", "severity", "fingerprint", "group", "event_ids", "first_seen",
                          "last_seen", "count", "resource"}
