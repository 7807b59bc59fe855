from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.adapters import UnreadablePayload, adapters, normalize
from monitor.events import Actor, Event, Resource
from tests.conftest import load_payload

NOTI = "noti-201808221442-a"
NOTI_BUCKET = "n45g9jh45g9j45g9j46g9j46g9j5369j639j8659j8t3h5"
CHROME_68 = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/68.0.3440.106 Safari/537.36,gzip(gfe)"
)
CHROME_81 = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_4) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/81.0.4044.138 Safari/537.36,gzip(gfe)"
)
DANDRADE = Actor("dandrade@ciandt.com", "user", "177.185.2.139", CHROME_68)
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
IAM_SCOPE = "https://www.googleapis.com/auth/iam"


def _bucket(name: str, project: str) -> Resource:
    return Resource("bucket", f"//storage.googleapis.com/projects/_/buckets/{name}", name, f"projects/{project}")


def _vm(project: str, zone: str, name: str) -> Resource:
    resource_id = f"//compute.googleapis.com/projects/{project}/zones/{zone}/instances/{name}"
    return Resource("vm", resource_id, name, f"projects/{project}")


def _summary(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "time": event.time,
        "provider": event.provider,
        "account": event.account,
        "region": event.region,
        "service": event.service,
        "resource": event.resource,
        "action": event.action,
        "operation": event.operation,
        "actor": event.actor,
        "outcome": event.outcome,
        "details": dict(event.details),
    }


def _expected(**fields: Any) -> dict[str, Any]:
    return {"provider": "gcp", "outcome": "success", **fields}


SAMPLES = [
    ("auditlog_compute_instances_insert_beta_panther.json", []),  # operation.last only, and it succeeded
    (
        "auditlog_compute_instances_setmetadata_panther.json",  # Panther spellings: at_sign_type, callerIP
        [
            _expected(
                id="-6215lve1hil2",
                time=datetime(2025, 5, 27, 16, 44, 43, 443688, tzinfo=UTC),
                account="example-project",
                region="us-central1",
                service="compute",
                resource=_vm("example-project", "us-central1-f", "example-instance"),
                action="modified",
                operation="v1.compute.instances.setMetadata",
                actor=Actor("user@example.com", "user", "192.168.1.100", "example-user-agent"),
                details={
                    "method": "compute.instances.setMetadata",
                    "audit_log": "activity",
                    "operation_id": "operation-1748364283389-63620c80ca7f1-1f0f53ee-d1fa97bd",
                    "zone": "us-central1-f",
                    "metadata_keys_added": ["ssh-keys"],
                },
            )
        ],
    ),
    (
        "auditlog_logentrydata_pubsub_createtopic_cloudevents.json",  # Eventarc LogEntryData: no @type
        [
            _expected(
                id="9frck8cf9j",
                time=datetime(2020, 6, 30, 16, 14, 47, 593398, tzinfo=UTC),
                account="test-project",
                region="",
                service="pubsub",
                resource=Resource(
                    "topic",
                    "//pubsub.googleapis.com/projects/test-project/topics/test-auditlogs-source",
                    "test-auditlogs-source",
                    "projects/test-project",
                ),
                action="created",
                operation="google.pubsub.v1.Publisher.CreateTopic",
                actor=Actor(
                    "robot@test-project.iam.gserviceaccount.com", "service_account", "192.168.0.1", "google-cloud-sdk"
                ),
                details={"method": "google.pubsub.v1.Publisher.CreateTopic", "audit_log": "activity"},
            )
        ],
    ),
    (
        "auditlog_storage_buckets_create_2018.json",
        [
            _expected(
                id="-kso07befzst0",
                time=datetime(2018, 9, 5, 19, 40, 26, 201000, tzinfo=UTC),
                account=NOTI,
                region="us-central1",  # resource.labels.location US-CENTRAL1
                service="storage",
                resource=_bucket(NOTI_BUCKET, NOTI),
                action="created",
                operation="storage.buckets.create",
                actor=DANDRADE,
                details={
                    "method": "storage.buckets.create",
                    "audit_log": "activity",
                    "public": False,
                    "bindings_added": [
                        {"role": "roles/storage.legacyBucketOwner", "member": f"projectOwner:{NOTI}"},
                        {"role": "roles/storage.legacyBucketOwner", "member": f"projectEditor:{NOTI}"},
                        {"role": "roles/storage.legacyBucketReader", "member": f"projectViewer:{NOTI}"},
                    ],
                    "bindings_removed": [],
                    "members_added": [f"projectOwner:{NOTI}", f"projectEditor:{NOTI}", f"projectViewer:{NOTI}"],
                    "member_domains": [],
                },
            )
        ],
    ),
    (
        "auditlog_storage_buckets_delete_2018.json",  # status {} is OK
        [
            _expected(
                id="-bxdo97egtutc",
                time=datetime(2018, 9, 5, 19, 45, 16, 90000, tzinfo=UTC),
                account=NOTI,
                region="us-central1",
                service="storage",
                resource=_bucket(NOTI_BUCKET, NOTI),
                action="deleted",
                operation="storage.buckets.delete",
                actor=DANDRADE,
                details={"method": "storage.buckets.delete", "audit_log": "activity"},
            )
        ],
    ),
    (
        "auditlog_storage_buckets_update_panther.json",  # timestamp with a space, no zone
        [
            _expected(
                id="asdf1234asdfg",
                time=datetime(2023, 3, 9, 10, 5, 23, 603000, tzinfo=UTC),
                account="gcp-project1",
                region="us-east1",
                service="storage",
                resource=_bucket("my-bucket", "gcp-project1"),
                action="modified",
                operation="storage.buckets.update",
                actor=Actor(
                    "user@company.io",
                    "user",
                    "1.2.3.4",
                    "apitools Python/3.9.11 gsutil/5.11 (darwin) analytics/enabled interactive/True "
                    "command/notification google-cloud-sdk/394.0.0,gzip(gfe)",
                ),
                details={"method": "storage.buckets.update", "audit_log": "activity"},
            )
        ],
    ),
    (
        "auditlog_storage_setiampermissions_2018.json",
        [
            _expected(
                id="u60vqeg4wcc",
                time=datetime(2018, 9, 5, 19, 41, 8, 205000, tzinfo=UTC),
                account=NOTI,
                region="us-central1",
                service="storage",
                resource=_bucket(NOTI_BUCKET, NOTI),
                action="permissions_changed",
                operation="storage.setIamPermissions",
                actor=DANDRADE,
                details={
                    "method": "storage.setIamPermissions",
                    "audit_log": "activity",
                    "public": False,
                    "bindings_added": [{"role": "roles/storage.objectViewer", "member": "user:dandrade@ciandt.com"}],
                    "bindings_removed": [],
                    "members_added": ["user:dandrade@ciandt.com"],
                    "member_domains": ["ciandt.com"],
                },
            )
        ],
    ),
    (
        "auditlog_storage_setiampermissions_panther.json",
        [
            _expected(
                id="15cp9rve72xt1",
                time=datetime(2020, 5, 15, 4, 28, 42, 237027, tzinfo=UTC),
                account="western-verve-123456",
                region="us",
                service="storage",
                resource=_bucket("jacks-test-bucket", "western-verve-123456"),
                action="permissions_changed",
                operation="storage.setIamPermissions",
                actor=Actor("user@runpanther.io", "user", "136.24.229.58", CHROME_81),
                details={
                    "method": "storage.setIamPermissions",
                    "audit_log": "activity",
                    "public": True,
                    "bindings_added": [{"role": "roles/storage.objectViewer", "member": "allUsers"}],
                    "bindings_removed": [],
                    "members_added": ["allUsers"],
                    "member_domains": [],
                },
            )
        ],
    ),
    (
        "cloudevent_structured_auditlog_bigquery_jobcompleted.json",  # id is the insertId, not the CloudEvent id
        [
            _expected(
                id="1234567",
                time=datetime(2021, 11, 25, 21, 56, 0, 276607, tzinfo=UTC),
                account="test-project",
                region="",
                service="bigquery",
                resource=Resource(
                    "job",
                    "//bigquery.googleapis.com/projects/test-project/jobs/sample-job",
                    "sample-job",
                    "projects/test-project",
                ),
                action="state_changed",
                operation="jobservice.jobcompleted",
                actor=Actor(
                    "robot@test-project.iam.gserviceaccount.com",
                    "service_account",
                    "2620:15c:0:200:1a75:e914:115b:e970",
                    "google-cloud-sdk357.0.0 (gzip),gzip(gfe)",
                ),
                details={
                    "method": "jobservice.jobcompleted",
                    "audit_log": "data_access",
                    "state": "DONE",
                    "total_billed_bytes": 12345,
                },
            )
        ],
    ),
]


@pytest.mark.parametrize(("name", "expected"), SAMPLES, ids=[row[0] for row in SAMPLES])
def test_sample_gives_the_audit_events(name: str, expected: list[dict[str, Any]]) -> None:
    payload = load_payload(f"gcp/{name}")
    events = normalize(payload)
    assert [_summary(event) for event in events] == expected
    entry = payload["data"] if "specversion" in payload else payload
    assert all(event.raw == entry for event in events)


REJECTED = [
    (
        "auditlog_bigquery_insertjob_panther.json",  # Panther lower-cases insertid/logname
        "Cloud Audit Log entry for google.cloud.bigquery.v2.JobService.InsertJob has no 'insertId'",
    ),
    (
        "auditlog_cloudsql_instances_update_panther_SUSPECT.json",  # hand-written: no insertId, timestamp, name
        "Cloud Audit Log entry for cloudsql.instances.update has no 'insertId'",
    ),
    (
        "auditlog_compute_instances_insert_panther.json",
        "Cloud Audit Log entry for v1.compute.instances.insert has no 'insertId'",
    ),
]


@pytest.mark.parametrize(("name", "message"), REJECTED, ids=[row[0] for row in REJECTED])
def test_entry_without_insert_id_is_unreadable(name: str, message: str) -> None:
    with pytest.raises(UnreadablePayload) as caught:
        normalize(load_payload(f"gcp/{name}"))
    assert str(caught.value) == message


def _entry(
    method: str,
    resource_name: str | None,
    *,
    service_name: str,
    resource: dict[str, Any] | None = None,
    **proto: Any,
) -> dict[str, Any]:
    """A real 2018 activity entry (bucket delete) turned into another method's entry."""
    entry = copy.deepcopy(load_payload("gcp/auditlog_storage_buckets_delete_2018.json"))
    entry["protoPayload"].update(methodName=method, serviceName=service_name, **proto)
    del entry["protoPayload"]["authorizationInfo"]
    if resource_name is None:
        del entry["protoPayload"]["resourceName"]
    else:
        entry["protoPayload"]["resourceName"] = resource_name
    entry["resource"] = resource or {"type": "audited_resource", "labels": {"project_id": "p1"}}
    return entry


def _compute(
    method: str, name: str = "projects/p1/zones/europe-west1-b/instances/vm-1", **proto: Any
) -> dict[str, Any]:
    return _entry(method, name, service_name="compute.googleapis.com", **proto)


def _bigquery(method: str, name: str, **proto: Any) -> dict[str, Any]:
    return _entry(method, name, service_name="bigquery.googleapis.com", **proto)


def _sql(method: str, name: str | None = "projects/p1/instances/db1", **proto: Any) -> dict[str, Any]:
    labels = {"project_id": "p1", "database_id": "p1:db1", "region": "europe-west1"}
    return _entry(
        method,
        name,
        service_name="cloudsql.googleapis.com",
        resource={"type": "cloudsql_database", "labels": labels},
        **proto,
    )


VM1 = _vm("p1", "europe-west1-b", "vm-1")
FIREWALL = Resource("firewall", "//compute.googleapis.com/projects/p1/global/firewalls/fw-1", "fw-1", "projects/p1")
FIREWALL_NAME = "projects/p1/global/firewalls/fw-1"
DATASET = Resource("dataset", "//bigquery.googleapis.com/projects/p1/datasets/d1", "d1", "projects/p1")
TABLE = Resource("table", "//bigquery.googleapis.com/projects/p1/datasets/d1/tables/t1", "t1", DATASET.id)
DB1 = Resource("database_instance", "//sqladmin.googleapis.com/projects/p1/instances/db1", "db1", "projects/p1")
ZONE = {"zone": "europe-west1-b"}
ALL_USERS_VIEWER = {"role": "roles/bigquery.dataViewer", "member": "allUsers"}


def _firewall_insert(**request: Any) -> dict[str, Any]:
    return _compute("v1.compute.firewalls.insert", FIREWALL_NAME, request={"name": "fw-1", **request})


def _row(case: str, entry: dict[str, Any], *expected: Any) -> Any:
    """expected: the resource, action, region and method-specific details."""
    return pytest.param(entry, *expected, id=case)


METHOD_ROWS = [
    _row("vm delete", _compute("v1.compute.instances.delete"), VM1, "deleted", "europe-west1", ZONE),
    _row("vm start", _compute("v1.compute.instances.start"), VM1, "state_changed", "europe-west1", ZONE),
    _row("vm stop, beta", _compute("beta.compute.instances.stop"), VM1, "state_changed", "europe-west1", ZONE),
    _row(
        "vm setServiceAccount",
        _compute(
            "v1.compute.instances.setServiceAccount",
            request={"email": "sa@p1.iam.gserviceaccount.com", "scopes": [CLOUD_PLATFORM]},
        ),
        VM1,
        "permissions_changed",
        "europe-west1",
        {
            **ZONE,
            "service_accounts": ["sa@p1.iam.gserviceaccount.com"],
            "scopes": [CLOUD_PLATFORM],
            "full_api_access": True,
        },
    ),
    _row(
        "firewall insert open ssh",
        _firewall_insert(
            direction="INGRESS", alloweds=[{"IPProtocol": "tcp", "ports": ["22"]}], sourceRanges=["0.0.0.0/0"]
        ),
        FIREWALL,
        "created",
        "",
        {"direction": "INGRESS", "allowed": ["tcp:22"], "ports": [{"protocol": "tcp", "from": 22, "to": 22}],
         "source_ranges": ["0.0.0.0/0"], "open_to_world": True},
    ),
    _row(
        "firewall insert naming no source takes the API default 0.0.0.0/0",
        _firewall_insert(alloweds=[{"IPProtocol": "tcp", "ports": ["80", "8000-8080"]}, {"IPProtocol": "icmp"}]),
        FIREWALL,
        "created",
        "",
        {
            "direction": "INGRESS",
            "allowed": ["tcp:80", "tcp:8000-8080", "icmp"],
            "ports": [
                {"protocol": "tcp", "from": 80, "to": 80},
                {"protocol": "tcp", "from": 8000, "to": 8080},
                {"protocol": "icmp", "from": 0, "to": 65535},
            ],
            "source_ranges": ["0.0.0.0/0"],
            "open_to_world": True,
        },
    ),
    _row(
        "firewall insert from tags only",
        _firewall_insert(alloweds=[{"IPProtocol": "tcp", "ports": ["5432"]}], sourceTags=["app"]),
        FIREWALL,
        "created",
        "",
        {"direction": "INGRESS", "allowed": ["tcp:5432"], "ports": [{"protocol": "tcp", "from": 5432, "to": 5432}],
         "source_ranges": [], "open_to_world": False},
    ),
    _row(
        "firewall insert egress to anywhere",
        _firewall_insert(direction="EGRESS", alloweds=[{"IPProtocol": "all"}], destinationRanges=["0.0.0.0/0"]),
        FIREWALL,
        "created",
        "",
        {"direction": "EGRESS", "allowed": ["all"], "ports": [{"protocol": "all", "from": 0, "to": 65535}],
         "source_ranges": [], "open_to_world": False},
    ),
    _row(
        "firewall update, whole rule",
        _compute(
            "v1.compute.firewalls.update",
            FIREWALL_NAME,
            request={
                "name": "fw-1",
                "alloweds": [{"IPProtocol": "tcp", "ports": ["3389"]}],
                "sourceRanges": ["10.0.0.0/8"],
            },
        ),
        FIREWALL,
        "modified",
        "",
        {"direction": "INGRESS", "allowed": ["tcp:3389"], "ports": [{"protocol": "tcp", "from": 3389, "to": 3389}],
         "source_ranges": ["10.0.0.0/8"], "open_to_world": False},
    ),
    _row(
        "firewall patch opening to IPv6 world",
        _compute("v1.compute.firewalls.patch", FIREWALL_NAME, request={"sourceRanges": ["::/0"]}),
        FIREWALL,
        "modified",
        "",
        {"source_ranges": ["::/0"], "open_to_world": True},
    ),
    _row(
        "firewall patch leaving sources alone",
        _compute("v1.compute.firewalls.patch", FIREWALL_NAME, request={"disabled": True}),
        FIREWALL,
        "modified",
        "",
        {},
    ),
    _row(
        "firewall insert, later entry carrying only the request type",
        _compute(
            "v1.compute.firewalls.insert",
            FIREWALL_NAME,
            request={"@type": "type.googleapis.com/compute.firewalls.insert"},
        ),
        FIREWALL,
        "created",
        "",
        {},
    ),
    _row("firewall delete", _compute("v1.compute.firewalls.delete", FIREWALL_NAME), FIREWALL, "deleted", "", {}),
    _row(
        "bucket IAM from the request policy",
        _entry(
            "storage.setIamPermissions",
            "projects/_/buckets/b1",
            service_name="storage.googleapis.com",
            request={
                "policy": {"bindings": [{"role": "roles/storage.objectViewer", "members": ["allAuthenticatedUsers"]}]}
            },
        ),
        Resource("bucket", "//storage.googleapis.com/projects/_/buckets/b1", "b1", "projects/p1"),
        "permissions_changed",
        "",
        {"public": True, "bindings_added": [], "bindings_removed": [], "members_added": ["allAuthenticatedUsers"],
         "member_domains": []},
    ),
    _row(
        "table delete",
        _bigquery("google.cloud.bigquery.v2.TableService.DeleteTable", "projects/p1/datasets/d1/tables/t1"),
        TABLE,
        "deleted",
        "",
        {},
    ),
    _row(
        "table patch",
        _bigquery("google.cloud.bigquery.v2.TableService.PatchTable", "projects/p1/datasets/d1/tables/t1"),
        TABLE,
        "modified",
        "",
        {},
    ),
    _row(
        "dataset insert",
        _bigquery("google.cloud.bigquery.v2.DatasetService.InsertDataset", "projects/p1/datasets/d1"),
        DATASET,
        "created",
        "",
        {},
    ),
    _row(
        "dataset update",
        _bigquery("google.cloud.bigquery.v2.DatasetService.UpdateDataset", "projects/p1/datasets/d1"),
        DATASET,
        "modified",
        "",
        {},
    ),
    _row(
        "legacy dataset delete",
        _bigquery("datasetservice.delete", "projects/p1/datasets/d1"),
        DATASET,
        "deleted",
        "",
        {},
    ),
    _row(
        "legacy table update",
        _bigquery("tableservice.update", "projects/p1/datasets/d1/tables/t1"),
        TABLE,
        "modified",
        "",
        {},
    ),
    _row(
        "legacy table insert",
        _bigquery("tableservice.insert", "projects/p1/datasets/d1/tables/t1"),
        TABLE,
        "created",
        "",
        {},
    ),
    _row(
        "dataset made public",
        _bigquery(
            "google.iam.v1.IAMPolicy.SetIamPolicy",
            "projects/p1/datasets/d1",
            metadata={"datasetChange": {"bindingDeltas": [{"action": "ADD", **ALL_USERS_VIEWER}]}},
        ),
        DATASET,
        "permissions_changed",
        "",
        {"public": True, "bindings_added": [ALL_USERS_VIEWER], "bindings_removed": [], "members_added": ["allUsers"],
         "member_domains": []},
    ),
    _row(
        "table made private again",
        _bigquery(
            "google.iam.v1.IAMPolicy.SetIamPolicy",
            "projects/p1/datasets/d1/tables/t1",
            serviceData={"policyDelta": {"bindingDeltas": [{"action": "REMOVE", **ALL_USERS_VIEWER}]}},
        ),
        TABLE,
        "permissions_changed",
        "",
        {"public": False, "bindings_added": [], "bindings_removed": [ALL_USERS_VIEWER], "members_added": [],
         "member_domains": []},
    ),
    _row(
        "sql backups turned off",
        _sql("cloudsql.instances.update", request={"body": {"settings": {"backupConfiguration": {"enabled": False}}}}),
        DB1,
        "modified",
        "europe-west1",
        {"backups_disabled": True},
    ),
    _row(
        "sql opened to the internet",
        _sql(
            "cloudsql.instances.patch",
            request={
                "body": {
                    "settings": {
                        "ipConfiguration": {"ipv4Enabled": True, "authorizedNetworks": [{"value": "0.0.0.0/0"}]}
                    }
                }
            },
        ),
        DB1,
        "modified",
        "europe-west1",
        {"public_ip": True, "authorized_networks": ["0.0.0.0/0"], "open_to_world": True},
    ),
    _row(
        "sql create with backups",
        _sql("cloudsql.instances.create", request={"body": {"settings": {"backupConfiguration": {"enabled": True}}}}),
        DB1,
        "created",
        "europe-west1",
        {"backups_disabled": False},
    ),
    _row(
        "sql delete, short name", _sql("cloudsql.instances.delete", "instances/db1"), DB1, "deleted", "europe-west1", {}
    ),
    _row("sql delete, name from labels", _sql("cloudsql.instances.delete", None), DB1, "deleted", "europe-west1", {}),
    _row(
        "unknown method keeps a generic resource",
        _entry(
            "google.cloud.functions.v1.CloudFunctionsService.CreateFunction",
            "projects/p1/locations/us-central1/functions/fn",
            service_name="cloudfunctions.googleapis.com",
        ),
        Resource(
            "function",
            "//cloudfunctions.googleapis.com/projects/p1/locations/us-central1/functions/fn",
            "fn",
            "projects/p1",
        ),
        "created",
        "us-central1",
        {},
    ),
    _row(
        "project IAM",
        _entry(
            "SetIamPolicy",
            "projects/p1",
            service_name="cloudresourcemanager.googleapis.com",
            serviceData={
                "policyDelta": {"bindingDeltas": [{"action": "ADD", "role": "roles/owner", "member": "user:x@y.z"}]}
            },
        ),
        Resource("project", "//cloudresourcemanager.googleapis.com/projects/p1", "p1", ""),
        "permissions_changed",
        "",
        {"public": False, "bindings_added": [{"role": "roles/owner", "member": "user:x@y.z"}], "bindings_removed": [],
         "members_added": ["user:x@y.z"], "member_domains": ["y.z"]},
    ),
    _row("read: vm get", _compute("v1.compute.instances.get"), VM1, "accessed", "europe-west1", ZONE),
    _row(
        "read: bucket IAM",
        _entry("storage.getIamPermissions", "projects/_/buckets/b1", service_name="storage.googleapis.com"),
        Resource("bucket", "//storage.googleapis.com/projects/_/buckets/b1", "b1", "projects/p1"),
        "accessed",
        "",
        {},
    ),
    _row(
        "read: dataset IAM",
        _bigquery("google.iam.v1.IAMPolicy.GetIamPolicy", "projects/p1/datasets/d1"),
        DATASET,
        "accessed",
        "",
        {},
    ),
    _row(
        "read: table data",
        _bigquery("tabledataservice.list", "projects/p1/datasets/d1/tables/t1"),
        TABLE,
        "accessed",
        "",
        {},
    ),
]


@pytest.mark.parametrize(("entry", "resource", "action", "region", "details"), METHOD_ROWS)
def test_method_table(
    entry: dict[str, Any], resource: Resource, action: str, region: str, details: dict[str, Any]
) -> None:
    [event] = normalize(entry)
    method = entry["protoPayload"]["methodName"]
    assert (event.resource, event.action, event.region, event.account) == (resource, action, region, "p1")
    assert (event.operation, event.outcome, event.id) == (method, "success", "-bxdo97egtutc")
    prefixless = method.removeprefix("v1.").removeprefix("beta.")
    assert dict(event.details) == {"method": prefixless, "audit_log": "activity", **details}


def _operation(**marks: Any) -> dict[str, Any]:
    entry = copy.deepcopy(load_payload("gcp/auditlog_compute_instances_setmetadata_panther.json"))
    entry["operation"] = {"id": "operation-1", "producer": "compute.googleapis.com", **marks}
    return entry


@pytest.mark.parametrize(
    ("marks", "status", "outcomes"),
    [
        ({"first": True}, None, ["success"]),
        ({"first": True, "last": True}, None, ["success"]),
        ({"last": True}, None, []),
        ({"last": True}, {}, []),
        ({"last": True}, {"code": 9, "message": "FAILED_PRECONDITION"}, ["failure"]),
        ({}, None, []),
    ],
    ids=["first", "first and last", "last", "last, empty status", "last, failed", "in between"],
)
def test_long_running_operation_reports_first_entry_and_failed_last(
    marks: dict[str, Any], status: dict[str, Any] | None, outcomes: list[str]
) -> None:
    entry = _operation(**marks)
    if status is not None:
        entry["protoPayload"]["status"] = status
    events = normalize(entry)
    assert [event.outcome for event in events] == outcomes
    assert all(event.details["operation_id"] == "operation-1" for event in events)


def test_failure_carries_the_status() -> None:
    entry = _operation(last=True)
    entry["protoPayload"]["status"] = {"code": 7, "message": "Required 'compute.instances.setMetadata' permission"}
    [event] = normalize(entry)
    assert (event.outcome, event.action, event.resource) == (
        "failure",
        "modified",
        _vm("example-project", "us-central1-f", "example-instance"),
    )
    assert (event.details["error_code"], event.details["error_message"]) == (
        7,
        "Required 'compute.instances.setMetadata' permission",
    )


def test_lone_failed_entry_is_a_failure() -> None:
    entry = load_payload("gcp/auditlog_storage_buckets_delete_2018.json")
    entry["protoPayload"]["status"] = {"code": 7, "message": "PERMISSION_DENIED"}
    [event] = normalize(entry)
    assert (event.outcome, event.details["error_code"], event.details["error_message"]) == (
        "failure",
        7,
        "PERMISSION_DENIED",
    )


def test_beta_insert_first_entry_reads_the_zone_from_the_resource_name() -> None:
    entry = load_payload("gcp/auditlog_compute_instances_insert_beta_panther.json")
    entry["operation"] = {**entry["operation"], "first": True, "last": False}
    [event] = normalize(entry)
    assert _summary(event) == _expected(
        id="-5tqx5fd4mj8",
        time=datetime(2020, 5, 15, 17, 15, 42, 415000, tzinfo=UTC),
        account="western-verve-123456",
        region="asia-northeast1",  # the labels say southamerica-east1-b; the resource name wins
        service="compute",
        resource=_vm("western-verve-123456", "asia-northeast1-b", "instance-5"),
        action="created",
        operation="beta.compute.instances.insert",
        actor=Actor("user.name@runpanther.io", "user", "136.24.229.58", CHROME_81),
        details={
            "method": "compute.instances.insert",
            "audit_log": "activity",
            "operation_id": "operation-1589562934964-5a5b2f61631d6-cc67597a-98092474",
            "zone": "asia-northeast1-b",
            "service_accounts": [],
            "scopes": [],
            "full_api_access": False,
        },
    )


def test_instance_insert_keeps_its_service_accounts_and_scopes() -> None:
    entry = load_payload("gcp/auditlog_compute_instances_insert_panther.json")
    entry["insertId"] = "added-for-the-test"
    [event] = normalize(entry)
    assert (event.resource, event.action, event.region, event.account) == (
        _vm("some-project", "us-central1-f", "abc"),
        "created",
        "us-central1",
        "some-project",
    )
    assert event.time == datetime(2024, 1, 30, 12, 52, 34, 676384, tzinfo=UTC)  # nanoseconds, space separator
    assert dict(event.details) == {
        "method": "compute.instances.insert",
        "zone": "us-central1-f",
        "service_accounts": ["abcmail@some-project.iam.gserviceaccount.com"],
        "scopes": [CLOUD_PLATFORM, IAM_SCOPE],
        "full_api_access": True,
    }


@pytest.mark.parametrize(("marks", "count"), [({"first": True}, 1), ({"last": True}, 0)])
def test_bigquery_insert_job_with_its_log_entry_keys_restored(marks: dict[str, Any], count: int) -> None:
    panther = load_payload("gcp/auditlog_bigquery_insertjob_panther.json")
    entry = {
        **panther,
        "insertId": panther["insertid"],
        "logName": panther["logname"],
        "operation": {"id": "j", **marks},
    }
    events = normalize(entry)
    assert [(e.resource.kind, e.resource.id, e.action, e.region) for e in events] == [
        (
            "job",
            "//bigquery.googleapis.com/projects/gcp-project1/jobs/abcdefg_hijklmnop_1234567abcd",
            "created",
            "us",
        )
    ][:count]
    assert [dict(e.details) for e in events] == [
        {
            "method": "google.cloud.bigquery.v2.JobService.InsertJob",
            "audit_log": "data_access",
            "operation_id": "j",
            "state": "DONE",
            "total_billed_bytes": 3097493504,
        }
    ][:count]


def test_missing_resource_name_without_a_known_resource_type_is_unreadable() -> None:
    entry = _entry("v1.compute.instances.delete", None, service_name="compute.googleapis.com")
    with pytest.raises(UnreadablePayload) as caught:
        normalize(entry)
    assert str(caught.value) == "Cloud Audit Log entry -bxdo97egtutc (v1.compute.instances.delete): no resourceName"


def test_entry_without_principal_has_an_empty_actor() -> None:
    entry = load_payload("gcp/auditlog_storage_buckets_delete_2018.json")
    del entry["protoPayload"]["authenticationInfo"], entry["protoPayload"]["requestMetadata"]
    [event] = normalize(entry)
    assert event.actor == Actor()


@pytest.mark.parametrize(
    ("proto_type", "accepted"),
    [
        ("type.googleapis.com/google.cloud.audit.AuditLog", True),
        (None, True),
        ("type.googleapis.com/google.appengine.logging.v1.RequestLog", False),
    ],
)
def test_accepts_audit_log_payloads_only(proto_type: str | None, accepted: bool) -> None:
    entry = load_payload("gcp/auditlog_storage_buckets_delete_2018.json")
    entry["protoPayload"].pop("@type")
    if proto_type is not None:
        entry["protoPayload"]["@type"] = proto_type
    assert adapters.get("gcp.audit_log").accepts(entry) is accepted
    assert adapters.get("gcp.audit_log").accepts({"insertId": "x", "jsonPayload": {"methodName": "m"}}) is False
