"""Cloud Audit Log entries: a LogEntry whose protoPayload is an AuditLog, however it arrives.

The entry comes bare, inside a Log Router sink's Pub/Sub message, or as the data of an Eventarc
``google.cloud.audit.log.v1.written`` CloudEvent (where protoPayload has no ``@type``); all three give
the same event. Its id is the entry's ``insertId``, the key Cloud Logging itself deduplicates on.

- outcome is failure iff ``protoPayload.status.code`` is non-zero (``status: {}`` is OK; severity is not read).
- A long-running operation writes several entries sharing ``operation.id``. The event comes from the
  entry marked ``first`` (or from a lone entry without ``operation``); the ``last`` one is reported only
  when it failed, as a failure of the same method. Intermediate entries give nothing.
- Entries without ``insertId`` or ``timestamp`` (hand-written test logs) are unreadable, not guessed at.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

from monitor.adapters import gcp
from monitor.adapters import gcp_audit_methods as methods
from monitor.adapters.base import Payload, UnreadablePayload, adapter
from monitor.events import Actor, Event, parse_time

AUDIT_LOG_TYPE = "type.googleapis.com/google.cloud.audit.AuditLog"
AUDIT_LOG_PREFIX = "cloudaudit.googleapis.com/"

# Where the resource name lives when an entry has no resourceName, by monitored-resource type.
LABEL_NAMES: dict[str, Callable[[Mapping[str, Any], str], str]] = {
    "gcs_bucket": lambda labels, project: f"projects/_/buckets/{labels['bucket_name']}",
    "cloudsql_database": lambda labels, project: "projects/{}/instances/{}".format(
        *labels["database_id"].split(":", 1)
    ),
    "bigquery_dataset": lambda labels, project: f"projects/{project}/datasets/{labels['dataset_id']}",
}


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def is_log_entry(payload: Payload) -> bool:
    proto = payload.get("protoPayload")
    return isinstance(proto, Mapping) and "methodName" in proto and proto.get("@type", AUDIT_LOG_TYPE) == AUDIT_LOG_TYPE


@adapter("gcp.audit_log", accepts=is_log_entry)
def log_entry(entry: Payload) -> list[Event]:
    proto = entry["protoPayload"]
    method_name = proto["methodName"]
    event_id = _required(entry, "insertId", method_name)
    time = parse_time(_required(entry, "timestamp", method_name))
    status = _mapping(proto.get("status"))
    failed = bool(status.get("code"))
    if not _reported(_mapping(entry.get("operation")), failed):
        return []
    method = methods.lookup(method_name)
    labels = _mapping(_mapping(entry.get("resource")).get("labels"))
    project = _project(entry, labels, proto)
    service = method.service or gcp.service_of(proto.get("serviceName", ""))
    name = _resource_name(entry, labels, project, f"Cloud Audit Log entry {event_id} ({method_name})")
    located = gcp.locate(service, name, project, host=proto.get("serviceName", ""))
    details = {"method": methods.method_key(method_name), **_entry_details(entry, located.zone)}
    details.update(method.details(proto))
    if failed:
        details.update(error_code=status["code"], error_message=status.get("message", ""))
    return [
        Event(
            id=event_id,
            time=time,
            provider="gcp",
            account=project,
            region=located.region or _label_region(labels),
            service=service,
            resource=located.resource,
            action=method.action,
            operation=method_name,
            actor=_actor(proto),
            outcome="failure" if failed else "success",
            details=details,
            raw=entry,
        )
    ]


def _required(entry: Payload, key: str, method_name: str) -> Any:
    value = entry.get(key)
    if not value:
        raise UnreadablePayload(f"Cloud Audit Log entry for {method_name} has no {key!r}")
    return value


def _reported(operation: Mapping[str, Any], failed: bool) -> bool:
    if not operation or operation.get("first"):
        return True
    return bool(operation.get("last")) and failed


def _project(entry: Payload, labels: Mapping[str, Any], proto: Payload) -> str:
    if labels.get("project_id"):
        return str(labels["project_id"])
    for path in (entry.get("logName"), proto.get("resourceName")):
        parts = path.split("/") if isinstance(path, str) else []
        if len(parts) > 1 and parts[0] == "projects" and parts[1] != "_":
            return parts[1]
    return ""


def _resource_name(entry: Payload, labels: Mapping[str, Any], project: str, where: str) -> str:
    name = entry["protoPayload"].get("resourceName")
    if isinstance(name, str) and name:
        return name
    from_labels = LABEL_NAMES.get(_mapping(entry.get("resource")).get("type", ""))
    if from_labels is None:
        raise UnreadablePayload(f"{where}: no resourceName")
    return from_labels(labels, project)


def _label_region(labels: Mapping[str, Any]) -> str:
    for key in ("region", "location", "zone"):
        value = str(labels.get(key) or "").lower()
        if value and value != "global":
            return gcp.zone_region(value)
    return ""


def _entry_details(entry: Payload, zone: str) -> dict[str, Any]:
    details: dict[str, Any] = {}
    log_id = unquote(str(entry.get("logName", "")).rpartition("/logs/")[2])
    if log_id.startswith(AUDIT_LOG_PREFIX):
        details["audit_log"] = log_id.removeprefix(AUDIT_LOG_PREFIX)
    operation_id = _mapping(entry.get("operation")).get("id")
    if operation_id:
        details["operation_id"] = operation_id
    if zone:
        details["zone"] = zone
    return details


def _actor(proto: Payload) -> Actor:
    auth = _mapping(proto.get("authenticationInfo"))
    request = _mapping(proto.get("requestMetadata"))
    email = str(auth.get("principalEmail") or "")
    kind = "service_account" if email.endswith(".gserviceaccount.com") else "user" if email else ""
    return Actor(
        id=email,
        type=kind,
        ip=str(request.get("callerIp") or request.get("callerIP") or ""),  # callerIP: Panther's exports
        user_agent=str(request.get("callerSuppliedUserAgent") or ""),
    )
