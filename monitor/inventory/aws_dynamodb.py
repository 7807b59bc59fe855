"""DynamoDB tables: point-in-time recovery, deletion protection and encryption (the names the pushed
UpdateContinuousBackups and UpdateTable events use: ``point_in_time_recovery``, ``deletion_protection``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from monitor.events import Resource
from monitor.inventory.diff import Snapshot
from monitor.inventory.types import Clients, Found, ResourceType, error_code, pages

GONE = frozenset({"ResourceNotFoundException", "TableNotFoundException"})


def _table(dynamodb: Any, name: str) -> tuple[str, dict[str, Any]]:
    table = dynamodb.describe_table(TableName=name)["Table"]
    backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    recovery = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus")
    sse = table.get("SSEDescription") or {}
    encryption = str(sse.get("SSEType") or "DEFAULT") if sse.get("Status", "ENABLED") in ("ENABLED", "UPDATING") \
        else "DEFAULT"
    return str(table["TableArn"]), {
        "point_in_time_recovery": recovery == "ENABLED",
        "deletion_protection": bool(table.get("DeletionProtectionEnabled", False)),
        "encryption": encryption,
    }


def collect(clients: Clients, account: str, region: str) -> Iterator[Found]:
    dynamodb = clients("dynamodb")
    for name in pages(dynamodb, "list_tables", "TableNames"):
        try:
            arn, snapshot = _table(dynamodb, str(name))
        except Exception as exc:
            if error_code(exc) in GONE:
                continue
            raise
        yield Found(Resource("table", arn, str(name), account), region, snapshot)


def facts(before: Snapshot | None, after: Snapshot | None) -> dict[str, Any]:
    now = after if after is not None else before
    return dict(now or {})


DYNAMODB = ResourceType("aws.dynamodb", "dynamodb", per_region=True, collect=collect, facts=facts,
                        permissions=frozenset())
