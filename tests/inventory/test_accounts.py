"""Inventory across two accounts through a role assumed in each (moto gives each assumed role's credentials
the role's account)."""

from __future__ import annotations

from typing import Any

import boto3

from monitor.store.base import Store
from tests.integration.conftest import Aws
from tests.inventory.conftest import Inventory

ACCOUNTS = ("111111111111", "222222222222")
ROLE = "arn:aws:iam::{account}:role/MonitorInventory"


def _s3_in(aws: Aws, account: str) -> Any:
    sts = aws.client("sts")
    credentials = sts.assume_role(RoleArn=ROLE.format(account=account), RoleSessionName="setup")["Credentials"]
    return boto3.client("s3", region_name=aws.region, endpoint_url=aws.endpoint,
                        aws_access_key_id=credentials["AccessKeyId"],
                        aws_secret_access_key=credentials["SecretAccessKey"],
                        aws_session_token=credentials["SessionToken"])


def test_two_accounts_through_assumed_roles(aws: Aws, store: Store) -> None:
    first, second = (_s3_in(aws, account) for account in ACCOUNTS)
    first.create_bucket(Bucket="first-data")
    second.create_bucket(Bucket="second-data")
    second.create_bucket(Bucket="second-logs")
    aws.client("s3").create_bucket(Bucket="not-listed")  # the default account is not one of them
    inventory = Inventory(aws, store, accounts=list(ACCOUNTS), role=ROLE)
    baseline = inventory.run()
    assert (baseline.seen, baseline.scopes, baseline.baselines) == (3, 2, 2)

    second.put_bucket_acl(Bucket="second-logs", ACL="public-read")
    first.delete_bucket(Bucket="first-data")
    found = inventory.run()
    assert sorted((e.account, e.action, e.resource.name, e.resource.parent) for e in found.events) == [
        ("111111111111", "deleted", "first-data", "111111111111"),
        ("222222222222", "permissions_changed", "second-logs", "222222222222"),
    ]
    assert inventory.sessions.session(ACCOUNTS[0]) is inventory.sessions.session(ACCOUNTS[0])  # cached
    assert inventory.sessions.session(ACCOUNTS[0]) is not inventory.sessions.session(ACCOUNTS[1])
    assert inventory.run().events == []
