"""The processing pipeline: Sigma's field names for CloudTrail and Cloud Audit Logs, as normalized event fields.

Fields with a normalized counterpart map to it (``eventName`` -> ``operation``, ``eventSource`` -> ``service``
with ``.amazonaws.com`` dropped from its values, ``protoPayload.methodName`` -> ``operation``...). Any other
field is read from the raw payload (``raw.requestParameters.x``); the backend adds the ``raw.`` prefix and,
for CloudTrail, the EventBridge alternative (``raw.detail.requestParameters.x``), since a CloudTrail record
arrives bare (log files, SQS) or wrapped by EventBridge.
"""

from __future__ import annotations

from sigma.processing.conditions import IncludeFieldCondition, LogsourceCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import FieldMappingTransformation, ReplaceStringTransformation


def _aws() -> LogsourceCondition:
    return LogsourceCondition(product="aws", service="cloudtrail")


def _gcp() -> LogsourceCondition:
    return LogsourceCondition(product="gcp", service="gcp.audit")


CLOUDTRAIL_FIELDS: dict[str | None, str | list[str]] = {
    "eventName": "operation",
    "eventSource": "service",
    "awsRegion": "region",
    "recipientAccountId": "account",
    "sourceIPAddress": "actor.ip",
    "userAgent": "actor.user_agent",
    "userIdentity.type": "actor.type",
    "errorCode": "details.error_code",
    "errorMessage": "details.error_message",
    "userIdentity.invokedBy": "details.invoked_by",
}
# Sigma's GCP rules name fields three ways: ECS (gcp.audit.*), the LogEntry (protoPayload.*), Pub/Sub (data.*).
AUDIT_LOG_FIELDS = {
    "method_name": "operation",
    "protoPayload.methodName": "operation",
    "principal_email": "actor.id",
    "protoPayload.authenticationInfo.principalEmail": "actor.id",
    "protoPayload.requestMetadata.callerIp": "actor.ip",
    "protoPayload.requestMetadata.callerSuppliedUserAgent": "actor.user_agent",
}
GCP_FIELDS: dict[str | None, str | list[str]] = {
    **{f"gcp.audit.{name}": target for name, target in AUDIT_LOG_FIELDS.items() if "." not in name},
    **{name: target for name, target in AUDIT_LOG_FIELDS.items() if "." in name},
    **{f"data.{name}": target for name, target in AUDIT_LOG_FIELDS.items() if "." in name},
}


def pipeline() -> ProcessingPipeline:
    return ProcessingPipeline(
        name="cloud-monitor normalized events",
        priority=20,
        items=[
            ProcessingItem(
                identifier="cloudtrail_service_names",
                transformation=ReplaceStringTransformation(regex=r"\.amazonaws\.com$", replacement=""),
                rule_conditions=[_aws()],
                field_name_conditions=[IncludeFieldCondition(fields=["eventSource"])],
            ),
            ProcessingItem(identifier="cloudtrail_fields", transformation=FieldMappingTransformation(CLOUDTRAIL_FIELDS),
                           rule_conditions=[_aws()]),
            ProcessingItem(identifier="audit_log_fields", transformation=FieldMappingTransformation(GCP_FIELDS),
                           rule_conditions=[_gcp()]),
        ],
    )
