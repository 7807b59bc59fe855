"""A benign day of ordinary operations in one AWS account and one GCP project, as raw payloads in time order.

What happens (2026-03-02, UTC), each the way the cloud records it:
- 00:30-01:30 AWS Backup snapshots the volumes, copies them to the backup account and deletes expired ones;
  the nightly database dump lands in the backup bucket; GCP's snapshot schedule snapshots the disks.
- 02:00-03:00 S3 lifecycle rules expire 300 old log objects; Cloud Storage lifecycle deletes 100 objects.
- 03:00 the ETL job reads and clears its staging prefix (CloudTrail data events and S3 notifications, two
  DeleteObjects batches) and its GCS counterpart does the same (Data Access logs).
- 09:00-17:00 the web application reads and writes its objects through a VPC endpoint; VMs call Google APIs
  with the default service account from inside the VPC; an engineer browses the console; an app is
  refused a few times.
- 10:00 a load balancer's security group and firewall rule are opened on 443 to the internet.
- 14:00 CloudFormation deletes a stack; Terraform destroys a review environment on AWS and GCP (after a
  refresh that reads everything it manages).
- 18:00-19:00 Auto Scaling scales in (TerminateInstances, and EC2's state-change notifications); a managed
  instance group scales in.
"""

from __future__ import annotations

from typing import Any

from tests.rules import payloads as p

APP = p.role("web-app", "i-0a1b2c3d4e5f60718")
ETL = p.role("etl-nightly", "glue-job-run-7731")
DEPLOYER = p.role("ci-deploy", "gha-run-5521")
ENGINEER = p.role("Admin", "alice")
OPS = p.user("ops-oncall")
ASG = p.role("AWSServiceRoleForAutoScaling", "AutoScaling", invoked_by="autoscaling.amazonaws.com")
BACKUP = p.role("AWSBackupDefaultServiceRole", "AWSBackup-7a1d", invoked_by="backup.amazonaws.com")
CFN = p.role("cfn-exec", "AWSCloudFormation", invoked_by="cloudformation.amazonaws.com")
GCP_AGENT = f"{p.PROJECT_NUMBER}@cloudservices.gserviceaccount.com"
GCP_DEFAULT_SA = f"{p.PROJECT_NUMBER}-compute@developer.gserviceaccount.com"
GCP_DEPLOYER = "ci-deploy@acme-prod.iam.gserviceaccount.com"
GCP_ETL = "etl-runner@acme-prod.iam.gserviceaccount.com"
GCP_SNAPSHOTS = f"service-{p.PROJECT_NUMBER}@compute-system.iam.gserviceaccount.com"
SCHEDULE = "Instance Scheduler"


def _sequencer(minute: float, index: int) -> str:
    return f"{int(minute * 1000):012X}{index:06X}"


def backups() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for i in range(6):
        volume, snapshot = f"vol-0b{i:015x}", f"snap-0b{i:015x}"
        minute = 30 + i * 5
        agent = {"ip": "backup.amazonaws.com", "agent": "backup.amazonaws.com"}
        events.append(p.cloudtrail("CreateSnapshot", "ec2", p.at(minute), BACKUP, {"volumeId": volume},
                                   response={"snapshotId": snapshot, "volumeId": volume, "status": "pending"}, **agent))
        events.append(p.cloudtrail("ModifySnapshotAttribute", "ec2", p.at(minute + 2), BACKUP,
                                   {"snapshotId": snapshot, "attributeType": "CREATE_VOLUME_PERMISSION",
                                    "createVolumePermission": {"add": {"items": [{"userId": "777766665555"}]}}},
                                   **agent))
        events.append(p.cloudtrail("DeleteSnapshot", "ec2", p.at(minute + 3), BACKUP,
                                   {"snapshotId": f"snap-0e{i:015x}"}, **agent))
    events.append(p.s3_notification("ObjectCreated:Put", p.at(60), "acme-db-backups", "nightly/2026-03-02.dump",
                                    sequencer=_sequencer(60, 0), size=8_421_113_344))
    events += [p.gcp_entry("v1.compute.disks.createSnapshot", f"projects/{p.PROJECT}/zones/europe-west1-b/disks/d-{i}",
                           p.at(40 + i), GCP_SNAPSHOTS, service_name="compute.googleapis.com", ip="",
                           agent="GCE Snapshot Schedule", request={"name": f"d-{i}-20260302"})
               for i in range(4)]
    return events


def lifecycle() -> list[dict[str, Any]]:
    events = [p.s3_notification("LifecycleExpiration:Delete", p.at(120 + i * 0.2), "acme-app-logs",
                                f"alb/2025/12/{i % 28 + 1:02d}/log-{i:05d}.gz", sequencer=_sequencer(120, i),
                                principal="s3.amazonaws.com") for i in range(300)]
    events += [p.gcs_notification("OBJECT_DELETE", p.at(150 + i * 0.3), "acme-archive", f"exports/2025/e-{i:04d}.csv",
                                  1_700_000_000_000_000 + i) for i in range(100)]
    return events


def etl() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for i in range(60):
        key, minute = f"staging/run-7731/part-{i:05d}.json", 180 + i * 0.05
        events.append(p.s3_call("GetObject", p.at(minute), ETL, "data-lake", key, ip="10.0.5.12"))
        events.append(p.s3_call("DeleteObject", p.at(minute + 3), ETL, "data-lake", key, ip="10.0.5.12"))
        events.append(p.s3_notification("ObjectRemoved:Delete", p.at(minute + 3), "data-lake", key,
                                        sequencer=_sequencer(minute + 3, i)))
    events += [p.delete_objects(p.at(190 + i), ETL, "data-lake") for i in range(2)]
    events += [p.gcp_entry("storage.objects.delete", f"projects/_/buckets/acme-lake/objects/staging/p-{i:05d}.avro",
                           p.at(200 + i * 0.02), GCP_ETL, service_name="storage.googleapis.com", log="data_access",
                           ip="10.128.0.7", resource_type="gcs_bucket") for i in range(80)]
    return events


def daytime() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for i in range(40):
        minute = 540 + i * 12
        events.append(p.s3_call("GetObject", p.at(minute), APP, "web-assets", f"img/{i:03d}.png", ip="10.0.3.17"))
        events.append(p.s3_call("PutObject", p.at(minute + 1), APP, "web-uploads", f"u/{i:04d}.jpg", ip="10.0.3.17"))
        events.append(p.gcp_entry("storage.objects.get", f"projects/_/buckets/acme-assets/objects/img/{i:03d}.png",
                                  p.at(minute + 2), GCP_DEFAULT_SA, service_name="storage.googleapis.com",
                                  log="data_access", ip="10.128.0.9", resource_type="gcs_bucket"))
    describe = ["DescribeInstances", "DescribeSecurityGroups", "DescribeVpcs", "DescribeSubnets", "DescribeVolumes",
                "DescribeSnapshots", "DescribeImages", "DescribeLoadBalancers", "DescribeTargetGroups",
                "DescribeAutoScalingGroups", "DescribeAlarms", "DescribeKeyPairs", "DescribeAddresses",
                "DescribeNatGateways", "DescribeRouteTables", "DescribeNetworkAcls", "DescribeFlowLogs",
                "DescribeInstanceTypes", "DescribeLaunchTemplates", "DescribeTags", "DescribeRegions",
                "DescribeAvailabilityZones", "DescribeAccountAttributes", "DescribeVpcEndpoints",
                "DescribeTransitGateways", "DescribeCapacityReservations"]
    events += [p.cloudtrail(name, "ec2", p.at(600 + i / 4), ENGINEER, {}, ip="192.0.2.50",
                            agent="console.amazonaws.com") for i, name in enumerate(describe)]
    events += [p.cloudtrail("GetObject", "s3", p.at(700 + i * 20), APP, {"bucketName": "private-assets", "key": "x"},
                            ip="10.0.3.17", error="AccessDenied") for i in range(5)]
    return events


def load_balancer_443() -> list[dict[str, Any]]:
    rule = {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "groups": {}, "ipv6Ranges": {},
            "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0", "description": "public HTTPS"}]}, "prefixListIds": {}}
    return [
        p.cloudtrail("AuthorizeSecurityGroupIngress", "ec2", p.at(600), OPS,
                     {"groupId": "sg-0a1b2c3d4e5f60718", "ipPermissions": {"items": [rule]}},
                     response={"_return": True}),
        p.gcp_entry("v1.compute.firewalls.insert", f"projects/{p.PROJECT}/global/firewalls/allow-lb-https",
                    p.at(605), "ops@example.com", service_name="compute.googleapis.com",
                    request={"name": "allow-lb-https", "direction": "INGRESS", "sourceRanges": ["0.0.0.0/0"],
                             "alloweds": [{"IPProtocol": "tcp", "ports": ["443"]}], "targetTags": ["lb-backend"]}),
    ]


def _cfn(name: str, source: str, minute: float, request: dict[str, Any]) -> dict[str, Any]:
    return p.cloudtrail(name, source, p.at(minute), CFN, request, ip="cloudformation.amazonaws.com",
                        agent="cloudformation.amazonaws.com")


def _terraform(name: str, source: str, minute: float, request: Any, **extra: Any) -> dict[str, Any]:
    return p.cloudtrail(name, source, p.at(minute), DEPLOYER, request, ip="198.51.100.20", agent=p.TERRAFORM,
                        **extra)


def cloudformation_teardown() -> list[dict[str, Any]]:
    return [
        p.cloudtrail("DeleteStack", "cloudformation", p.at(840), OPS, {"stackName": "reporting-v1"}),
        _cfn("DeleteBucket", "s3", 841, {"bucketName": "reporting-v1-output"}),
        *[_cfn("DeleteTable", "dynamodb", 842 + i * 0.2, {"tableName": f"reporting-v1-{t}"})
          for i, t in enumerate(["jobs", "runs", "locks", "cache", "audit", "users"])],
        _cfn("TerminateInstances", "ec2", 843, {"instancesSet": {"items": [{"instanceId": "i-0c1f00000000000a1"}]}}),
        _cfn("DeleteFlowLogs", "ec2", 844, {"DeleteFlowLogsRequest": {"FlowLogId": {"tag": 1, "content": "fl-0c1"}}}),
        _cfn("DeleteSecurityGroup", "ec2", 845, {"groupId": "sg-0c1f0000000000001"}),
    ]


def terraform_teardown() -> list[dict[str, Any]]:
    reads = ["DescribeInstances", "DescribeSecurityGroups", "DescribeVpcs", "DescribeSubnets", "DescribeVolumes",
             "DescribeFlowLogs", "DescribeKeyPairs", "DescribeImages", "DescribeSnapshots", "DescribeRouteTables",
             "DescribeNetworkAcls", "DescribeInstanceAttribute", "DescribeVpcAttribute", "DescribeAddresses",
             "DescribeNatGateways", "DescribeInternetGateways", "DescribeLaunchTemplates", "DescribeTags",
             "GetBucketPolicy", "GetBucketAcl", "GetBucketVersioning", "GetBucketLogging", "GetBucketLifecycle",
             "GetBucketTagging", "GetBucketEncryption", "DescribeTable", "DescribeContinuousBackups",
             "DescribeTimeToLive", "ListTagsOfResource", "GetBucketReplication"]
    sources = {"Get": "s3", "Lis": "dynamodb"}
    events = [_terraform(name, "dynamodb" if "Table" in name or "Backups" in name or "TimeToLive" in name
                         else sources.get(name[:3], "ec2"), 900 + i / 10, {}) for i, name in enumerate(reads)]
    events += [p.delete_objects(p.at(905 + i * 0.1), DEPLOYER, "review-app-42", agent=p.TERRAFORM) for i in range(6)]
    events += [
        _terraform("DeleteBucket", "s3", 906, {"bucketName": "review-app-42"}),
        *[_terraform("DeleteTable", "dynamodb", 906 + i * 0.1, {"tableName": f"review-42-{i}"}) for i in range(5)],
        _terraform("TerminateInstances", "ec2", 907, {"instancesSet": {"items": [
            {"instanceId": f"i-0d{i:015x}"} for i in range(3)]}}),
        _terraform("DeleteFlowLogs", "ec2", 908, {"DeleteFlowLogsRequest": {"FlowLogId": {"content": "fl-0d1"}}}),
        _terraform("RevokeSecurityGroupIngress", "ec2", 908, {"groupId": "sg-0d1f0000000000001", "ipPermissions": {}}),
        _terraform("DeleteSecurityGroup", "ec2", 909, {"groupId": "sg-0d1f0000000000001"}),
        _terraform("DeregisterImage", "ec2", 909, {"imageId": "ami-0d1f0000000000001"}),
        _terraform("DeleteSnapshot", "ec2", 909, {"snapshotId": "snap-0d1f0000000000001"}),
        _terraform("DeleteKeyPair", "ec2", 910, {"keyName": "review-42"}),
        _terraform("PutBucketVersioning", "s3", 904, {"bucketName": "review-app-42",
                                                      "VersioningConfiguration": {"Status": "Suspended"}}),
    ]
    gcp = [("v1.compute.instances.delete", f"projects/{p.PROJECT}/zones/europe-west1-b/instances/review-42-web",
            "compute"), ("storage.buckets.delete", "projects/_/buckets/review-42-assets", "storage"),
           ("google.cloud.bigquery.v2.DatasetService.DeleteDataset", f"projects/{p.PROJECT}/datasets/review_42",
            "bigquery"), ("cloudsql.instances.delete", f"projects/{p.PROJECT}/instances/review-42-db", "cloudsql"),
           ("v1.compute.firewalls.delete", f"projects/{p.PROJECT}/global/firewalls/review-42-allow", "compute")]
    events += [p.gcp_entry(method, name, p.at(915 + i), GCP_DEPLOYER, service_name=f"{svc}.googleapis.com",
                           ip="198.51.100.20", agent=p.GCP_TERRAFORM) for i, (method, name, svc) in enumerate(gcp)]
    return events


def scale_in() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for i in range(8):
        instance, minute = f"i-0e{i:015x}", 1080 + i * 6
        events.append(p.cloudtrail("TerminateInstances", "ec2", p.at(minute), ASG,
                                   {"instancesSet": {"items": [{"instanceId": instance}]}},
                                   response={"instancesSet": {"items": [{"instanceId": instance,
                                             "currentState": {"code": 32, "name": "shutting-down"},
                                             "previousState": {"code": 16, "name": "running"}}]}},
                                   ip="autoscaling.amazonaws.com", agent="autoscaling.amazonaws.com"))
        events.append(p.ec2_state(p.at(minute + 0.1), instance, "shutting-down"))
        events.append(p.ec2_state(p.at(minute + 1.5), instance, "terminated"))
    events += [p.gcp_entry("v1.compute.instances.delete",
                           f"projects/{p.PROJECT}/zones/europe-west1-{'bcd'[i % 3]}/instances/web-mig-{i:04x}",
                           p.at(1110 + i * 3), GCP_AGENT, service_name="compute.googleapis.com", ip="",
                           agent="GCE Managed Instance Group") for i in range(6)]
    return events


def benign_day() -> list[dict[str, Any]]:
    """Every payload of the day, in time order."""
    payloads = (backups() + lifecycle() + etl() + daytime() + load_balancer_443() + cloudformation_teardown()
                + terraform_teardown() + scale_in())
    return sorted(payloads, key=_time)


def _time(payload: dict[str, Any]) -> str:
    if "Records" in payload:
        return str(payload["Records"][0]["eventTime"])
    if "message" in payload:
        return str(payload["message"]["attributes"]["eventTime"])
    return str(payload.get("eventTime") or payload.get("timestamp") or payload.get("time"))
