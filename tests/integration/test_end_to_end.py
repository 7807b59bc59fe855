"""Real parts end to end: moto notifications -> `monitor run --once` -> rules -> Apprise -> SMTP and chat."""

from __future__ import annotations

import json
from pathlib import Path

from monitor import daemon
from monitor.config import load_config
from monitor.store import SqliteStore
from tests.integration.conftest import Aws
from tests.notify.receivers import HttpReceiver, SmtpReceiver

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "e2e-reports"
DELETIONS = 100


def write_setup(folder: Path, aws: Aws, queue_url: str, chat: HttpReceiver, smtp: SmtpReceiver) -> Path:
    (folder / "rules").mkdir()
    (folder / "rules" / "objects.yaml").write_text(
        "rules:\n"
        "  - id: s3-object-deleted\n"
        "    title: S3 object deleted\n"
        "    severity: medium\n"
        "    match: {provider: [aws], resource: {kind: [object]}, action: [deleted]}\n"
    )
    config = folder / "monitor.yaml"
    config.write_text(json.dumps({
        "state": "sqlite:///monitor.db",
        "rules": ["rules", str(ROOT / "rules" / "aws" / "s3.yaml"), str(ROOT / "rules" / "aws" / "settings.yaml")],
        "inputs": [{"type": "aws.sqs", "queue_url": queue_url, "region": aws.region, "endpoint_url": aws.endpoint,
                    "wait_time_seconds": 1}],
        "destinations": {"chat": {"urls": [chat.url()]}, "oncall-email": {"urls": [smtp.url()]}},
        "routes": {"destination": "chat", "group_by": ["rule", "resource.parent"], "group_wait": "30s",
                   "routes": [{"match": {"severity": ["critical"]}, "destination": "oncall-email",
                               "continue": True},
                              {"destination": "chat"}]},
    }))
    return config


def public_acl_call(aws: Aws) -> dict[str, object]:
    record = json.loads((ROOT / "rules/aws/samples/handmade_putbucketacl_public_read.json").read_text())
    record["requestParameters"]["bucketName"] = BUCKET
    record["recipientAccountId"] = aws.account
    return record


def test_notifications_become_one_chat_message_per_group_and_an_html_email(
    aws: Aws, tmp_path: Path, chat: HttpReceiver, smtp: SmtpReceiver
) -> None:
    queue_url, queue_arn = aws.create_queue("e2e")
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectRemoved:*"]}]})
    for n in range(DELETIONS):
        s3.put_object(Bucket=BUCKET, Key=f"daily/report {n}.csv", Body=b"x")
        s3.delete_object(Bucket=BUCKET, Key=f"daily/report {n}.csv")
    events = aws.client("events")
    events.put_rule(Name="api-calls", EventPattern=json.dumps({"detail-type": ["AWS API Call via CloudTrail"]}))
    events.put_targets(Rule="api-calls", Targets=[{"Id": "q", "Arn": queue_arn, "InputTransformer": {
        "InputPathsMap": {}, "InputTemplate": "<aws.events.event.json>"}}])
    sent = events.put_events(Entries=[{"Source": "aws.s3", "DetailType": "AWS API Call via CloudTrail",
                                       "Detail": json.dumps(public_acl_call(aws))}])
    assert sent["FailedEntryCount"] == 0
    config = load_config(write_setup(tmp_path, aws, queue_url, chat, smtp))

    intake = daemon.run(config, once=True)

    assert (intake.recorded, intake.dead) == (DELETIONS + 1, 0)
    assert aws.messages_left(queue_url) == 0
    assert chat.wait_for(2) and smtp.wait_for(1)
    messages = {r.json()["title"]: r.json()["message"] for r in chat.received}
    [deleted_title] = [t for t in messages if "S3 object deleted" in t]
    assert f"{DELETIONS} events" in messages[deleted_title]
    assert f"arn:aws:s3:::{BUCKET}" in messages[deleted_title]
    [acl_title] = [t for t in messages if "ACL grants public access" in t]
    assert "CRITICAL" in acl_title.upper() and BUCKET in acl_title
    [mail] = smtp.messages
    html = mail.part("text/html")
    assert mail.envelope_to == ["oncall@example.com"]
    assert "S3 bucket ACL grants public access" in html and BUCKET in html
    assert "<html" in html.lower()
    assert len(chat.received) == 2  # 100 deletions grouped into one message, not 100

    store = SqliteStore(str(tmp_path / "monitor.db"))
    again = daemon.run(config, once=True, store=store)
    assert again.recorded == 0
    assert len(chat.received) == 2 and len(smtp.messages) == 1  # nothing new, nothing sent twice
