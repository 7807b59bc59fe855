"""``${ssm:...}`` and ``${secret:...}`` in the config, read from SSM Parameter Store and Secrets Manager on moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from monitor import config_secrets
from monitor.config import ConfigError, load_config
from monitor.registry import Registry
from monitor.serverless import aws, runtime
from tests.notify.receivers import HttpReceiver
from tests.serverless.conftest import s3_body, s3_record, sqs_batch
from tests.store.dynamodb_server import REGION, DynamoServer


@pytest.fixture
def stores(moto: DynamoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoServer]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto.endpoint)  # boto3 finds the endpoint as it would a Lambda's region
    config_secrets.forget()
    yield moto
    config_secrets.forget()


def put_parameter(moto: DynamoServer, name: str, value: str) -> None:
    ssm = boto3.client("ssm", region_name=REGION, endpoint_url=moto.endpoint)
    ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)


def test_ssm_and_secrets_manager_values_fill_the_config(stores: DynamoServer, tmp_path: Path) -> None:
    put_parameter(stores, "/monitor/chat", "json://127.0.0.1:9/chat")
    secrets = boto3.client("secretsmanager", region_name=REGION, endpoint_url=stores.endpoint)
    secrets.create_secret(Name="monitor/email", SecretString="mailto://u:p@127.0.0.1:25?mode=insecure")
    path = tmp_path / "monitor.yaml"
    path.write_text("destinations:\n"
                    "  chat: {urls: ['${ssm:/monitor/chat}']}\n"
                    "  email: {urls: ['${secret:monitor/email}', 'json://${env:HOST}/${ssm:/monitor/chat}x']}\n")

    config = load_config(path, environ={"HOST": "127.0.0.1:9"})

    assert config.destinations["chat"].urls == ["json://127.0.0.1:9/chat"]
    assert config.destinations["email"].urls == ["mailto://u:p@127.0.0.1:25?mode=insecure",
                                                 "json://127.0.0.1:9/json://127.0.0.1:9/chatx"]


def test_a_missing_parameter_or_secret_is_an_error_at_its_place(stores: DynamoServer, tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text("destinations:\n  chat: {urls: ['${ssm:/monitor/nothing}']}\n"
                    "  email: {urls: ['${secret:nothing}']}\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path, environ={})
    text = str(raised.value)
    assert f"{path}:2:17: ${{ssm:/monitor/nothing}}: ParameterNotFound: Parameter /monitor/nothing not found." in text
    assert f"{path}:3:18: ${{secret:nothing}}: ResourceNotFoundException: Secrets Manager can't find" in text


def test_a_gcp_secret_name_goes_to_the_gcp_resolver_when_one_is_registered(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text("destinations:\n  chat: {urls: ['${secret:projects/p/secrets/chat/versions/latest}']}\n")
    fresh: Registry[config_secrets.Resolver] = Registry("secret store")
    for scheme in ("ssm", "secret"):
        fresh.register(scheme)(config_secrets.resolvers.get(scheme))
    monkeypatch.setattr(config_secrets, "resolvers", fresh)
    config_secrets.forget()
    with pytest.raises(ConfigError, match="a GCP Secret Manager name, and no resolver for it is loaded"):
        load_config(path, environ={})

    fresh.register("gcp-secret")(lambda name: f"json://127.0.0.1:9/{name.split('/')[3]}")
    assert load_config(path, environ={}).destinations["chat"].urls == ["json://127.0.0.1:9/chat"]
    config_secrets.forget()


def test_the_function_sends_to_a_destination_kept_in_ssm(
        stores: DynamoServer, tmp_path: Path, chat: HttpReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    put_parameter(stores, "/monitor/destinations/chat", chat.url())
    rule = "{id: any, title: Any change, severity: info, match: {provider: [aws]}}"
    (tmp_path / "rules.yaml").write_text(f"rules:\n  - {rule}\n")
    (tmp_path / "monitor.yaml").write_text(json.dumps({
        "state": stores.url(), "rules": ["rules.yaml"],
        "destinations": {"chat": {"urls": ["${ssm:/monitor/destinations/chat}"]}},
        "routes": {"destination": "chat", "group_wait": "0s"}}))
    monkeypatch.setenv("MONITOR_CONFIG", str(tmp_path / "monitor.yaml"))
    runtime.reset()
    try:
        assert aws.handler(sqs_batch(s3_body(s3_record("secret.csv"))), None) == {"batchItemFailures": []}
    finally:
        runtime.reset()
    assert chat.wait_for(1)
    assert "secret.csv" in json.dumps(chat.received[0].json())
