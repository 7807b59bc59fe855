"""The generated rule samples (rules/*/samples/generated_*.json): bursts too long to write by hand.

Run ``python -m tests.rules.make_samples`` to write them; tests/rules/test_samples_current.py checks that the
files in the repository are what this script gives, so a change here is a change there.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.rules import payloads as p

ROOT = Path(__file__).resolve().parents[2] / "rules"
MALLORY = p.user("mallory")
OPS = p.user("ops-oncall")
ETL = p.role("etl-nightly", "glue-job-run-7731")
DEPLOYER = p.role("ci-deploy", "gha-run-5521")
ATTACKER_IP = "185.220.101.4"
READ_CALLS = [
    ("ListBuckets", "s3"), ("GetBucketPolicy", "s3"), ("GetBucketAcl", "s3"), ("ListObjectsV2", "s3"),
    ("GetBucketVersioning", "s3"), ("GetBucketLogging", "s3"), ("DescribeInstances", "ec2"),
    ("DescribeSnapshots", "ec2"), ("DescribeImages", "ec2"), ("DescribeSecurityGroups", "ec2"),
    ("DescribeVpcs", "ec2"), ("DescribeSubnets", "ec2"), ("DescribeVolumes", "ec2"), ("DescribeRegions", "ec2"),
    ("DescribeKeyPairs", "ec2"), ("DescribeFlowLogs", "ec2"), ("ListTables", "dynamodb"),
    ("DescribeTable", "dynamodb"), ("ListBackups", "dynamodb"), ("DescribeTrails", "cloudtrail"),
    ("GetTrailStatus", "cloudtrail"), ("ListUsers", "iam"), ("ListRoles", "iam"), ("ListAccessKeys", "iam"),
    ("GetAccountAuthorizationDetails", "iam"), ("ListSecrets", "secretsmanager"), ("DescribeDBInstances", "rds"),
    ("DescribeDBSnapshots", "rds"), ("ListFunctions20150331", "lambda"), ("GetCallerIdentity", "sts"),
]


def s3_deletions_by_principal() -> list[dict[str, Any]]:
    """mallory deletes 60 objects over 8 minutes in two buckets; ops deletes 20 old exports."""
    records = [
        p.s3_call("DeleteObject", p.at(10 + i * 8 / 60), MALLORY, ("customer-data", "invoices")[i % 2],
                  f"2026/records-{i:04d}.parquet", ip=ATTACKER_IP)
        for i in range(60)
    ]
    records += [p.s3_call("DeleteObject", p.at(30 + i), OPS, "reports", f"exports/old-{i:03d}.csv") for i in range(20)]
    return records


def s3_scratch_cleanup() -> list[dict[str, Any]]:
    """The nightly ETL job reads and clears 100 staging files within a minute."""
    records = []
    for i in range(100):
        key = f"staging/run-7731/part-{i:05d}.json"
        records.append(p.s3_call("GetObject", p.at(60 + i * 0.005), ETL, "data-lake", key))
        records.append(p.s3_call("DeleteObject", p.at(61 + i * 0.005), ETL, "data-lake", key))
    return records


def s3_batch_deletions() -> list[dict[str, Any]]:
    """mallory runs 8 batch deletions in 4 minutes; the ETL job runs 2; Terraform empties a bucket in 6."""
    records = [p.delete_objects(p.at(10 + i * 0.5), MALLORY, ("customer-data", "invoices", "backups-db")[i % 3])
               for i in range(8)]
    records += [p.delete_objects(p.at(40 + i), ETL, "data-lake") for i in range(2)]
    records += [p.delete_objects(p.at(50 + i * 0.2), DEPLOYER, "review-app-42", agent=p.TERRAFORM) for i in range(6)]
    return records


def denied_burst() -> list[dict[str, Any]]:
    """A leaked key tries 24 calls it may not make within 6 minutes; an app is refused 10 times in an hour."""
    leaked = p.user("ci-bot")
    calls = READ_CALLS[:12]
    records = [
        p.cloudtrail(name, source, p.at(20 + i * 0.25), leaked, {}, ip=ATTACKER_IP, error="AccessDenied",
                     agent="Boto3/1.34.51 md/Botocore#1.34.51 ua/2.0 os/linux#6.5.0 lang#python#3.11.6")
        for i, (name, source) in enumerate(calls * 2)
    ]
    app = p.role("web-app", "i-0a1b2c3d4e5f60718")
    records += [p.cloudtrail("GetObject", "s3", p.at(5 + i * 6), app, {"bucketName": "private-assets", "key": f"k{i}"},
                             ip="10.0.3.17", error="AccessDenied")
                for i in range(10)]
    return records


def enumeration() -> list[dict[str, Any]]:
    """A leaked key reads 30 different APIs within 5 minutes; the console and Terraform read as widely."""
    leaked = p.user("ci-bot")
    records = [p.cloudtrail(name, source, p.at(20 + i / 6), leaked, {}, ip=ATTACKER_IP,
                            agent="aws-cli/1.32.0 Python/3.11.6 Linux/6.5.0 botocore/1.34.0")
               for i, (name, source) in enumerate(READ_CALLS)]
    console = p.role("Admin", "alice")
    records += [p.cloudtrail(name, source, p.at(40 + i / 6), console, {}, ip="192.0.2.50",
                             agent="console.amazonaws.com") for i, (name, source) in enumerate(READ_CALLS)]
    records += [p.cloudtrail(name, source, p.at(60 + i / 6), DEPLOYER, {}, ip="198.51.100.20",
                             agent=p.TERRAFORM) for i, (name, source) in enumerate(READ_CALLS)]
    return records


def _run(time: str, identity: dict[str, Any], region: str, instance: str, instance_type: str, *,
         error: str | None = None, **extra: Any) -> dict[str, Any]:
    request = {"instanceType": instance_type, "instancesSet": {"items": [{"imageId": "ami-0c55b159cbfafe1f0",
                                                                          "minCount": 1, "maxCount": 1}]}}
    response = None if error else {"instancesSet": {"items": [{"instanceId": instance, "instanceType": instance_type,
                                                               "instanceState": {"code": 0, "name": "pending"}}]}}
    return p.cloudtrail("RunInstances", "ec2", time, identity, request, response=response, region=region, error=error,
                        **extra)


def launches_across_regions() -> list[dict[str, Any]]:
    """mallory launches in 4 regions within 40 minutes (one refused); Auto Scaling launches in 3 regions."""
    regions = ["us-east-1", "ap-southeast-1", "sa-east-1", "eu-north-1"]
    records = [_run(p.at(10 + i * 10), MALLORY, region, f"i-0f{i:015x}", "c5.4xlarge",
                    error="Client.UnauthorizedOperation" if i == 2 else None, ip=ATTACKER_IP)
               for i, region in enumerate(regions)]
    asg = p.role("AWSServiceRoleForAutoScaling", "AutoScaling", invoked_by="autoscaling.amazonaws.com")
    records += [_run(p.at(30 + i), asg, region, f"i-0a{i:015x}", "m5.large", ip="autoscaling.amazonaws.com",
                     agent="autoscaling.amazonaws.com")
                for i, region in enumerate(["eu-west-1", "us-east-1", "ap-northeast-1"])]
    return records


def denied_gpu_launches() -> list[dict[str, Any]]:
    """mallory tries six GPU launches within 5 minutes and is refused each time; one dry run succeeds."""
    records = [_run(p.at(10 + i * 0.8), MALLORY, "eu-west-1", "", ("p3.2xlarge", "g5.12xlarge")[i % 2],
                    error="Client.UnauthorizedOperation", ip=ATTACKER_IP) for i in range(6)]
    records.append(_run(p.at(9), OPS, "eu-west-1", "", "g5.xlarge", error="Client.DryRunOperation"))
    return records


def gcs_deletions_by_principal() -> list[dict[str, Any]]:
    """A stolen key deletes 60 objects in 6 minutes (Data Access logs); the ETL account clears 150 staging files."""
    stolen = "svc-reporting@acme-prod.iam.gserviceaccount.com"
    records = [p.gcp_entry("storage.objects.delete", f"projects/_/buckets/acme-exports/objects/2026/r-{i:04d}.csv",
                           p.at(10 + i * 0.1), stolen, service_name="storage.googleapis.com", log="data_access",
                           ip=ATTACKER_IP, resource_type="gcs_bucket") for i in range(60)]
    etl = "etl-runner@acme-prod.iam.gserviceaccount.com"
    records += [p.gcp_entry("storage.objects.delete", f"projects/_/buckets/acme-lake/objects/staging/p-{i:05d}.avro",
                            p.at(30 + i * 0.01), etl, service_name="storage.googleapis.com", log="data_access",
                            ip="10.128.0.7", resource_type="gcs_bucket") for i in range(150)]
    return records


def gcp_denied_burst() -> list[dict[str, Any]]:
    """A stolen key is refused 24 times in 6 minutes across compute and storage."""
    stolen = "svc-reporting@acme-prod.iam.gserviceaccount.com"
    methods = [("v1.compute.instances.list", f"projects/{p.PROJECT}/zones/europe-west1-b/instances", "compute"),
               ("storage.buckets.list", f"projects/{p.PROJECT}", "storage"),
               ("v1.compute.disks.list", f"projects/{p.PROJECT}/zones/europe-west1-b/disks", "compute"),
               ("v1.compute.snapshots.list", f"projects/{p.PROJECT}/global/snapshots", "compute")]
    denied = {"code": 7, "message": "PERMISSION_DENIED"}
    return [p.gcp_entry(method, name, p.at(20 + i * 0.25), stolen, service_name=f"{svc}.googleapis.com",
                        log="data_access", ip=ATTACKER_IP, status=denied)
            for i, (method, name, svc) in enumerate(methods * 6)]


def mass_termination() -> list[dict[str, Any]]:
    """EC2 reports 24 instances terminated within 6 minutes (a wiped account), then 3 more an hour later."""
    records = [p.ec2_state(p.at(10 + i * 0.25), f"i-0c{i:015x}", "terminated") for i in range(24)]
    return records + [p.ec2_state(p.at(70 + i), f"i-0d{i:015x}", "terminated") for i in range(3)]


GCP_READ_METHODS = [
    "v1.compute.instances.list", "v1.compute.disks.list", "v1.compute.snapshots.list", "v1.compute.images.list",
    "v1.compute.firewalls.list", "v1.compute.networks.list", "v1.compute.subnetworks.list", "v1.compute.zones.list",
    "v1.compute.regions.list", "v1.compute.instances.aggregatedList", "v1.compute.projects.get",
    "storage.buckets.list", "storage.buckets.get", "storage.buckets.getIamPolicy", "storage.objects.list",
    "google.iam.admin.v1.ListServiceAccounts", "google.iam.admin.v1.ListServiceAccountKeys",
    "google.iam.admin.v1.GetServiceAccount", "GetIamPolicy",
    "google.cloud.secretmanager.v1.SecretManagerService.ListSecrets", "cloudsql.instances.list",
    "cloudsql.databases.list", "google.cloud.bigquery.v2.DatasetService.ListDatasets",
    "google.cloud.bigquery.v2.TableService.ListTables", "google.container.v1.ClusterManager.ListClusters",
    "google.logging.v2.ConfigServiceV2.ListSinks",
]


def gcp_enumeration() -> list[dict[str, Any]]:
    """A stolen key calls 26 different read methods in 5 minutes; Terraform refreshing reads as many."""
    stolen = "svc-reporting@acme-prod.iam.gserviceaccount.com"
    deployer = "ci-deploy@acme-prod.iam.gserviceaccount.com"
    records = [p.gcp_entry(method, f"projects/{p.PROJECT}", p.at(10 + i / 5), who, log="data_access",
                           service_name="cloudresourcemanager.googleapis.com", ip=ip, agent=agent)
               for who, ip, agent, offset in ((stolen, ATTACKER_IP, "python-requests/2.31.0", 0),
                                              (deployer, "198.51.100.20", p.GCP_TERRAFORM, 30))
               for i, method in enumerate(GCP_READ_METHODS, start=offset)]
    return sorted(records, key=lambda entry: entry["timestamp"])


SAMPLES: dict[str, Callable[[], list[dict[str, Any]]]] = {
    "aws/samples/generated_s3_deletions_by_principal.json": s3_deletions_by_principal,
    "aws/samples/generated_s3_scratch_cleanup.json": s3_scratch_cleanup,
    "aws/samples/generated_s3_batch_deletions.json": s3_batch_deletions,
    "aws/samples/generated_denied_burst.json": denied_burst,
    "aws/samples/generated_enumeration.json": enumeration,
    "aws/samples/generated_ec2_launches_across_regions.json": launches_across_regions,
    "aws/samples/generated_ec2_denied_gpu_launches.json": denied_gpu_launches,
    "aws/samples/generated_ec2_mass_termination.json": mass_termination,
    "gcp/samples/generated_gcs_deletions_by_principal.json": gcs_deletions_by_principal,
    "gcp/samples/generated_denied_burst.json": gcp_denied_burst,
    "gcp/samples/generated_enumeration.json": gcp_enumeration,
}


def render(make: Callable[[], list[dict[str, Any]]]) -> str:
    return json.dumps(make(), indent=None, separators=(",", ":")).replace("},{", "},\n{") + "\n"


def main() -> None:
    for name, make in SAMPLES.items():
        (ROOT / name).write_text(render(make))


if __name__ == "__main__":
    main()
