"""Builders of realistic raw payloads, as the clouds deliver them, for rule samples and the benign day.

Shapes follow the shared samples (tests/events) and the providers' documentation: CloudTrail records as a trail
writes them, S3 event notifications (eventVersion 2.1), EC2 state-change notifications through EventBridge,
Cloud Audit Log entries (activity and data access) and Cloud Storage Pub/Sub notifications.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

ACCOUNT = "111122223333"
PROJECT = "acme-prod"
PROJECT_NUMBER = "402918377415"
DAY = datetime(2026, 3, 2, tzinfo=UTC)
CLI = "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79 exe/x86_64.amzn.2023 prompt/off"
TERRAFORM = "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.40.0"
GCP_TERRAFORM = (
    "Terraform/1.7.5 (+https://www.terraform.io) Terraform-Plugin-SDK/2.33.0 terraform-provider-google/5.21.0"
)
GCLOUD = "google-cloud-sdk gcloud/468.0.0 command/gcloud.compute.instances.create"


def at(minutes: float, base: datetime = DAY) -> str:
    return (base + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _id(*parts: Any) -> str:
    """A stable event id from what makes the event unique (re-generating gives the same files)."""
    digest = hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def user(name: str, account: str = ACCOUNT) -> dict[str, Any]:
    return {"type": "IAMUser", "principalId": f"AIDA{name.upper()[:8]:X<8}EXAMPLE", "accountId": account,
            "arn": f"arn:aws:iam::{account}:user/{name}", "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "userName": name}


def role(name: str, session: str, account: str = ACCOUNT, invoked_by: str | None = None) -> dict[str, Any]:
    identity: dict[str, Any] = {
        "type": "AssumedRole",
        "principalId": f"AROA{name.upper()[:8]:X<8}EXAMPLE:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{name}/{session}",
        "accountId": account,
        "accessKeyId": "ASIAIOSFODNN7EXAMPLE",
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "principalId": f"AROA{name.upper()[:8]:X<8}EXAMPLE",
                              "arn": f"arn:aws:iam::{account}:role/{name}", "accountId": account, "userName": name},
            "attributes": {"creationDate": "2026-03-02T00:00:00Z", "mfaAuthenticated": "false"},
        },
    }
    if invoked_by:
        identity["invokedBy"] = invoked_by
    return identity


def service(name: str) -> dict[str, Any]:
    return {"type": "AWSService", "invokedBy": name}


def cloudtrail(
    name: str,
    source: str,
    time: str,
    identity: dict[str, Any],
    request: Any = None,
    *,
    response: Any = None,
    region: str = "eu-west-1",
    ip: str = "198.51.100.24",
    agent: str = CLI,
    error: str | None = None,
    read_only: bool | None = None,
    **extra: Any,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": time,
        "eventSource": f"{source}.amazonaws.com",
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": agent,
        "requestParameters": request,
        "responseElements": response,
        "requestID": _id("request", name, time, request)[:23].upper(),
        "eventID": _id(name, source, time, identity.get("arn", identity.get("invokedBy")), request, region),
        "readOnly": read_only if read_only is not None else name.startswith(("Get", "List", "Describe", "Head")),
        "eventType": "AwsApiCall",
        "managementEvent": source != "s3" or "Object" not in name,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Data" if source == "s3" and "Object" in name else "Management",
    }
    if error:
        record["errorCode"] = error
        record["errorMessage"] = f"You are not authorized to perform this operation. ({error})"
    return record | extra


def s3_call(name: str, time: str, identity: dict[str, Any], bucket: str, key: str | None = None, *,
            ip: str = "198.51.100.24", agent: str = CLI, **request: Any) -> dict[str, Any]:
    params = {"bucketName": bucket, "Host": f"{bucket}.s3.eu-west-1.amazonaws.com", **request}
    if key is not None:
        params["key"] = key
    resources = [{"type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}", "accountId": ACCOUNT}]
    if key is not None:
        resources.insert(0, {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"})
    return cloudtrail(name, "s3", time, identity, params, resources=resources, ip=ip, agent=agent)


def delete_objects(time: str, identity: dict[str, Any], bucket: str, agent: str = CLI) -> dict[str, Any]:
    """A batch deletion as CloudTrail records it: no keys, an ARNPrefix resource (Stratus Red Team capture)."""
    host = f"{bucket}.s3.eu-west-1.amazonaws.com"
    params = {"bucketName": bucket, "Host": host, "delete": "", "x-id": "DeleteObjects"}
    resources = [{"type": "AWS::S3::Object", "ARNPrefix": f"arn:aws:s3:::{bucket}/"},
                 {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}]
    return cloudtrail("DeleteObjects", "s3", time, identity, params, resources=resources, agent=agent)


def s3_notification(event_name: str, time: str, bucket: str, key: str, *, sequencer: str,
                    principal: str = "AWS:AIDAJDPLRKLG7UEXAMPLE", size: int | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {"key": key, "sequencer": sequencer}
    if size is not None:
        obj |= {"size": size, "eTag": hashlib.md5(key.encode()).hexdigest()}
    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "eu-west-1", "eventTime": time,
        "eventName": event_name, "userIdentity": {"principalId": principal},
        "requestParameters": {"sourceIPAddress": "10.0.3.17"},
        "responseElements": {"x-amz-request-id": sequencer[-16:], "x-amz-id-2": "EXAMPLE"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "events",
               "bucket": {"name": bucket, "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                          "arn": f"arn:aws:s3:::{bucket}"},
               "object": obj},
    }]}


def ec2_state(time: str, instance: str, state: str, region: str = "eu-west-1") -> dict[str, Any]:
    return {"version": "0", "id": _id("state", instance, state, time),
            "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "account": ACCOUNT,
            "time": time, "region": region,
            "resources": [f"arn:aws:ec2:{region}:{ACCOUNT}:instance/{instance}"],
            "detail": {"instance-id": instance, "state": state}}


def gcp_entry(method: str, resource_name: str, time: str, principal: str, *, service_name: str,
              log: str = "activity", request: Any = None, ip: str = "203.0.113.40", agent: str = GCLOUD,
              status: dict[str, Any] | None = None, resource_type: str = "audited_resource",
              **proto: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
        "status": status or {},
        "authenticationInfo": {"principalEmail": principal},
        "requestMetadata": {"callerIp": ip, "callerSuppliedUserAgent": agent},
        "serviceName": service_name,
        "methodName": method,
        "resourceName": resource_name,
        **proto,
    }
    if request is not None:
        payload["request"] = request
    return {
        "protoPayload": payload,
        "insertId": _id("gcp", method, resource_name, time, principal)[:14],
        "resource": {"type": resource_type, "labels": {"project_id": PROJECT}},
        "timestamp": time,
        "severity": "ERROR" if status else "NOTICE",
        "logName": f"projects/{PROJECT}/logs/cloudaudit.googleapis.com%2F{log}",
        "receiveTimestamp": time,
    }


def gcs_notification(event_type: str, time: str, bucket: str, name: str, generation: int,
                     **attributes: str) -> dict[str, Any]:
    import base64

    obj = {"kind": "storage#object", "bucket": bucket, "name": name, "generation": str(generation),
           "metageneration": "1", "contentType": "application/octet-stream", "size": "52311",
           "storageClass": "STANDARD", "timeCreated": time, "updated": time}
    if event_type == "OBJECT_DELETE":
        obj["timeDeleted"] = time
    attrs = {"bucketId": bucket, "objectId": name, "objectGeneration": str(generation), "eventType": event_type,
             "eventTime": time, "notificationConfig": f"projects/_/buckets/{bucket}/notificationConfigs/1",
             "payloadFormat": "JSON_API_V1", **attributes}
    return {"message": {"attributes": attrs, "data": base64.b64encode(json.dumps(obj).encode()).decode(),
                        "messageId": _id("gcs", event_type, bucket, name, generation)[:16].replace("-", "1"),
                        "publishTime": time},
            "subscription": f"projects/{PROJECT}/subscriptions/gcs-events"}
