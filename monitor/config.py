"""The YAML configuration: models, ``${env:NAME}`` substitution, and errors that point at the file."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from monitor.closed import Closed
from monitor.notify.destinations import Destination
from monitor.notify.settings import DeliverySettings, InhibitRule, Route
from monitor.validation import errors_from_validation
from monitor.yamlsource import Location, Path_, SourceError, YamlDocument, YamlErrors, load_yaml_file

DEFAULT_CONFIG = "monitor.yaml"
DEFAULT_STATE = "sqlite:///.monitor/monitor.db"
_ENV_REFERENCE = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class FileInput(Closed):
    type: Literal["file"] = "file"
    path: str = Field(description="a JSON document, a JSON array or JSON lines; '-' reads stdin")


class SqsInput(Closed):
    type: Literal["aws.sqs"] = "aws.sqs"
    queue_url: str
    region: str | None = None
    endpoint_url: str | None = None
    wait_time_seconds: int = Field(default=20, ge=0, le=20)
    max_messages: int = Field(default=10, ge=1, le=10)
    visibility_timeout: int | None = Field(default=None, ge=0, le=43200)


class DynamoDbStreamInput(Closed):
    type: Literal["aws.dynamodb_stream"] = "aws.dynamodb_stream"
    stream_arn: str = Field(description="the table's LatestStreamArn")
    region: str | None = None
    endpoint_url: str | None = None
    start: Literal["trim_horizon", "latest"] = "trim_horizon"
    poll_interval_seconds: float = Field(default=1.0, gt=0)


_PUBSUB_SUBSCRIPTION = r"^projects/[^/]+/subscriptions/[^/]+$"
_SNS_CERT_URL = r"^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/"


class PubSubInput(Closed):
    type: Literal["gcp.pubsub"] = "gcp.pubsub"
    subscriptions: list[Annotated[str, Field(pattern=_PUBSUB_SUBSCRIPTION)]] = Field(
        min_length=1, description="projects/P/subscriptions/S, all pulled at once")

    @model_validator(mode="before")
    @classmethod
    def _one_subscription(cls, data: Any) -> Any:
        """``subscription: S`` is the short form of ``subscriptions: [S]``."""
        if isinstance(data, dict) and "subscription" in data and "subscriptions" not in data:
            data = {**data, "subscriptions": [data["subscription"]]}
            del data["subscription"]
        return data
    max_messages: int = Field(default=1000, ge=1, description="flow control: messages received, not yet recorded")
    max_bytes: int = Field(default=100 * 1024 * 1024, ge=1, description="flow control: bytes received, not recorded")
    max_lease_extension_seconds: int | None = Field(
        default=None, ge=10, le=600,
        description="how soon Pub/Sub redelivers what a daemon that died had received (library default 60)")
    endpoint: str | None = Field(default=None, description="emulator host:port: plain-text gRPC, no credentials")


class PushOidc(Closed):
    audience: str = Field(description="the audience the push subscription puts in its token")
    service_account: str | None = Field(default=None, description="the email the token must carry")
    certs_url: str = Field(default="https://www.googleapis.com/oauth2/v1/certs", description="the signing keys")


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


InputConfig = Annotated[
    FileInput | SqsInput | DynamoDbStreamInput | PubSubInput | HttpInput, Field(discriminator="type")
]


class Config(Closed):
    state: str = DEFAULT_STATE
    rules: list[str] = []
    templates: str | None = None
    inputs: list[InputConfig] = []
    destinations: dict[str, Destination] = {}
    routes: Route | None = None
    inhibit_rules: list[InhibitRule] = []
    delivery: DeliverySettings = DeliverySettings()
    base_dir: str = Field(default=".", exclude=True, description="folder relative paths are read from (the config's)")

    def resolve(self, path: str) -> str:
        """A path from the config, taken relative to the config file's folder."""
        if path == "-" or os.path.isabs(path):
            return path
        return os.path.normpath(os.path.join(self.base_dir, path))

    def state_url(self) -> str:
        """``state`` with a relative SQLite path taken from the config file's folder."""
        scheme, _, rest = self.state.partition(":///")
        if scheme == "sqlite" and rest and not rest.startswith("/"):
            return f"sqlite:///{self.resolve(rest)}"
        return self.state


class ConfigError(YamlErrors):
    def __init__(self, errors: list[SourceError], document: YamlDocument | None = None) -> None:
        super().__init__(errors)
        self.document = document  # the file as read, when it was valid YAML, for what else it names


def substitute_env(doc: YamlDocument, environ: dict[str, str] | os._Environ[str]) -> list[SourceError]:
    """Replace ``${env:NAME}`` (or ``${env:NAME:-default}``) in string values, in place."""
    errors: list[SourceError] = []

    def replace(value: Any, path: Path_) -> Any:
        if isinstance(value, dict):
            return {k: replace(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [replace(v, (*path, i)) for i, v in enumerate(value)]
        if not isinstance(value, str) or "${" not in value:
            return value

        def lookup(found: re.Match[str]) -> str:
            name, default = found.group(1), found.group(2)
            if name in environ:
                return environ[name]
            if default is not None:
                return default
            errors.append(SourceError(doc.locate(path), f"environment variable {name} is not set"))
            return ""

        substituted = _ENV_REFERENCE.sub(lookup, value)
        if substituted != value:
            doc.substituted[path] = (value, substituted)
        return substituted

    doc.data = replace(doc.data, ())
    return errors


def load_config(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Config:
    """Read the config file; without one (and no explicit path), the embedded defaults."""
    return read_config(path, environ)[0]


def read_config(
    path: str | Path | None = None, environ: dict[str, str] | None = None
) -> tuple[Config, YamlDocument | None]:
    """The config and the document it was read from (None for the embedded defaults), for located checks."""
    if path is None:
        if not Path(DEFAULT_CONFIG).exists():
            return Config(), None
        path = DEFAULT_CONFIG
    try:
        doc = load_yaml_file(path)
    except FileNotFoundError:
        raise ConfigError([SourceError(Location(str(path), 1, 1), "config file not found")]) from None
    except OSError as exc:
        raise ConfigError([SourceError(Location(str(path), 1, 1), f"cannot read the config: {exc.strerror}")]) from None
    except YamlErrors as exc:
        raise ConfigError(exc.errors) from None
    errors = substitute_env(doc, os.environ if environ is None else environ)
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        errors.append(SourceError(doc.locate(()), "the config must be a mapping of keys to values"))
        raise ConfigError(errors, doc)
    try:
        config = Config.model_validate({**data, "base_dir": str(Path(path).parent)})
    except ValidationError as exc:
        unset = {error.location for error in errors}  # an unset variable's value is "": say so only once
        found = [e for e in errors_from_validation(exc, doc, Config) if e.location not in unset]
        raise ConfigError(sorted(errors + found, key=lambda e: (e.location.line, e.location.col)), doc) from None
    if errors:
        raise ConfigError(errors, doc)
    return config, doc

