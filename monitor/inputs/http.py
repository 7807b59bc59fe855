"""HTTP push: Pub/Sub push, CloudEvents (binary and structured) and SNS over HTTPS, answered once recorded.

2xx once the sink returned (a payload the intake cannot read is a dead letter by then); 5xx only when the
store failed (or a signing key could not be fetched), so the sender retries; 4xx for what resending cannot
fix, the body kept as a dead letter first; 401/403 for senders that could not prove who they are, not kept;
413 for a body over ``max_body_bytes``, not read. Secrets never reach the log: not the query string (where
``?token=`` travels), not the Authorization or X-Monitor-Token header, at any level.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import unquote

import orjson
from pydantic import Field

from monitor import jsondoc
from monitor.adapters.base import describe
from monitor.inputs.base import Message, Sink
from monitor.inputs.push_auth import (
    SECRET_HEADER,
    CertsUnavailable,
    OidcVerifier,
    PushOidc,
    Unauthorized,
    check_shared_secret,
)
from monitor.inputs.sns_verify import BadSnsSignature, MalformedSnsMessage, SnsVerifier, confirm_subscription
from monitor.yamlfiles.models import Closed

log = logging.getLogger(__name__)
CLOUDEVENT_REQUIRED = ("id", "source", "specversion", "type")


_SNS_CERT_URL = r"^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/"


class HttpInput(Closed):
    type: Literal["http"] = "http"
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    paths: list[Annotated[str, Field(pattern=r"^/")]] = Field(
        default=["/"], min_length=1, description="path prefixes served; any other path is 404")
    shared_secret: str | None = Field(default=None, description="required as ?token= or an X-Monitor-Token header")
    oidc: PushOidc | None = Field(default=None, description="require a Google-signed token (Pub/Sub push, Eventarc)")
    sns_topic_arns: list[str] = Field(
        default=[], description="SNS topics accepted (and whose subscriptions are confirmed); empty: no SNS")
    sns_cert_url_pattern: re.Pattern[str] = Field(
        default=re.compile(_SNS_CERT_URL), description="where SNS signing certificates may be fetched from")
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1)


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes


class Refused(Exception):
    """Malformed or unverifiable: a 4xx, and the body kept as a dead letter."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def parse_json(body: bytes) -> Any:
    """The body's JSON within the intake's limits (size, UTF-8, depth); Refused with the reason otherwise."""
    try:
        return jsondoc.decode(body)
    except jsondoc.JsonRefused as exc:
        raise Refused(400, str(exc)) from None


def payload_id(payload: Any) -> str | None:
    """The sender's id for a Pub/Sub push envelope or a structured CloudEvent, for the message's source."""
    if not isinstance(payload, Mapping):
        return None
    inner = payload.get("message")
    found = inner.get("messageId") if isinstance(inner, Mapping) else payload.get("id")
    return found if isinstance(found, str) else None


def binary_cloudevent(headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """The structured form of a binary-mode CloudEvent: attributes from ``ce-*`` headers, the body as data."""
    event: dict[str, Any] = {name[3:]: unquote(value) for name, value in headers.items() if name.startswith("ce-")}
    missing = [name for name in CLOUDEVENT_REQUIRED if not event.get(name)]
    if missing:
        raise Refused(400, "CloudEvent without " + ", ".join(f"ce-{name}" for name in missing))
    content_type = headers.get("content-type")
    if content_type:
        event["datacontenttype"] = content_type
    if body:
        event.update(cloudevent_data(content_type, body))
    return event


def cloudevent_data(content_type: str | None, body: bytes) -> dict[str, Any]:
    media = (content_type or "application/json").split(";")[0].strip().lower()
    if media in ("application/json", "text/json") or media.endswith("+json"):
        return {"data": parse_json(body)}
    if media.startswith("text/"):
        try:
            return {"data": body.decode("utf-8")}
        except UnicodeDecodeError:
            pass
    return {"data_base64": base64.b64encode(body).decode("ascii")}


class Endpoint:
    """What one POST means, apart from the server that received it; returns the status to answer."""

    def __init__(self, settings: HttpInput, sink: Sink) -> None:
        self.settings = settings
        self.sink = sink
        self.sns = SnsVerifier(settings.sns_cert_url_pattern)
        self.oidc = OidcVerifier(settings.oidc) if settings.oidc else None

    def handle(self, request: Request) -> int:
        if not any(request.path.startswith(prefix) for prefix in self.settings.paths):
            return 404
        try:
            check_shared_secret(self.settings.shared_secret, request.query, request.headers)
            message = self.read(request)
        except Unauthorized as exc:
            log.warning("refused a POST to %s: %s", request.path, redact(exc.reason, request))
            return exc.status
        except Refused as exc:
            return self.dead_letter(request, exc)
        except (CertsUnavailable, OSError) as exc:
            log.warning("could not check a POST to %s: %s", request.path, redact(str(exc), request))
            return 503
        except Exception as exc:  # a bug reading this request: resending it would not help
            log.error("could not read a POST to %s: %s", request.path, redact(describe(exc), request))
            return self.dead_letter(request, Refused(400, f"unreadable request: {describe(exc)}"))
        return 200 if message is None else self.deliver(message)

    def deliver(self, message: Message) -> int:
        try:
            self.sink([message])
        except Exception:
            log.exception("could not record %s", message.source)
            return 503
        return 204

    def dead_letter(self, request: Request, refused: Refused) -> int:
        """Kept by the intake (``Message.refused``), counted with every other dead letter; then the 4xx."""
        reason = redact(refused.reason, request)
        try:
            self.sink([Message(request.body, f"http:{request.path}", refused=reason)])
        except Exception:
            log.exception("could not keep a dead letter from %s", request.path)
            return 503
        return refused.status

    def read(self, request: Request) -> Message | None:
        """The message to record; None for a handshake that has been answered."""
        sns_type = request.headers.get("x-amz-sns-message-type")
        if sns_type is not None:
            return self.read_sns(request, sns_type)
        if self.oidc is not None:
            self.oidc.verify(request.headers.get("authorization"))
        if "ce-specversion" in request.headers:
            event = binary_cloudevent(request.headers, request.body)
            return Message(orjson.dumps(event), source(request, event["id"]))
        return Message(request.body, source(request, payload_id(parse_json(request.body))))

    def read_sns(self, request: Request, sns_type: str) -> Message | None:
        message = parse_json(request.body)
        if not isinstance(message, dict) or message.get("Type") != sns_type:
            raise Refused(400, f"x-amz-sns-message-type {sns_type} but the body is not an SNS {sns_type}")
        topic = message.get("TopicArn")
        if topic not in self.settings.sns_topic_arns:
            raise Unauthorized(403, f"SNS topic {topic!r} is not in sns_topic_arns")
        try:
            self.sns.verify(message)
        except BadSnsSignature as exc:
            raise Refused(403, f"SNS signature verification failed: {exc}") from None
        except MalformedSnsMessage as exc:
            raise Refused(400, str(exc)) from None
        if sns_type == "Notification":
            return Message(request.body, source(request, message.get("MessageId")))
        if sns_type == "SubscriptionConfirmation":
            confirm_subscription(message)
            log.info("confirmed the SNS subscription to %s", topic)
        else:
            log.info("SNS %s for %s", sns_type, topic)
        return None


def redact(text: str, request: Request) -> str:
    """``text`` without the credentials this request presented (a library may quote a token it refused)."""
    secrets = [value for values in request.query.values() for value in values]
    for name in ("authorization", SECRET_HEADER.lower()):
        value = request.headers.get(name, "")
        secrets += [value, value.partition(" ")[2].strip()]
    for secret in sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "<redacted>")
    return text


def without_query(text: str) -> str:
    """A request line or URL with every query string (``?token=...``) cut out."""
    return _QUERY.sub("?<redacted>", text)


_QUERY = re.compile(r"\?[^\s\"']*")


def source(request: Request, identifier: Any) -> str:
    return f"http:{request.path}#{identifier}" if isinstance(identifier, str) and identifier else f"http:{request.path}"


class HttpSource:
    """One threaded HTTP server, up while the daemon runs; ``address`` is set once it listens."""

    def __init__(self, settings: HttpInput) -> None:
        self.settings = settings
        self.name = f"http:{settings.host}:{settings.port}"
        self.address: tuple[str, int] | None = None
        self.listening = threading.Event()

    def run(self, sink: Sink, stop: threading.Event, once: bool) -> None:
        if once:
            log.info("%s receives pushes only while the daemon runs: nothing to drain with --once", self.name)
            return
        from monitor.inputs.http_server import Server  # http.server only where a daemon listens

        endpoint = Endpoint(self.settings, sink)
        server = Server((self.settings.host, self.settings.port), endpoint, self.settings.max_body_bytes)
        host, port = server.server_address[:2]
        self.address = (str(host), int(port))
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name=self.name,
                                  daemon=True)
        thread.start()
        log.info("listening on http://%s:%d", *self.address)
        self.listening.set()
        try:
            stop.wait()
        finally:
            self.listening.clear()
            server.shutdown()
            server.server_close()  # waits for the requests in hand
