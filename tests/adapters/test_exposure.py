from __future__ import annotations

import json
from typing import Any

import pytest

from monitor.adapters.exposure import (
    acl_exposure,
    condition_narrows,
    policy_exposure,
    public_access_block_exposure,
    public_access_block_removed,
)

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
OWNER = {"xsi:type": "CanonicalUser", "ID": "d25639fbe9c19cd30a4c0f43fbf00e2d3f96400a9aa8dabfbbebe1906Example"}


def _acl(*grants: dict[str, Any]) -> dict[str, Any]:
    grant: Any = grants[0] if len(grants) == 1 else list(grants)
    return {"bucketName": "b", "AccessControlPolicy": {"AccessControlList": {"Grant": grant}, "Owner": OWNER}}


def _group(uri: str, permission: str) -> dict[str, Any]:
    return {"Grantee": {"xsi:type": "Group", "URI": uri}, "Permission": permission}


ACLS = [
    pytest.param(
        {"bucketName": "b", "x-amz-acl": ["public-read"]}, ["canned ACL public-read"], id="canned-public-read"
    ),
    pytest.param({"x-amz-acl": "public-read-write"}, ["canned ACL public-read-write"], id="canned-as-string"),
    pytest.param({"x-amz-acl": ["authenticated-read"]}, ["canned ACL authenticated-read"], id="canned-authenticated"),
    pytest.param({"x-amz-acl": ["private"]}, [], id="canned-private"),
    pytest.param({"x-amz-acl": ["bucket-owner-full-control"]}, [], id="canned-owner"),
    pytest.param({"x-amz-acl": ["log-delivery-write"]}, [], id="canned-log-delivery"),
    pytest.param(
        {"x-amz-grant-read": [f'uri="{ALL_USERS}"']}, ["x-amz-grant-read AllUsers"], id="grant-header-all-users"
    ),
    pytest.param(
        {"x-amz-grant-write-acp": f'id="abc", uri="{AUTHENTICATED_USERS}"'},
        ["x-amz-grant-write-acp AuthenticatedUsers"],
        id="grant-header-authenticated-among-others",
    ),
    pytest.param({"x-amz-grant-full-control": ['id="abc"']}, [], id="grant-header-canonical-user"),
    pytest.param(_acl({"Grantee": OWNER, "Permission": "FULL_CONTROL"}), [], id="grant-owner-only"),
    pytest.param(
        _acl({"Grantee": OWNER, "Permission": "FULL_CONTROL"}, _group(ALL_USERS, "READ")),
        ["grant AllUsers READ"],
        id="grant-list-with-all-users",
    ),
    pytest.param(
        _acl(_group(AUTHENTICATED_USERS, "WRITE_ACP")), ["grant AuthenticatedUsers WRITE_ACP"], id="grant-single-dict"
    ),
    pytest.param(_acl(_group(LOG_DELIVERY, "WRITE")), [], id="grant-log-delivery-group"),
    pytest.param({"bucketName": "b"}, [], id="no-acl-at-all"),
]


@pytest.mark.parametrize(("request_parameters", "reasons"), ACLS)
def test_acl_exposure(request_parameters: dict[str, Any], reasons: list[str]) -> None:
    expected = {"public": True, "public_reasons": reasons} if reasons else {"public": False}
    assert acl_exposure(request_parameters) == expected


def _policy(statement: dict[str, Any]) -> dict[str, Any]:
    base = {"Sid": "S1", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
    return {"Version": "2012-10-17", "Statement": [base | statement]}


PUBLIC = {"public": True, "public_reasons": ["policy statement S1 allows everyone"]}
PRIVATE = {"public": False}

POLICIES = [
    pytest.param(_policy({"Principal": "*"}), PUBLIC, id="principal-star"),
    pytest.param(_policy({"Principal": {"AWS": "*"}}), PUBLIC, id="principal-aws-star"),
    pytest.param(_policy({"Principal": {"AWS": ["arn:aws:iam::111122223333:root", "*"]}}), PUBLIC, id="list-with-star"),
    pytest.param(_policy({"Principal": {"AWS": "arn:aws:iam::111122223333:root"}}), PRIVATE, id="one-account"),
    pytest.param(_policy({"Principal": {"Service": "logging.s3.amazonaws.com"}}), PRIVATE, id="service-principal"),
    pytest.param(_policy({"Principal": "*", "Effect": "Deny"}), PRIVATE, id="deny-everyone"),
    pytest.param(_policy({"NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"}}), PUBLIC, id="allow-notprincipal"),
    pytest.param(
        _policy({"Principal": "*", "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}),
        PRIVATE,
        id="source-ip-narrows",
    ),
    pytest.param(
        _policy({"Principal": "*", "Condition": {"StringEquals": {"aws:sourceVpce": "vpce-1a2b3c4d"}}}),
        PRIVATE,
        id="source-vpce-narrows-key-case-insensitive",
    ),
    pytest.param(
        _policy({"Principal": "*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": ["o-abc123"]}}}),
        PRIVATE,
        id="org-id-narrows",
    ),
    pytest.param(
        _policy({"Principal": {"AWS": "*"}, "Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"}}}),
        PRIVATE,
        id="source-account-narrows",
    ),
    pytest.param(
        _policy(
            {"Principal": "*", "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:cloudfront::1:distribution/E1"}}}
        ),
        PRIVATE,
        id="source-arn-narrows",
    ),
    pytest.param(
        _policy({"Principal": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}),
        PUBLIC,
        id="secure-transport-does-not-narrow",
    ),
    pytest.param(
        _policy({"Principal": "*", "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}}),
        PUBLIC,
        id="other-key-does-not-narrow",
    ),
    pytest.param(
        _policy({"Principal": "*", "Condition": {"IpAddress": {"aws:SourceIp": ["0.0.0.0/0"]}}}),
        PUBLIC,
        id="source-ip-everything",
    ),
    pytest.param(
        _policy({"Principal": "*", "Condition": {"StringLike": {"aws:SourceVpc": "*"}}}),
        PUBLIC,
        id="wildcard-value",
    ),
    pytest.param(
        _policy({"Principal": "*", "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}),
        PUBLIC,
        id="negated-operator",
    ),
    pytest.param(
        _policy({"Principal": "*", "Condition": {"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1"}}}),
        PUBLIC,
        id="if-exists-operator",
    ),
    pytest.param(
        _policy({"Principal": "*", "Condition": {"Null": {"aws:SourceVpce": "false"}}}),
        PUBLIC,
        id="null-operator",
    ),
    pytest.param(
        _policy({"Principal": "*", "Condition": {"ForAllValues:StringEquals": {"aws:PrincipalOrgID": "o-1"}}}),
        PUBLIC,
        id="for-all-values-operator",
    ),
]


@pytest.mark.parametrize(("policy", "expected"), POLICIES)
def test_policy_exposure(policy: dict[str, Any], expected: dict[str, Any]) -> None:
    assert policy_exposure(policy) == expected
    assert policy_exposure(json.dumps(policy)) == expected


def test_policy_names_each_public_statement_by_sid_or_position() -> None:
    policy = {
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"},
            {"Sid": "Private", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "s3:*"},
            {"Sid": "Open", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:ListBucket"},
        ]
    }
    assert policy_exposure(policy) == {
        "public": True,
        "public_reasons": ["policy statement #0 allows everyone", "policy statement Open allows everyone"],
    }


def test_policy_statement_may_be_a_single_object() -> None:
    assert policy_exposure({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:*"}})["public"] is True


@pytest.mark.parametrize("policy", ["{not json", 42, None])
def test_unreadable_policy_is_flagged_not_called_private(policy: Any) -> None:
    assert policy_exposure(policy) == {"policy_unreadable": True}


def test_condition_narrows_needs_a_fixed_value_of_a_narrowing_key() -> None:
    assert condition_narrows({"IpAddress": {"aws:SourceIp": ["198.51.100.7/32", "::/0"]}}) is False
    assert condition_narrows({"StringEquals": {"aws:SourceVpc": []}}) is False
    assert condition_narrows({"ForAnyValue:StringEquals": {"aws:PrincipalOrgID": "o-1"}}) is True
    assert condition_narrows(None) is False


FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
SNAKE = ("block_public_acls", "ignore_public_acls", "block_public_policy", "restrict_public_buckets")


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        pytest.param(dict.fromkeys(FLAGS, True), {}, id="all-on"),
        pytest.param(dict.fromkeys(FLAGS, "true"), {}, id="all-on-as-strings"),
        pytest.param(
            dict.fromkeys(FLAGS, True) | {"BlockPublicPolicy": False},
            {"public_access_block": dict.fromkeys(SNAKE, True) | {"block_public_policy": False}},
            id="one-off",
        ),
        pytest.param(
            {"BlockPublicAcls": "true", "IgnorePublicAcls": "true"},
            {
                "public_access_block": {
                    "block_public_acls": True,
                    "ignore_public_acls": True,
                    "block_public_policy": False,
                    "restrict_public_buckets": False,
                }
            },
            id="missing-flags-are-off",
        ),
        pytest.param(None, {}, id="no-configuration-no-claim"),
    ],
)
def test_public_access_block(config: dict[str, Any] | None, expected: dict[str, Any]) -> None:
    request = {"bucketName": "b"} | ({"PublicAccessBlockConfiguration": config} if config is not None else {})
    assert public_access_block_exposure(request) == expected


def test_public_access_block_removed() -> None:
    assert public_access_block_removed() == {"public_access_block": "removed"}
