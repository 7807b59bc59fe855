"""Inventory across two accounts through a role assumed in each (moto gives each assumed role's credentials
the role's account)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from monitor.inventory.sessions import Sessions
from monitor.inventory.settings import InventoryInput
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


def test_assumed_credentials_are_kept_until_near_expiry_and_clients_retry_adaptively(aws: Aws) -> None:
    now = [datetime.now(UTC)]
    settings = InventoryInput(endpoint_url=aws.endpoint, regions=[aws.region], accounts=[ACCOUNTS[0]], role=ROLE)
    sessions = Sessions(settings, clock=lambda: now[0])
    first = sessions.session(ACCOUNTS[0])
    now[0] += timedelta(minutes=45)  # moto's credentials last an hour, as STS's do by default
    assert sessions.session(ACCOUNTS[0]) is first
    now[0] += timedelta(minutes=6)  # within ten minutes of expiry: assumed again
    renewed = sessions.session(ACCOUNTS[0])
    assert renewed is not first
    assert renewed.client("sts", endpoint_url=aws.endpoint, region_name=aws.region).get_caller_identity()[
        "Account"] == ACCOUNTS[0]
    client = sessions.client(ACCOUNTS[0], "s3", aws.region)
    assert client.meta.config.retries["mode"] == "adaptive"
    assert client.meta.config.retries["total_max_attempts"] == 10
