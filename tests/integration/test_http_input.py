"""The http input on 127.0.0.1: real POSTs of Pub/Sub push, CloudEvents and SNS, keys served by a local server."""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt, jwt

from monitor import daemon
from monitor.config import Config
from monitor.inputs.http import HttpInput, HttpSource
from monitor.intake.batches import Intake
from monitor.store import SqliteStore
from tests.conftest import load_payload
from tests.integration.pubsub_emulator import free_port

TOPIC = "arn:aws:sns:us-east-1:123456789012:monitor-events"
AUDIENCE = "https://monitor.example.com/push"
SERVICE_ACCOUNT = "pusher@monitor-test.iam.gserviceaccount.com"
KID = "test-key-1"


@dataclass(frozen=True)
class Keys:
    key: rsa.RSAPrivateKey
    certificate: bytes

    @property
    def private_pem(self) -> bytes:
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())


def make_keys(name: str) -> Keys:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256())
    )
    return Keys(key, certificate.public_bytes(serialization.Encoding.PEM))


class LocalCloud:
    """Stands in for sns.<region>.amazonaws.com and Google's certificate endpoint: serves files, logs every GET."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.gets: list[str] = []
        cloud = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                cloud.gets.append(self.path)
                body = cloud.files.get(self.path.split("?")[0])
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def sns_keys() -> Keys:
    return make_keys("sns.us-east-1.amazonaws.com")


@pytest.fixture(scope="module")
def google_keys() -> Keys:
    return make_keys("google-oauth2-test")


@pytest.fixture
def cloud(sns_keys: Keys, google_keys: Keys) -> Iterator[LocalCloud]:
    server = LocalCloud()
    server.files["/SimpleNotificationService-test.pem"] = sns_keys.certificate
    server.files["/oauth2/v1/certs"] = json.dumps({KID: google_keys.certificate.decode()}).encode()
    server.files["/confirm"] = b"<ConfirmSubscriptionResponse/>"
    yield server
    server.close()


@dataclass
class Running:
    url: str
    store: SqliteStore
    intake: Intake


@pytest.fixture
def start_http(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """Starts the input in a thread on a free port, as the daemon would; stops it (and checks it stopped) after."""
    threads: list[tuple[threading.Event, threading.Thread]] = []

    def start(sink: Any = None, **settings: Any) -> Running:
        store = SqliteStore(str(tmp_path / f"monitor-{len(threads)}.db"))
        intake = Intake(store)
        source = HttpSource(HttpInput(port=0, **settings))
        stop = threading.Event()
        thread = threading.Thread(target=source.run, args=(sink or intake, stop, False))
        thread.start()
        threads.append((stop, thread))
        assert source.listening.wait(10)
        assert source.address is not None
        return Running(f"http://127.0.0.1:{source.address[1]}", store, intake)

    yield start
    for stop, thread in threads:
        stop.set()
        thread.join(10)
        assert not thread.is_alive()


def post(url: str, body: bytes | dict[str, Any], headers: dict[str, str] | None = None) -> int:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        error.close()
        return error.code


def recorded(running: Running) -> dict[str, Any]:
    return {stored.event.id: stored.event for stored in running.store.read_events()}


# --- Pub/Sub push and CloudEvents -------------------------------------------------------------------------------

def test_a_pubsub_push_envelope_is_recorded(start_http: Callable[..., Running]) -> None:
    running = start_http()

    assert post(running.url + "/", load_payload("gcp/gcs_pubsub_push_object_finalize_new_2017.json")) == 204

    event = recorded(running)["157810539096020"]
    assert (event.resource.kind, event.resource.name, event.action, event.operation) == (
        "object", "sample/one_class_svm.png", "created", "OBJECT_FINALIZE")


def binary_mode(sample: str) -> tuple[dict[str, str], bytes]:
    """A structured CloudEvent sample as a binary-mode request: attributes as percent-encoded ce- headers."""
    event = load_payload(sample)
    data = event.pop("data")
    headers = {"Content-Type": event.pop("datacontenttype")}
    headers.update({f"ce-{name.lower()}": str(value).replace("%", "%25") for name, value in event.items()})
    return headers, json.dumps(data).encode()


CLOUDEVENTS = [  # (sample, event id, kind, name, action, operation)
    ("gcp/cloudevent_storage_object_finalized_functions_framework.json", "aaaaaa-1111-bbbb-2222-cccccccccccc",
     "object", "folder/Test.cs", "created", "google.cloud.storage.object.v1.finalized"),
    ("gcp/cloudevent_structured_auditlog_bigquery_jobcompleted.json", "1234567",
     "job", "sample-job", "state_changed", "jobservice.jobcompleted"),
]


@pytest.mark.parametrize(("sample", "event_id", "kind", "name", "action", "operation"), CLOUDEVENTS)
@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_cloudevents_are_recorded_in_both_modes(
    start_http: Callable[..., Running], *, mode: str, sample: str, event_id: str, kind: str, name: str, action: str,
    operation: str,
) -> None:
    running = start_http(paths=["/events"])
    if mode == "binary":
        headers, body = binary_mode(sample)
    else:
        headers, body = {"Content-Type": "application/cloudevents+json"}, json.dumps(load_payload(sample)).encode()

    assert post(running.url + "/events/gcp", body, headers) == 204

    assert list(recorded(running)) == [event_id]
    event = recorded(running)[event_id]
    assert (event.provider, event.resource.kind, event.resource.name, event.action, event.operation) == (
        "gcp", kind, name, action, operation)


def test_a_binary_cloudevent_arrives_in_structured_form(start_http: Callable[..., Running]) -> None:
    seen: list[Any] = []
    running = start_http(sink=seen.extend)
    headers, body = binary_mode("gcp/cloudevent_structured_auditlog_bigquery_jobcompleted.json")

    assert post(running.url + "/", body, headers) == 204

    [message] = seen
    structured = json.loads(message.body)
    expected = load_payload("gcp/cloudevent_structured_auditlog_bigquery_jobcompleted.json")
    assert structured["id"] == expected["id"]  # %25 in the header is a literal %
    assert structured["data"] == expected["data"]
    assert structured["datacontenttype"] == "application/json; charset=utf-8"
    assert structured["methodname"] == "jobservice.jobcompleted"  # extension attributes are lower-case on the wire
    assert message.source == f"http:/#{expected['id']}"


MALFORMED = [  # (body, headers, dead letter reason starts with)
    (b"{not json", {}, "not JSON"),
    (b'{"message": "\xff"}', {}, "not UTF-8: invalid start byte at byte 13"),
    (b"[" * 101 + b"]" * 101, {}, "JSON nested deeper than 100 levels (MAX_JSON_DEPTH)"),
    (b"[" * 101 + b"]" * 101, {"ce-specversion": "1.0", "ce-type": "t", "ce-source": "s", "ce-id": "1"},
     "JSON nested deeper than 100 levels (MAX_JSON_DEPTH)"),
    (b'{"a": 1}', {"ce-specversion": "1.0", "ce-type": "t", "ce-source": "s"}, "CloudEvent without ce-id"),
    (b"{broken", {"ce-specversion": "1.0", "ce-type": "t", "ce-source": "s", "ce-id": "1"}, "not JSON"),
]


@pytest.mark.parametrize(("body", "headers", "reason"), MALFORMED)
def test_a_malformed_request_is_400_and_kept_as_a_dead_letter(
    start_http: Callable[..., Running], body: bytes, headers: dict[str, str], reason: str
) -> None:
    running = start_http()

    assert post(running.url + "/push", body, headers) == 400

    [dead] = running.store.dead_letters()
    assert (dead.source, dead.payload) == ("http:/push", body.decode("utf-8", "backslashreplace"))
    assert dead.reason.startswith(reason)
    assert recorded(running) == {}


POISON = [  # JSON the http input reads, that its adapter refuses: acknowledged (204) once kept as a dead letter
    ({"message": {"data": base64.b64encode(json.dumps({"kind": "storage#object", "id": {"a": 1}}).encode()).decode(),
                  "messageId": "43", "attributes": {"eventType": "OBJECT_FINALIZE"}}}, "http:/#43"),
    ({"source": "aws.ec2", "detail-type": {"an": "object"}}, "http:/"),
]


@pytest.mark.parametrize(("body", "source"), POISON)
def test_a_poison_payload_is_acknowledged_once_dead_lettered(start_http: Callable[..., Running], body: dict[str, Any],
                                                              source: str) -> None:
    running = start_http()

    assert post(running.url + "/", body) == 204
    assert post(running.url + "/", load_payload("gcp/gcs_pubsub_push_object_finalize_new_2017.json")) == 204

    assert [dead.source for dead in running.store.dead_letters()] == [source]
    assert list(recorded(running)) == ["157810539096020"]


def test_the_token_never_reaches_the_log(start_http: Callable[..., Running], caplog: pytest.LogCaptureFixture) -> None:
    running = start_http(shared_secret="s3cret-t0ken")
    push = load_payload("gcp/gcs_pubsub_push_object_finalize_new_2017.json")
    secret_header = "Bearer b3arer-s3cret-value"

    with caplog.at_level(logging.DEBUG):
        assert post(running.url + "/push?token=s3cret-t0ken&x=1", push) == 204
        assert post(running.url + "/push?token=wrong-t0ken-guess", push) == 403
        assert post(running.url + "/push?token=s3cret-t0ken", b"{not json") == 400
        assert post(running.url + "/push", push, {"X-Monitor-Token": "h3ader-s3cret",
                                                  "Authorization": secret_header}) == 403
        raw_request(running.url, b"POST /push?token=s3cret-t0ken extra HTTP/1.1\r\n\r\n")  # a bad request line

    logged = "\n".join(f"{record.getMessage()} {record.args}" for record in caplog.records)
    assert "POST /push 204" in logged and "Bad request syntax" in logged  # logged, at DEBUG, without the query
    for secret in ("s3cret-t0ken", "wrong-t0ken-guess", "h3ader-s3cret", "b3arer-s3cret-value", "token="):
        assert secret not in logged
    assert secret not in "".join(d.reason + d.source for d in running.store.dead_letters())


def raw_request(url: str, request: bytes) -> bytes:
    """Send bytes as they are (a malformed request line); what came back, once the server closed the connection."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request)
        return b"".join(iter(lambda: connection.recv(4096), b""))


def test_an_unreadable_payload_is_accepted_and_dead_lettered_by_the_intake(start_http: Callable[..., Running]) -> None:
    running = start_http()

    assert post(running.url + "/", {"message": {"data": "bm90IGpzb24=", "messageId": "42",
                                                "publishTime": "2024-05-01T10:00:00Z"}}) == 204

    [dead] = running.store.dead_letters()
    assert dead.source == "http:/#42"


def test_a_sink_that_fails_answers_503_so_the_sender_retries(start_http: Callable[..., Running]) -> None:
    def failing_sink(batch: Any) -> None:
        raise OSError("database is locked")

    running = start_http(sink=failing_sink)

    assert post(running.url + "/", load_payload("gcp/gcs_pubsub_push_object_finalize_new_2017.json")) == 503


def test_paths_outside_the_prefixes_are_404(start_http: Callable[..., Running]) -> None:
    running = start_http(paths=["/pubsub", "/sns"])

    assert post(running.url + "/other", {"a": 1}) == 404
    assert running.store.dead_letters() == []


def test_once_returns_at_once(tmp_path: Path) -> None:
    source = HttpSource(HttpInput(port=0))
    started = time.monotonic()

    source.run(lambda batch: None, threading.Event(), once=True)

    assert time.monotonic() - started < 1
    assert source.address is None


# --- Shared secret and OIDC -----------------------------------------------------------------------------------

SECRETS = [  # (url suffix, headers, status)
    ("/?token=s3cret", {}, 204),
    ("/", {"X-Monitor-Token": "s3cret"}, 204),
    ("/", {}, 401),
    ("/?token=wrong", {}, 403),
    ("/", {"X-Monitor-Token": "s3cre"}, 403),
]


@pytest.mark.parametrize(("suffix", "headers", "status"), SECRETS)
def test_the_shared_secret(start_http: Callable[..., Running], suffix: str, headers: dict[str, str],
                           status: int) -> None:
    running = start_http(shared_secret="s3cret")

    answer = post(running.url + suffix, load_payload("gcp/gcs_pubsub_push_object_finalize_new_2017.json"), headers)

    assert answer == status
    assert len(recorded(running)) == (1 if status == 204 else 0)
    assert running.store.dead_letters() == []


def id_token(keys: Keys, **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": "https://accounts.google.com", "aud": AUDIENCE, "azp": "1234", "sub": "1234",
               "email": SERVICE_ACCOUNT, "email_verified": True, "iat": now, "exp": now + 600, **claims}
    signer = crypt.RSASigner.from_string(keys.private_pem, key_id=KID)
    return jwt.encode(signer, {k: v for k, v in payload.items() if v is not None}).decode()


TOKENS: list[tuple[str, dict[str, Any], bool, int]] = [  # (case, claims, signed by Google's key, status)
    ("valid", {}, True, 204),
    ("another key", {}, False, 403),
    ("other audience", {"aud": "https://elsewhere.example.com"}, True, 403),
    ("other service account", {"email": "someone@evil.example.com"}, True, 403),
    ("email not verified", {"email_verified": None}, True, 403),
    ("not issued by Google", {"iss": "https://evil.example.com"}, True, 403),
    ("expired", {"iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600}, True, 403),
]


@pytest.mark.parametrize(("case", "claims", "google", "status"), TOKENS, ids=[row[0] for row in TOKENS])
def test_oidc_tokens(start_http: Callable[..., Running], cloud: LocalCloud, google_keys: Keys, *, case: str,
                     claims: dict[str, Any], google: bool, status: int) -> None:
    oidc = {"audience": AUDIENCE, "service_account": SERVICE_ACCOUNT, "certs_url": cloud.url + "/oauth2/v1/certs"}
    running = start_http(oidc=oidc)
    keys = google_keys if google else make_keys("impostor")
    token = id_token(keys, **claims)

    answer = post(running.url + "/", load_payload("gcp/gcs_pubsub_push_object_finalize_new_2017.json"),
                  {"Authorization": f"Bearer {token}"})

    assert answer == status
    assert len(recorded(running)) == (1 if status == 204 else 0)


def test_oidc_without_a_token_is_401_and_keys_are_fetched_once(
    start_http: Callable[..., Running], cloud: LocalCloud, google_keys: Keys
) -> None:
    running = start_http(oidc={"audience": AUDIENCE, "certs_url": cloud.url + "/oauth2/v1/certs"})
    push = load_payload("gcp/gcs_pubsub_push_object_finalize_new_2017.json")

    assert post(running.url + "/", push) == 401
    assert post(running.url + "/", push, {"Authorization": "Basic dXNlcjpwYXNz"}) == 401
    for _ in range(3):
        assert post(running.url + "/", push, {"Authorization": f"Bearer {id_token(google_keys)}"}) == 204
    assert cloud.gets == ["/oauth2/v1/certs"]


def test_oidc_when_the_keys_cannot_be_fetched_is_503(start_http: Callable[..., Running], cloud: LocalCloud,
                                                      google_keys: Keys) -> None:
    running = start_http(oidc={"audience": AUDIENCE, "certs_url": cloud.url + "/missing"})

    answer = post(running.url + "/", load_payload("gcp/gcs_pubsub_push_object_finalize_new_2017.json"),
                  {"Authorization": f"Bearer {id_token(google_keys)}"})

    assert answer == 503


# --- SNS ------------------------------------------------------------------------------------------------------

SIGNED = {  # the AWS documentation's lists, written out here so the test does not reuse the code under test
    "Notification": ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
    "SubscriptionConfirmation": ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"],
}


def sns_message(kind: str, keys: Keys, cert_url: str, version: str = "1", **fields: Any) -> dict[str, Any]:
    message = {"Type": kind, "MessageId": str(uuid.uuid4()), "TopicArn": TOPIC,
               "Timestamp": "2024-05-01T10:00:00.123Z", "SignatureVersion": version, "SigningCertURL": cert_url,
               **fields}
    text = "".join(f"{name}\n{message[name]}\n" for name in SIGNED[kind] if name in message)
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
    message["Signature"] = base64.b64encode(keys.key.sign(text.encode(), padding.PKCS1v15(), algorithm)).decode()
    return message


def notification(keys: Keys, cert_url: str, version: str = "1", **fields: Any) -> dict[str, Any]:
    inner = json.dumps(load_payload("aws/eventbridge_ec2_state_change_pending_awsdocs.json"))
    defaults = {"Message": inner, "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"}
    return sns_message("Notification", keys, cert_url, version, **{**defaults, **fields})


SNS_HEADERS = {"Content-Type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": "Notification"}


def sns_input(cloud: LocalCloud) -> dict[str, Any]:
    return {"sns_topic_arns": [TOPIC], "sns_cert_url_pattern": "^" + cloud.url.replace(".", r"\.") + "/"}


@pytest.mark.parametrize(("version", "subject"), [("1", "EC2 state"), ("2", "EC2 state"), ("1", None), ("2", None)])
def test_a_signed_sns_notification_is_recorded(
    start_http: Callable[..., Running], cloud: LocalCloud, sns_keys: Keys, version: str, subject: str | None
) -> None:
    running = start_http(**sns_input(cloud))
    fields = {"Subject": subject} if subject else {}
    message = notification(sns_keys, cloud.url + "/SimpleNotificationService-test.pem", version, **fields)

    assert post(running.url + "/sns", message, SNS_HEADERS) == 204
    assert post(running.url + "/sns", message, SNS_HEADERS) == 204  # a retry: recorded once

    event = recorded(running)["7bf73129-1428-4cd3-a780-95db273d1602"]
    assert (event.provider, event.resource.kind, event.resource.name, event.action) == (
        "aws", "vm", "i-abcd1111", "state_changed")
    assert (running.intake.recorded, running.intake.duplicates) == (1, 1)
    assert cloud.gets == ["/SimpleNotificationService-test.pem"]  # the certificate is fetched once


def tampered(message: dict[str, Any]) -> dict[str, Any]:
    return {**message, "Message": message["Message"] + " "}


BAD_SIGNATURES: list[tuple[str, Callable[[Keys, str], dict[str, Any]], str]] = [
    ("tampered message", lambda keys, url: tampered(notification(keys, url)), "the signature does not match"),
    ("another key", lambda keys, url: notification(make_keys("impostor"), url), "the signature does not match"),
    ("version 2 signed as 1", lambda keys, url: {**notification(keys, url), "SignatureVersion": "2"},
     "the signature does not match"),
    ("certificate elsewhere", lambda keys, url: notification(keys, url.replace("127.0.0.1", "localhost")),
     "certificate URL"),
    ("unknown version", lambda keys, url: notification(keys, url, version="3"), "unsupported SignatureVersion"),
]


@pytest.mark.parametrize(("case", "make", "detail"), BAD_SIGNATURES, ids=[row[0] for row in BAD_SIGNATURES])
def test_a_bad_sns_signature_is_403_kept_as_a_dead_letter_and_not_recorded(
    start_http: Callable[..., Running], cloud: LocalCloud, sns_keys: Keys, *, case: str,
    make: Callable[[Keys, str], dict[str, Any]], detail: str,
) -> None:
    running = start_http(**sns_input(cloud))
    message = make(sns_keys, cloud.url + "/SimpleNotificationService-test.pem")

    assert post(running.url + "/sns", message, SNS_HEADERS) == 403

    [dead] = running.store.dead_letters()
    assert dead.reason.startswith("SNS signature verification failed: " + detail)
    assert json.loads(dead.payload) == message
    assert recorded(running) == {}


def test_sns_from_a_topic_not_allowed_is_403_and_not_kept(
    start_http: Callable[..., Running], cloud: LocalCloud, sns_keys: Keys
) -> None:
    running = start_http(**{**sns_input(cloud), "sns_topic_arns": ["arn:aws:sns:us-east-1:123456789012:other"]})
    message = notification(sns_keys, cloud.url + "/SimpleNotificationService-test.pem")

    assert post(running.url + "/sns", message, SNS_HEADERS) == 403

    assert (recorded(running), running.store.dead_letters(), cloud.gets) == ({}, [], [])


def test_a_subscription_confirmation_is_verified_then_confirmed(
    start_http: Callable[..., Running], cloud: LocalCloud, sns_keys: Keys
) -> None:
    running = start_http(**sns_input(cloud))
    subscribe_url = f"{cloud.url}/confirm?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=2336412f37fb"
    message = sns_message("SubscriptionConfirmation", sns_keys, cloud.url + "/SimpleNotificationService-test.pem",
                          Message="You have chosen to subscribe to the topic", Token="2336412f37fb",
                          SubscribeURL=subscribe_url)
    headers = {**SNS_HEADERS, "x-amz-sns-message-type": "SubscriptionConfirmation"}

    assert post(running.url + "/sns", tampered(message), headers) == 403
    assert cloud.gets == ["/SimpleNotificationService-test.pem"]
    assert post(running.url + "/sns", message, headers) == 200

    assert cloud.gets[1:] == [subscribe_url.removeprefix(cloud.url)]
    assert recorded(running) == {}


def test_an_sns_body_that_does_not_match_its_header_is_400(
    start_http: Callable[..., Running], cloud: LocalCloud, sns_keys: Keys
) -> None:
    running = start_http(**sns_input(cloud))
    message = notification(sns_keys, cloud.url + "/SimpleNotificationService-test.pem")
    headers = {**SNS_HEADERS, "x-amz-sns-message-type": "SubscriptionConfirmation"}

    assert post(running.url + "/sns", message, headers) == 400

    [dead] = running.store.dead_letters()
    assert "not an SNS SubscriptionConfirmation" in dead.reason


# --- In the daemon ----------------------------------------------------------------------------------------------

def test_the_daemon_serves_http_until_stopped_and_once_does_not_wait(tmp_path: Path) -> None:
    port = free_port()
    config = Config(state=f"sqlite:///{tmp_path / 'monitor.db'}", inputs=[HttpInput(port=port, paths=["/push"])])
    assert daemon.run(config, once=True).recorded == 0
    stop = threading.Event()
    intakes: list[Intake] = []
    thread = threading.Thread(target=lambda: intakes.append(daemon.run(config, stop=stop)))
    thread.start()
    push = load_payload("gcp/gcs_pubsub_push_object_finalize_new_2017.json")
    deadline = time.monotonic() + 10
    while (status := post_or_none(f"http://127.0.0.1:{port}/push", push)) is None and time.monotonic() < deadline:
        time.sleep(0.05)

    stop.set()
    thread.join(10)

    assert status == 204
    assert not thread.is_alive()
    assert intakes[0].recorded == 1


def post_or_none(url: str, body: dict[str, Any]) -> int | None:
    """None while nothing listens yet."""
    try:
        return post(url, body)
    except urllib.error.URLError:
        return None
