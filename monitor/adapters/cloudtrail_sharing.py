"""Who a snapshot, image or bucket is shared with: the accounts and groups a CloudTrail call grants or revokes.

Details, the same for every kind so one rule reads them all:
- ``shared_with``: account ids (and organisation or OU ARNs) the call grants access to;
- ``unshared_from``: those it revokes;
- ``public``: the grant is to everyone (EC2 group ``all``, RDS value ``all``);
- ``foreign_accounts``: the ``shared_with`` accounts other than the resource owner's (the record's
  ``recipientAccountId``); a rule compares them with the organisation's own accounts.

Shapes: EC2 ``ModifySnapshotAttribute`` / ``ModifyImageAttribute`` send
``createVolumePermission`` / ``launchPermission`` as ``{add: {items: [{userId}|{group: all}|{organizationArn}]},
remove: {...}}``; RDS ``ModifyDBSnapshotAttribute`` / ``ModifyDBClusterSnapshotAttribute`` send
``attributeName: restore`` with ``valuesToAdd`` / ``valuesToRemove`` (account ids or ``all``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from monitor.adapters.cloudtrail_paths import Record, first, request, values_at

EC2_PERMISSIONS = {"createVolumePermission": "create_volume_permission", "launchPermission": "launch_permission"}
GRANTEE_FIELDS = ("userId", "organizationArn", "organizationalUnitArn")
ACCOUNT_IN_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):")


def owner(record: Record) -> str:
    return str(record.get("recipientAccountId") or first(record, "userIdentity.accountId") or "")


def _grants(shared: list[str], public: bool, revoked: list[str], record: Record) -> dict[str, Any]:
    own = owner(record)
    return {
        "shared_with": shared,
        "unshared_from": revoked,
        "public": public,
        "foreign_accounts": [grantee for grantee in shared if grantee != own],
    }


def _ec2_side(permission: Mapping[str, Any], side: str) -> tuple[list[str], bool]:
    items = [item for item in values_at(permission, f"{side}.items") if isinstance(item, Mapping)]
    grantees = [str(item[field]) for item in items for field in GRANTEE_FIELDS if item.get(field)]
    return grantees, any(str(item.get("group", "")).lower() == "all" for item in items)


def ec2_permission(record: Record, name: str) -> dict[str, Any]:
    """ModifySnapshotAttribute / ModifyImageAttribute: the permission changed and who gains or loses it."""
    params = request(record)
    for field, attribute in EC2_PERMISSIONS.items():
        permission = params.get(field)
        if isinstance(permission, Mapping):
            added, public = _ec2_side(permission, "add")
            removed, _ = _ec2_side(permission, "remove")
            return {"attribute": attribute, **_grants(added, public, removed, record)}
    other = params.get("attributeType") or params.get("attribute")
    return {"attribute": str(other)} if other else {}


def rds_permission(record: Record, name: str) -> dict[str, Any]:
    params = request(record)
    added = [str(v) for v in params.get("valuesToAdd") or [] if v]
    removed = [str(v) for v in params.get("valuesToRemove") or [] if v]
    accounts = [v for v in added if v.lower() != "all"]
    details = _grants(accounts, len(accounts) < len(added), removed, record)
    return {"attribute": str(params.get("attributeName", "")), **details}


def _principal_accounts(principal: Any) -> list[str]:
    values = principal.get("AWS", []) if isinstance(principal, Mapping) else []
    found = []
    for value in values if isinstance(values, list) else [values]:
        text = str(value)
        match = ACCOUNT_IN_ARN.match(text)
        if match:
            found.append(match[1])
        elif text.isdigit() and len(text) == 12:
            found.append(text)
    return found


def policy_accounts(policy: Any) -> list[str]:
    """The accounts a bucket policy's Allow statements name as principals."""
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            return []
    statements = policy.get("Statement", []) if isinstance(policy, Mapping) else []
    statements = statements if isinstance(statements, list) else [statements]
    accounts = [
        account
        for statement in statements
        if isinstance(statement, Mapping) and statement.get("Effect") == "Allow"
        for account in _principal_accounts(statement.get("Principal"))
    ]
    return list(dict.fromkeys(accounts))


def bucket_policy_accounts(record: Record) -> dict[str, Any]:
    accounts = policy_accounts(request(record).get("bucketPolicy"))
    own = owner(record)
    return {"shared_with": accounts, "foreign_accounts": [a for a in accounts if a != own]} if accounts else {}
