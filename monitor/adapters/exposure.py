"""Does an S3 ACL, bucket policy or public access block change expose data to the public? Pure analysis.

Decisions:
- An ACL is public when it grants to the AllUsers or AuthenticatedUsers group (in an ``AccessControlPolicy``
  grant or an ``x-amz-grant-*`` header) or uses a canned public ACL (public-read, public-read-write,
  authenticated-read): any AWS account can authenticate, so AuthenticatedUsers is as public as AllUsers.
- A policy statement is public when it allows everyone (``Principal`` ``"*"``, or a principal map with ``"*"``
  among its values; ``NotPrincipal`` with ``Allow`` too, since it allows everyone but the listed principals)
  and no condition narrows it. A condition narrows only when it pins one of NARROWING_KEYS to a value that is
  not a wildcard or a /0 range, with an operator that fails when the key is absent: ``...Not...``, ``Null``,
  ``...IfExists`` and ``ForAllValues:`` operators do not narrow.
- A public access block configuration is reported only when it weakens protection (a flag false); a flag
  missing from the request is false, as S3 applies it.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from typing import Any

PUBLIC_GROUPS = {
    "http://acs.amazonaws.com/groups/global/AllUsers": "AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "AuthenticatedUsers",
}
PUBLIC_CANNED_ACLS = frozenset({"public-read", "public-read-write", "authenticated-read"})
NARROWING_KEYS = frozenset(
    key.lower()
    for key in (
        "aws:SourceIp",
        "aws:SourceVpc",
        "aws:SourceVpce",
        "aws:SourceArn",
        "aws:SourceAccount",
        "aws:SourceOrgID",
        "aws:SourceOrgPaths",
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
    )
)
PUBLIC_ACCESS_BLOCK_FLAGS = {
    "BlockPublicAcls": "block_public_acls",
    "IgnorePublicAcls": "ignore_public_acls",
    "BlockPublicPolicy": "block_public_policy",
    "RestrictPublicBuckets": "restrict_public_buckets",
}


def _strings(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [item for item in values if isinstance(item, str)]


def _mappings(value: Any) -> list[Mapping[str, Any]]:
    values = value if isinstance(value, list) else [value]
    return [item for item in values if isinstance(item, Mapping)]


def _acl_grants(request: Mapping[str, Any]) -> list[str]:
    found = []
    for policy in _mappings(request.get("AccessControlPolicy")):
        for acl in _mappings(policy.get("AccessControlList")):
            for grant in _mappings(acl.get("Grant")):
                for grantee in _mappings(grant.get("Grantee")):
                    group = PUBLIC_GROUPS.get(str(grantee.get("URI", "")))
                    if group:
                        found.append(f"grant {group} {grant.get('Permission', '')}".rstrip())
    return found


def _grant_headers(request: Mapping[str, Any]) -> list[str]:
    return [
        f"{header} {group}"
        for header, value in request.items()
        if header.lower().startswith("x-amz-grant-")
        for text in _strings(value)
        for uri, group in PUBLIC_GROUPS.items()
        if uri in text
    ]


def acl_public_reasons(request: Mapping[str, Any]) -> list[str]:
    """Why the ACL in these request parameters is public; empty when it is not."""
    canned = [f"canned ACL {acl}" for acl in _strings(request.get("x-amz-acl")) if acl.lower() in PUBLIC_CANNED_ACLS]
    return canned + _grant_headers(request) + _acl_grants(request)


def acl_exposure(request: Mapping[str, Any]) -> dict[str, Any]:
    reasons = acl_public_reasons(request)
    return {"public": True, "public_reasons": reasons} if reasons else {"public": False}


def _is_everyone(principal: Any) -> bool:
    if isinstance(principal, Mapping):
        return any("*" in _strings(value) for value in principal.values())
    return "*" in _strings(principal)


def _matches_anything(value: str) -> bool:
    if value == "*":
        return True
    try:
        return ipaddress.ip_network(value, strict=False).prefixlen == 0
    except ValueError:
        return False


def _operator_narrows(operator: str) -> bool:
    name = operator.split(":", 1)[-1]
    return not (
        operator.startswith("ForAllValues:") or "Not" in name or name == "Null" or name.endswith("IfExists")
    )


def condition_narrows(condition: Any) -> bool:
    """True when the condition limits who may use the statement to a fixed network, account or organisation."""
    if not isinstance(condition, Mapping):
        return False
    for operator, clauses in condition.items():
        if not isinstance(clauses, Mapping) or not _operator_narrows(operator):
            continue
        for key, value in clauses.items():
            values = _strings(value)
            if key.lower() in NARROWING_KEYS and values and not any(_matches_anything(v) for v in values):
                return True
    return False


def _statement_is_public(statement: Mapping[str, Any]) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    everyone = _is_everyone(statement.get("Principal")) or "NotPrincipal" in statement
    return everyone and not condition_narrows(statement.get("Condition"))


def policy_public_statements(policy: Mapping[str, Any]) -> list[str]:
    """The statements (by Sid, else by position) that make this policy public."""
    return [
        str(statement.get("Sid") or f"#{index}")
        for index, statement in enumerate(_mappings(policy.get("Statement")))
        if _statement_is_public(statement)
    ]


def policy_exposure(policy: Any) -> dict[str, Any]:
    """``public`` for a bucket policy given as an object or as JSON text; ``policy_unreadable`` if neither."""
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            return {"policy_unreadable": True}
    if not isinstance(policy, Mapping):
        return {"policy_unreadable": True}
    statements = policy_public_statements(policy)
    reasons = [f"policy statement {sid} allows everyone" for sid in statements]
    return {"public": True, "public_reasons": reasons} if reasons else {"public": False}


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def public_access_block_exposure(request: Mapping[str, Any]) -> dict[str, Any]:
    """``public_access_block`` with the four flags when the new configuration turns any of them off."""
    config = request.get("PublicAccessBlockConfiguration")
    if not isinstance(config, Mapping):
        return {}
    flags = {name: _flag(config.get(field)) for field, name in PUBLIC_ACCESS_BLOCK_FLAGS.items()}
    return {} if all(flags.values()) else {"public_access_block": flags}


def public_access_block_removed() -> dict[str, Any]:
    return {"public_access_block": "removed"}
