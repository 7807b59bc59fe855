"""Identifiers shared by the AWS adapters: ARNs, so the same resource gets the same id from every source."""

from __future__ import annotations


def s3_bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def s3_object_arn(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def dynamodb_table_arn(region: str, account: str, table: str) -> str:
    return f"arn:aws:dynamodb:{region}:{account}:table/{table}"


def ec2_instance_arn(region: str, account: str, instance_id: str) -> str:
    return f"arn:aws:ec2:{region}:{account}:instance/{instance_id}"


def ec2_security_group_arn(region: str, account: str, group_id: str) -> str:
    return f"arn:aws:ec2:{region}:{account}:security-group/{group_id}"


def ec2_volume_arn(region: str, account: str, volume_id: str) -> str:
    return f"arn:aws:ec2:{region}:{account}:volume/{volume_id}"


def cloudtrail_trail_arn(region: str, account: str, trail: str) -> str:
    return f"arn:aws:cloudtrail:{region}:{account}:trail/{trail}"


def ec2_arn(region: str, account: str, resource_type: str, resource_id: str) -> str:
    """Any EC2 resource; snapshots and images are named without an account, as EC2 names them."""
    owner = "" if resource_type in ("snapshot", "image") else account
    return f"arn:aws:ec2:{region}:{owner}:{resource_type}/{resource_id}"


def rds_snapshot_arn(region: str, account: str, snapshot: str, cluster: bool = False) -> str:
    return f"arn:aws:rds:{region}:{account}:{'cluster-snapshot' if cluster else 'snapshot'}:{snapshot}"
