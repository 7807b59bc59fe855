"""deploy/aws: the SAM template is clean under cfn-lint and holds the table the store would create; the zip the
build makes imports and handles an event in an interpreter that sees nothing but the zip (slow: it pip-installs
every dependency for the Lambda platform)."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import uuid
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.decode import decode

from monitor.store import open_store
from tests.notify.receivers import HttpReceiver
from tests.serverless.conftest import sqs_batch
from tests.store.dynamodb_server import FAKE_AWS_ENV, REGION, DynamoServer

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "aws"
_spec = importlib.util.spec_from_file_location("deploy_aws_build", DEPLOY / "build.py")
assert _spec is not None and _spec.loader is not None
build = importlib.util.module_from_spec(_spec)  # deploy/aws/build.py is a script, not a package
_spec.loader.exec_module(build)


def template() -> Any:
    found, problems = decode(str(DEPLOY / "template.yaml"))
    assert problems == []
    return found


def test_the_template_passes_cfn_lint() -> None:
    linter = Path(sys.executable).with_name("cfn-lint")
    done = subprocess.run([str(linter), str(DEPLOY / "template.yaml")], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_the_templates_table_is_the_one_the_store_creates(moto: DynamoServer) -> None:
    table = f"cm-{uuid.uuid4().hex[:8]}"
    open_store(moto.url(table)).close()
    described = moto.client().describe_table(TableName=table)["Table"]
    declared = template()["Resources"]["StateTable"]["Properties"]

    assert sorted(map(dict, declared["AttributeDefinitions"]), key=str) == sorted(
        described["AttributeDefinitions"], key=str)
    assert [dict(k) for k in declared["KeySchema"]] == described["KeySchema"]
    [index] = described["GlobalSecondaryIndexes"]
    [declared_index] = declared["GlobalSecondaryIndexes"]
    assert (declared_index["IndexName"], [dict(k) for k in declared_index["KeySchema"]],
            dict(declared_index["Projection"])) == (index["IndexName"], index["KeySchema"], index["Projection"])
    ttl = moto.client().describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert declared["TimeToLiveSpecification"]["AttributeName"] == ttl["AttributeName"]


def test_the_function_reads_the_queue_with_partial_batch_responses_and_ticks_every_minute() -> None:
    function = template()["Resources"]["MonitorFunction"]["Properties"]
    assert function["Handler"] == "monitor.serverless.aws.handler"
    assert function["Runtime"] == f"python{build.RUNTIME}"
    assert function["Events"]["Queue"]["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert function["Events"]["Tick"]["Properties"]["Schedule"] == "rate(1 minute)"
    assert set(function["Environment"]["Variables"]) == {
        "MONITOR_CONFIG", "MONITOR_TABLE", "MONITOR_DESTINATIONS_PARAMETER", "PYDANTIC_DISABLE_PLUGINS"}
    config = (DEPLOY / "config" / "monitor.yaml").read_text()
    assert all(f"${{env:{name}}}" in config for name in ("MONITOR_TABLE", "MONITOR_DESTINATIONS_PARAMETER"))


def public_acl_batch() -> dict[str, Any]:
    """A CloudTrail PutBucketAcl (public-read) as EventBridge puts it on the queue, in a Lambda SQS batch."""
    call = json.loads((ROOT / "rules/aws/samples/handmade_putbucketacl_public_read.json").read_text())
    call["eventTime"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    envelope = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "AWS API Call via CloudTrail",
                "source": "aws.s3", "account": call.get("recipientAccountId", "123456789012"),
                "time": call["eventTime"], "region": REGION, "resources": [], "detail": call}
    return sqs_batch(json.dumps(envelope))


HANDLE = """\
import json, sys
import monitor
from monitor.serverless import aws, runtime
answer = aws.handler(json.load(open(sys.argv[1])), None)
warm = runtime.runtime()
warm.alerting.drain()  # the config's group_wait is 30s: queue the group now, as `monitor run --once` would
warm.tick()
print(json.dumps({"answer": answer, "monitor": monitor.__file__, "events": len(list(warm.store.read_events(after=0))),
                  "modules": sorted(m for m in sys.modules if m.split(".")[0] in ("google", "apscheduler"))}))
"""


@pytest.mark.timeout(1200)
def test_slow_the_built_zip_imports_and_handles_an_event_with_nothing_else_on_the_path(
        moto: DynamoServer, tmp_path: Path, chat: HttpReceiver) -> None:
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    archive = build.build(tmp_path / "function.zip", python=python)
    task_root = tmp_path / "task"
    with zipfile.ZipFile(archive) as opened:
        assert "monitor/serverless/aws.py" in opened.namelist()
        assert "rules/aws/s3.yaml" in opened.namelist() and "alerts/default.txt.j2" in opened.namelist()
        opened.extractall(task_root)
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=moto.endpoint)
    s3.create_bucket(Bucket="monitor-config")
    for path in (DEPLOY / "config").rglob("*.yaml"):
        s3.upload_file(str(path), "monitor-config", f"cloud-monitor/{path.relative_to(DEPLOY / 'config')}")
    ssm = boto3.client("ssm", region_name=REGION, endpoint_url=moto.endpoint)
    ssm.put_parameter(Name="/cloud-monitor/destinations/chat", Value=chat.url(), Type="SecureString")
    event = tmp_path / "event.json"
    event.write_text(json.dumps(public_acl_batch()))
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    environment = {**FAKE_AWS_ENV, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(task_root), "AWS_REGION": REGION,
                   "AWS_ENDPOINT_URL": moto.endpoint, "LAMBDA_TASK_ROOT": str(task_root),
                   "MONITOR_CONFIG": "s3://monitor-config/cloud-monitor/monitor.yaml",
                   "MONITOR_TABLE": f"cm-{uuid.uuid4().hex[:8]}",
                   "MONITOR_DESTINATIONS_PARAMETER": "/cloud-monitor/destinations/chat"}

    # -S: no site-packages (neither the venv's nor the interpreter's); the zip is all there is.
    done = subprocess.run([sys.executable, "-S", "-c", HANDLE, str(event)], cwd=workdir, env=environment,
                          capture_output=True, text=True, timeout=300, check=False)

    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["answer"] == {"batchItemFailures": []}
    assert found["monitor"].startswith(str(task_root))
    assert found["events"] == 1
    assert found["modules"] == []  # no Google client or scheduler on the function's path
    assert chat.wait_for(1)
    assert "public" in json.dumps(chat.received[0].json()).lower()


def test_the_readmes_aws_steps_match_the_template_and_the_build() -> None:
    readme = (ROOT / "README.md").read_text()
    part = readme[readme.index("### AWS Lambda\n"):readme.index("### Google Cloud Functions\n")]
    steps = re.sub(r"\\\n\s*", " ", re.findall(r"```sh\n(.*?)```", part, re.DOTALL)[0])
    parameters = template()["Parameters"]
    overrides = dict(re.findall(r"(\w+)=(\S+)", steps.split("--parameter-overrides")[1]))
    assert set(overrides) == {name for name, spec in parameters.items() if "Default" not in spec}
    assert f"--name {parameters['DestinationsParameter']['Default']} " in steps
    assert f"s3://{overrides['ConfigBucket']}/{parameters['ConfigPrefix']['Default']}" in steps
    code_uri = template()["Resources"]["MonitorFunction"]["Properties"]["CodeUri"]
    assert (DEPLOY / code_uri).resolve() == build.ROOT / "dist" / "cloud-monitor-lambda.zip"
    assert f"python{build.RUNTIME} deploy/aws/build.py" in steps
