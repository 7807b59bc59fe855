from __future__ import annotations

import pytest

from monitor.templating.console import console_url

ACCOUNT = "123456789012"
ROWS = [
    # (provider, resource id, event region, account, expected link)
    ("aws", "arn:aws:s3:::my-bucket", "eu-west-1", ACCOUNT,
     "https://s3.console.aws.amazon.com/s3/buckets/my-bucket?region=eu-west-1"),
    ("aws", "arn:aws:s3:::my-bucket", "", ACCOUNT,
     "https://s3.console.aws.amazon.com/s3/buckets/my-bucket"),
    ("aws", "arn:aws:s3:::my-bucket/logs/2024/a b+c.json", "us-east-1", ACCOUNT,
     "https://s3.console.aws.amazon.com/s3/object/my-bucket?region=us-east-1&prefix=logs%2F2024%2Fa%20b%2Bc.json"),
    ("aws", f"arn:aws:dynamodb:eu-central-1:{ACCOUNT}:table/Orders", "eu-central-1", ACCOUNT,
     "https://eu-central-1.console.aws.amazon.com/dynamodbv2/home?region=eu-central-1#table?name=Orders"),
    ("aws", f"arn:aws:dynamodb:eu-central-1:{ACCOUNT}:table/Orders/item/pk=42", "eu-central-1", ACCOUNT,
     "https://eu-central-1.console.aws.amazon.com/dynamodbv2/home?region=eu-central-1#item-explorer?table=Orders"),
    ("aws", f"arn:aws:ec2:us-west-2:{ACCOUNT}:instance/i-0abc123def4567890", "", ACCOUNT,
     "https://us-west-2.console.aws.amazon.com/ec2/home?region=us-west-2#InstanceDetails:instanceId=i-0abc123def4567890"),
    ("aws", f"arn:aws:ec2:us-west-2:{ACCOUNT}:security-group/sg-0123abcd", "us-west-2", ACCOUNT,
     "https://us-west-2.console.aws.amazon.com/ec2/home?region=us-west-2#SecurityGroup:groupId=sg-0123abcd"),
    ("aws", f"arn:aws-cn:ec2:cn-north-1:{ACCOUNT}:instance/i-0abc", "cn-north-1", ACCOUNT,
     "https://cn-north-1.console.amazonaws.cn/ec2/home?region=cn-north-1#InstanceDetails:instanceId=i-0abc"),
    ("gcp", "//storage.googleapis.com/projects/_/buckets/data-lake", "us", "my-project",
     "https://console.cloud.google.com/storage/browser/data-lake?project=my-project"),
    ("gcp", "//storage.googleapis.com/projects/_/buckets/data-lake", "", "",
     "https://console.cloud.google.com/storage/browser/data-lake"),
    ("gcp", "//storage.googleapis.com/projects/_/buckets/data-lake/objects/raw/x y.csv", "", "my-project",
     "https://console.cloud.google.com/storage/browser/_details/data-lake/raw%2Fx%20y.csv?project=my-project"),
    ("gcp", "//compute.googleapis.com/projects/my-project/zones/us-central1-f/instances/web-1", "us-central1", "",
     "https://console.cloud.google.com/compute/instancesDetail/zones/us-central1-f/instances/web-1?project=my-project"),
    ("gcp", "//compute.googleapis.com/projects/my-project/global/firewalls/allow-ssh", "", "my-project",
     "https://console.cloud.google.com/networking/firewalls/details/allow-ssh?project=my-project"),
    ("gcp", "//bigquery.googleapis.com/projects/my-project/datasets/sales", "", "my-project",
     "https://console.cloud.google.com/bigquery?project=my-project&p=my-project&d=sales&page=dataset"),
    ("gcp", "//bigquery.googleapis.com/projects/my-project/datasets/sales/tables/orders_2024", "", "my-project",
     "https://console.cloud.google.com/bigquery?project=my-project&p=my-project&d=sales&t=orders_2024&page=table"),
    ("gcp", "//sqladmin.googleapis.com/projects/my-project/instances/main-db", "", "my-project",
     "https://console.cloud.google.com/sql/instances/main-db/overview?project=my-project"),
    ("gcp", "//cloudsql.googleapis.com/projects/my-project/instances/main-db", "", "my-project",
     "https://console.cloud.google.com/sql/instances/main-db/overview?project=my-project"),
]


@pytest.mark.parametrize(("provider", "resource_id", "region", "account", "expected"), ROWS,
                         ids=[row[1] for row in ROWS])
def test_console_links(provider: str, resource_id: str, region: str, account: str, expected: str) -> None:
    assert console_url({"id": resource_id}, provider, region, account) == expected


@pytest.mark.parametrize(("provider", "resource_id"), [
    ("aws", "arn:aws:lambda:us-east-1:123456789012:function:f"),
    ("aws", "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc/../../evil"),
    ("aws", "arn:aws:ec2:us-east-1:evil.com:instance/i-0abc"),
    ("gcp", "//pubsub.googleapis.com/projects/p/topics/t"),
    ("gcp", "//compute.googleapis.com/projects/p/zones/z/instances/a?b"),
    ("azure", "/subscriptions/s/resourceGroups/r"),
    ("aws", ""),
])
def test_unknown_or_malformed_ids_give_no_link(provider: str, resource_id: str) -> None:
    assert console_url({"id": resource_id}, provider, "us-east-1", "123456789012") is None


def test_names_from_outside_cannot_break_out_of_the_link() -> None:
    url = console_url({"id": 'arn:aws:s3:::b/"><script>x</script>?a=1&b#c'}, "aws", "us-east-1")
    assert url == ("https://s3.console.aws.amazon.com/s3/object/b?region=us-east-1"
                   "&prefix=%22%3E%3Cscript%3Ex%3C%2Fscript%3E%3Fa%3D1%26b%23c")


def test_the_region_in_the_arn_wins_over_the_event_region() -> None:
    url = console_url({"id": "arn:aws:dynamodb:ap-south-1:123456789012:table/T"}, "aws", "us-east-1")
    assert url is not None and url.startswith("https://ap-south-1.console.aws.amazon.com/")
