"""CloudTrail records: one record (from a log file, a Stratus array, a trail delivered through SQS) or the record
EventBridge wraps as ``detail`` in "AWS API Call via CloudTrail" (and the console sign-in / service event
variants, which carry the same record).

Decisions:
- ``id`` is the record's ``eventID`` from both sources, so the same call read from a log file and from
  EventBridge dedups. A call that names several resources (StopInstances on two instances) gives one event per
  resource, ``{eventID}:{name}``. A record without ``eventID`` (eventVersion 1.0, hand-made tests) gets
  ``cloudtrail:`` + a digest of the record, stable across re-reads.
- What a call did to which resource comes from the table in ``cloudtrail_calls``; resource ids use the
  shared ARN helpers so CloudTrail, S3, DynamoDB, EC2 and Config events about one resource agree.
- ``outcome`` is ``failure`` iff ``errorCode`` is non-empty (a dry run included, with ``details.dry_run``).
  Read-only calls (``readOnly``, or a Get/List/Describe/Head name when the record predates ``readOnly``) are
  ``accessed``.
- ``actor.id``: the ARN; for an assumed role the issuing role's ARN + ``/`` + the session name (the role's
  path survives, which the STS ARN drops); ``root`` for the root user; the service for ``AWSService``.
  ``userIdentity`` keys are read case-insensitively (Panther's samples lower-case them).
- ``account`` is ``recipientAccountId`` (the account that owns the trail and the resource), else the caller's.
- ``details.instance_credentials``: the caller used an EC2 instance profile's credentials (``ec2RoleDelivery``
  in the session context, or a session named after the instance), so a rule can tell where they were used.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from monitor.adapters.aws import (
    cloudtrail_trail_arn,
    dynamodb_table_arn,
    ec2_arn,
    ec2_instance_arn,
    ec2_security_group_arn,
    rds_snapshot_arn,
    s3_bucket_arn,
    s3_object_arn,
)
from monitor.adapters.base import Payload, adapter
from monitor.adapters.cloudtrail_calls import Call, lookup
from monitor.adapters.cloudtrail_ec2 import ARN_TYPES
from monitor.adapters.cloudtrail_paths import Record, as_bool, first, request, values_at
from monitor.events import Actor, Event, Resource, parse_time

DETAIL_TYPES = frozenset(
    {"AWS API Call via CloudTrail", "AWS Console Sign In via CloudTrail", "AWS Service Event via CloudTrail"}
)
READ_PREFIXES = ("Get", "List", "Describe", "Head")
DRY_RUN = "Client.DryRunOperation"
SERVICE_SUFFIX = ".amazonaws.com"
INSTANCE_SESSION = re.compile(r"i-(?:[0-9a-f]{8}|[0-9a-f]{17})")


class Where(NamedTuple):
    record: Record
    service: str
    region: str
    account: str


def _named(kind: str, arn: Callable[[str, str, str], str]) -> Callable[[Where, str], Resource]:
    def build(where: Where, name: str) -> Resource:
        return Resource(kind, arn(where.region, where.account, name) if name else "", name, where.account)

    return build


def _from_arn(kind: str, arn: Callable[[str, str, str], str], marker: str) -> Callable[[Where, str], Resource]:
    """Names that may also be given as an ARN (DynamoDB TableName, CloudTrail Name) keep that ARN."""
    named = _named(kind, arn)

    def build(where: Where, name: str) -> Resource:
        if not name.startswith("arn:") or marker not in name:
            return named(where, name)
        prefix, _, rest = name.partition(marker)
        short = rest.split("/", 1)[0]
        return Resource(kind, f"{prefix}{marker}{short}", short, where.account)

    return build


def _bucket(where: Where, name: str) -> Resource:
    return Resource("bucket", s3_bucket_arn(name) if name else "", name, where.account)


def _object(where: Where, key: str) -> Resource:
    """A call that names no key (a DeleteObjects batch) gets the ``ARNPrefix`` CloudTrail lists, if any."""
    bucket = first(request(where.record), "bucketName")
    parent = s3_bucket_arn(bucket) if bucket else ""
    if bucket and key:
        return Resource("object", s3_object_arn(bucket, key), key, parent)
    prefix = first(where.record, "resources.ARNPrefix")
    return Resource("object", str(prefix) if prefix else "", "", parent)


def _ec2(kind: str) -> Callable[[Where, str], Resource]:
    def build(where: Where, name: str) -> Resource:
        arn = ec2_arn(where.region, where.account, ARN_TYPES[kind], name) if name else ""
        return Resource(kind, arn, name, where.account)

    return build


def _snapshot(where: Where, name: str) -> Resource:
    """EBS snapshots (snap-...) and RDS DB or cluster snapshots, which CloudTrail names by identifier."""
    if where.service != "rds":
        return _ec2("snapshot")(where, name)
    cluster = "Cluster" in str(where.record.get("eventName", ""))
    arn = name if name.startswith("arn:") else rds_snapshot_arn(where.region, where.account, name, cluster)
    return Resource("snapshot", arn if name else "", name.rpartition(":")[2], where.account)


def _load_balancer(where: Where, name: str) -> Resource:
    """Classic load balancers are named, v2 ones given by ARN."""
    return Resource("load_balancer", name if name.startswith("arn:") else "", name.rpartition("/")[2], where.account)


def _database(where: Where, name: str) -> Resource:
    arn = f"arn:aws:rds:{where.region}:{where.account}:db:{name}" if name else ""
    return Resource("database_instance", arn, name, where.account)


def _account(where: Where, name: str) -> Resource:
    return Resource("account", where.account, where.account, "")


def _group(where: Where, name: str) -> Resource:
    """A group named only by its name (default-VPC calls with ``groupName``) has no ARN to give."""
    arn = ec2_security_group_arn(where.region, where.account, name) if name.startswith("sg-") else ""
    return Resource("security_group", arn, name, where.account)


def _generic(kind: str, where: Where) -> Resource:
    """A call outside the table: the first ARN CloudTrail lists in ``resources``, else the service endpoint."""
    arns = [arn for key in ("ARN", "arn") for arn in values_at(where.record, f"resources.{key}") if arn]
    return Resource(kind, str(arns[0]) if arns else str(where.record["eventSource"]), "", where.account)


BUILDERS: dict[str, Callable[[Where, str], Resource]] = {
    **{kind: _ec2(kind) for kind in ARN_TYPES},
    "snapshot": _snapshot,
    "account": _account,
    "load_balancer": _load_balancer,
    "database_instance": _database,
    "bucket": _bucket,
    "object": _object,
    "table": _from_arn("table", dynamodb_table_arn, ":table/"),
    "vm": _named("vm", ec2_instance_arn),
    "security_group": _group,
    "trail": _from_arn("trail", cloudtrail_trail_arn, ":trail/"),
}


def _lower_keys(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key).lower(): _lower_keys(item) for key, item in value.items()}
    return value


def _principal(identity: Mapping[str, Any]) -> str:
    return str(identity.get("arn") or identity.get("principalid") or identity.get("username") or "")


def _assumed_role(identity: Mapping[str, Any]) -> str:
    issuer = first(identity, "sessioncontext.sessionissuer.arn")
    if not issuer:
        return _principal(identity)
    role_and_session = str(identity.get("arn", "")).partition(":assumed-role/")[2].split("/")
    principal = str(identity.get("principalid", ""))
    session = role_and_session[-1] if len(role_and_session) > 1 else principal.partition(":")[2]
    return f"{issuer}/{session}" if session else str(issuer)


ACTOR_IDS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "AssumedRole": _assumed_role,
    "Root": lambda identity: "root",
    "AWSService": lambda identity: str(identity.get("invokedby") or _principal(identity)),
}


def _actor(identity: Mapping[str, Any], record: Record) -> Actor:
    kind = str(identity.get("type", ""))
    return Actor(
        id=ACTOR_IDS.get(kind, _principal)(identity),
        type=kind,
        ip=str(record.get("sourceIPAddress") or ""),
        user_agent=str(record.get("userAgent") or ""),
    )


def _read_only(record: Record) -> bool:
    flag = record.get("readOnly")
    if flag is None:
        return str(record["eventName"]).startswith(READ_PREFIXES)
    return as_bool(flag)


def _instance_credentials(identity: Mapping[str, Any]) -> bool:
    """Temporary credentials of an EC2 instance profile: EC2 delivered them, or the session is the instance id."""
    if first(identity, "sessioncontext.ec2roledelivery"):
        return True
    session = str(identity.get("principalid", "")).partition(":")[2]
    return identity.get("type") == "AssumedRole" and INSTANCE_SESSION.fullmatch(session) is not None


def _common_details(record: Record, identity: Mapping[str, Any], read_only: bool) -> dict[str, Any]:
    details: dict[str, Any] = {"read_only": read_only}
    if identity.get("invokedby"):
        details["invoked_by"] = identity["invokedby"]
    if _instance_credentials(identity):
        details["instance_credentials"] = True
    error = record.get("errorCode")
    if error:
        details["error_code"] = error
        if record.get("errorMessage"):
            details["error_message"] = record["errorMessage"]
        if error == DRY_RUN:
            details["dry_run"] = True
    return details


def record_id(record: Record) -> str:
    event_id = record.get("eventID")
    if event_id:
        return str(event_id)
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
    return "cloudtrail:" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def record_events(record: Record, raw: Payload, account: str = "", region: str = "") -> list[Event]:
    """The events one CloudTrail record gives; ``account``/``region`` are used only when the record lacks them."""
    identity = _lower_keys(record.get("userIdentity") or {})
    service = str(record["eventSource"]).removesuffix(SERVICE_SUFFIX)
    operation = str(record["eventName"])
    where = Where(
        record,
        service,
        str(record.get("awsRegion") or region),
        str(record.get("recipientAccountId") or identity.get("accountid") or account),
    )
    call, names = lookup(service, operation, record)
    read_only = _read_only(record)
    base_id = record_id(record)
    common = _common_details(record, identity, read_only)
    return [
        Event(
            id=f"{base_id}:{name}" if len(names) > 1 else base_id,
            time=parse_time(record["eventTime"]),
            provider="aws",
            account=where.account,
            region=where.region,
            service=service,
            resource=_resource(call, where, name),
            action="accessed" if read_only else call.action,
            operation=operation,
            actor=_actor(identity, record),
            outcome="failure" if record.get("errorCode") else "success",
            details=common | call.details(record, name),
            raw=raw,
        )
        for name in names or [""]
    ]


def _resource(call: Call, where: Where, name: str) -> Resource:
    build = BUILDERS.get(call.kind)
    return build(where, name) if build else _generic(call.kind, where)


def _is_record(payload: Payload) -> bool:
    source = payload.get("eventSource")
    return (
        isinstance(source, str)
        and source.endswith(SERVICE_SUFFIX)
        and all(key in payload for key in ("eventVersion", "eventName", "eventTime"))
    )


def _is_eventbridge(payload: Payload) -> bool:
    return payload.get("detail-type") in DETAIL_TYPES and isinstance(payload.get("detail"), Mapping)


@adapter("aws.cloudtrail.record", accepts=_is_record)
def cloudtrail_record(record: Payload) -> list[Event]:
    return record_events(record, raw=record)


@adapter("aws.eventbridge.cloudtrail", accepts=_is_eventbridge)
def eventbridge_cloudtrail(payload: Payload) -> list[Event]:
    account, region = str(payload.get("account", "")), str(payload.get("region", ""))
    return record_events(payload["detail"], raw=payload, account=account, region=region)
