"""Links to a resource in its cloud console, from the resource id alone (an ARN or a full resource name).

Each row pairs a pattern over the id with a link; the patterns only accept the characters the providers
allow in those positions, and names that come from outside (object keys) are percent-encoded, so an id
cannot smuggle anything into the link.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from urllib.parse import quote

Link = Callable[[dict[str, str]], str]

# The AWS partition in an ARN decides the console's domain.
AWS_CONSOLES = {
    "aws": "console.aws.amazon.com",
    "aws-cn": "console.amazonaws.cn",
    "aws-us-gov": "console.amazonaws-us-gov.com",
}
GCP_CONSOLE = "https://console.cloud.google.com"

_PARTITION = r"(?P<partition>aws(?:-cn|-us-gov)?)"
_REGION = r"(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)"
_ACCOUNT = r"(?P<account>\d{12})"


def _q(value: str) -> str:
    return quote(value, safe="")


def _aws_regional(m: dict[str, str], path: str) -> str:
    region = m["region"]
    return f"https://{region}.{AWS_CONSOLES[m['partition']]}/{path.format(region=region)}"


def _s3_bucket(m: dict[str, str]) -> str:
    region = f"?region={m['region']}" if m.get("region") else ""
    return f"https://s3.{AWS_CONSOLES[m['partition']]}/s3/buckets/{_q(m['bucket'])}{region}"


def _s3_object(m: dict[str, str]) -> str:
    region = f"region={m['region']}&" if m.get("region") else ""
    return f"https://s3.{AWS_CONSOLES[m['partition']]}/s3/object/{_q(m['bucket'])}?{region}prefix={_q(m['key'])}"


def _dynamodb_table(m: dict[str, str]) -> str:
    return _aws_regional(m, "dynamodbv2/home?region={region}#table?name=" + _q(m["table"]))


def _dynamodb_item(m: dict[str, str]) -> str:
    return _aws_regional(m, "dynamodbv2/home?region={region}#item-explorer?table=" + _q(m["table"]))


def _ec2_instance(m: dict[str, str]) -> str:
    return _aws_regional(m, "ec2/home?region={region}#InstanceDetails:instanceId=" + m["instance"])


def _ec2_security_group(m: dict[str, str]) -> str:
    return _aws_regional(m, "ec2/home?region={region}#SecurityGroup:groupId=" + m["group"])


def _gcp(path: str, project: str) -> str:
    return f"{GCP_CONSOLE}/{path}" + (f"?project={_q(project)}" if project else "")


def _gcs_bucket(m: dict[str, str]) -> str:
    return _gcp(f"storage/browser/{_q(m['bucket'])}", m.get("account", ""))


def _gcs_object(m: dict[str, str]) -> str:
    return _gcp(f"storage/browser/_details/{_q(m['bucket'])}/{_q(m['object'])}", m.get("account", ""))


def _gce_vm(m: dict[str, str]) -> str:
    return _gcp(f"compute/instancesDetail/zones/{m['zone']}/instances/{m['name']}", m["project"])


def _gce_firewall(m: dict[str, str]) -> str:
    return _gcp(f"networking/firewalls/details/{m['name']}", m["project"])


def _bq_dataset(m: dict[str, str]) -> str:
    p = _q(m["project"])
    return f"{GCP_CONSOLE}/bigquery?project={p}&p={p}&d={m['dataset']}&page=dataset"


def _bq_table(m: dict[str, str]) -> str:
    p = _q(m["project"])
    return f"{GCP_CONSOLE}/bigquery?project={p}&p={p}&d={m['dataset']}&t={_q(m['table'])}&page=table"


def _sql_instance(m: dict[str, str]) -> str:
    return _gcp(f"sql/instances/{m['instance']}/overview", m["project"])


_GCP_PROJECT = r"(?P<project>[a-z][a-z0-9:.-]*[a-z0-9])"
ROWS: dict[str, list[tuple[re.Pattern[str], Link]]] = {
    "aws": [
        (re.compile(rf"arn:{_PARTITION}:s3:::(?P<bucket>[A-Za-z0-9][A-Za-z0-9._-]*)/(?P<key>.+)", re.S), _s3_object),
        (re.compile(rf"arn:{_PARTITION}:s3:::(?P<bucket>[A-Za-z0-9][A-Za-z0-9._-]*)"), _s3_bucket),
        (re.compile(rf"arn:{_PARTITION}:dynamodb:{_REGION}:{_ACCOUNT}:table/(?P<table>[A-Za-z0-9_.-]+)"),
         _dynamodb_table),
        (re.compile(rf"arn:{_PARTITION}:dynamodb:{_REGION}:{_ACCOUNT}:table/(?P<table>[A-Za-z0-9_.-]+)/item/.*",
                    re.S), _dynamodb_item),
        (re.compile(rf"arn:{_PARTITION}:ec2:{_REGION}:{_ACCOUNT}:instance/(?P<instance>i-[0-9a-f]+)"),
         _ec2_instance),
        (re.compile(rf"arn:{_PARTITION}:ec2:{_REGION}:{_ACCOUNT}:security-group/(?P<group>sg-[0-9a-f]+)"),
         _ec2_security_group),
    ],
    "gcp": [
        (re.compile(r"//storage\.googleapis\.com/projects/[^/]+/buckets/(?P<bucket>[a-z0-9][a-z0-9._-]*)"
                    r"/objects/(?P<object>.+)", re.S), _gcs_object),
        (re.compile(r"//storage\.googleapis\.com/projects/[^/]+/buckets/(?P<bucket>[a-z0-9][a-z0-9._-]*)"),
         _gcs_bucket),
        (re.compile(rf"//compute\.googleapis\.com/projects/{_GCP_PROJECT}/zones/(?P<zone>[a-z0-9-]+)"
                    r"/instances/(?P<name>[a-z0-9-]+)"), _gce_vm),
        (re.compile(rf"//compute\.googleapis\.com/projects/{_GCP_PROJECT}/global/firewalls/(?P<name>[a-z0-9-]+)"),
         _gce_firewall),
        (re.compile(rf"//bigquery\.googleapis\.com/projects/{_GCP_PROJECT}/datasets/(?P<dataset>[A-Za-z0-9_]+)"
                    r"/tables/(?P<table>[^/]+)"), _bq_table),
        (re.compile(rf"//bigquery\.googleapis\.com/projects/{_GCP_PROJECT}/datasets/(?P<dataset>[A-Za-z0-9_]+)"),
         _bq_dataset),
        (re.compile(rf"//(?:sqladmin|cloudsql)\.googleapis\.com/projects/{_GCP_PROJECT}"
                    r"/instances/(?P<instance>[a-z][a-z0-9-]*)"), _sql_instance),
    ],
}


def console_url(resource: Mapping[str, str], provider: str, region: str = "", account: str = "") -> str | None:
    """The console page of ``resource`` (a mapping with an ``id``), or None for ids no row knows."""
    resource_id = resource.get("id", "")
    for pattern, link in ROWS.get(provider, []):
        found = pattern.fullmatch(resource_id)
        if found:
            facts = {"region": region, "account": account}
            facts.update({k: v for k, v in found.groupdict().items() if v is not None})
            return link(facts)
    return None
