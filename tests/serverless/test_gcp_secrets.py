"""``${gcpsecret:...}`` and ``${secret:projects/...}`` in a config: GCP Secret Manager has no emulator, so the
real client (google-cloud-secret-manager, REST transport) talks to a stand-in for the API's one call
(``GET /v1/{name}:access``) on 127.0.0.1; everything above that HTTP boundary is the real code."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor import config_secrets
from monitor.config import ConfigError, load_config
from monitor.config_secrets import SecretUnavailable
from monitor.serverless import gcp_secrets
from tests.json_api import JsonApi


class SecretManagerStandIn:
    """Answers ``accessSecretVersion`` for the versions it holds, and Google's 404 error body otherwise."""

    def __init__(self, versions: dict[str, bytes]) -> None:
        self.versions = versions
        self.asked: list[str] = []
        self._api = JsonApi(self._access)

    def _access(self, path: str) -> tuple[int, Any]:
        name = path.split("?", maxsplit=1)[0].removeprefix("/v1/").removesuffix(":access")
        self.asked.append(name)
        if name in self.versions:
            return 200, {"name": name, "payload": {"data": base64.b64encode(self.versions[name]).decode()}}
        return 404, {"error": {"code": 404, "status": "NOT_FOUND", "message": f"Secret Version [{name}] not found."}}

    def client(self) -> Any:
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import secretmanager

        return secretmanager.SecretManagerServiceClient(
            transport="rest", credentials=AnonymousCredentials(), client_options={"api_endpoint": self._api.url})

    def close(self) -> None:
        self._api.close()


@pytest.fixture
def secret_manager(monkeypatch: pytest.MonkeyPatch) -> Iterator[SecretManagerStandIn]:
    stand_in = SecretManagerStandIn({
        "projects/acme-prod/secrets/chat-urls/versions/2": b"json://127.0.0.1:9/hook",
        "projects/acme-prod/secrets/push-token/versions/latest": b"s3cr3t-t0ken",
        "projects/acme-prod/secrets/binary/versions/latest": b"\xff\xfe",
    })
    monkeypatch.setattr(gcp_secrets, "client", stand_in.client)
    config_secrets.forget()
    yield stand_in
    config_secrets.forget()
    stand_in.close()


@pytest.mark.parametrize(("name", "full"), [
    ("projects/p/secrets/s", "projects/p/secrets/s/versions/latest"),
    ("projects/p/secrets/s/versions/7", "projects/p/secrets/s/versions/7"),
    ("projects/p/secrets/s/versions/latest", "projects/p/secrets/s/versions/latest"),
])
def test_a_name_without_a_version_means_latest(name: str, full: str) -> None:
    assert gcp_secrets.version_name(name) == full


@pytest.mark.parametrize("name", ["p/s", "projects/p/secrets/", "projects/p/secrets/s/versions/",
                                  "projects/p/secrets/s/extra", "projects/p q/secrets/s"])
def test_a_name_that_is_not_a_secret_version_is_refused(name: str) -> None:
    with pytest.raises(SecretUnavailable, match="is not a Secret Manager name"):
        gcp_secrets.version_name(name)


def write(tmp_path: Path, urls: str, token: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(
        "inputs:\n"
        f"  - {{type: http, port: 8080, shared_secret: \"{token}\"}}\n"
        "destinations:\n"
        f"  chat: {{urls: [\"{urls}\"]}}\n")
    return path


def test_config_values_come_from_secret_manager(tmp_path: Path, secret_manager: SecretManagerStandIn) -> None:
    path = write(tmp_path, "${gcpsecret:projects/acme-prod/secrets/chat-urls/versions/2}",
                 "${secret:projects/acme-prod/secrets/push-token}")

    config = load_config(path)

    assert config.destinations["chat"].urls == ["json://127.0.0.1:9/hook"]
    assert config.inputs[0].shared_secret == "s3cr3t-t0ken"  # type: ignore[union-attr]
    assert sorted(secret_manager.asked) == ["projects/acme-prod/secrets/chat-urls/versions/2",
                                            "projects/acme-prod/secrets/push-token/versions/latest"]


def test_a_missing_or_binary_secret_is_a_config_error_at_its_place(
        tmp_path: Path, secret_manager: SecretManagerStandIn) -> None:
    path = write(tmp_path, "${gcpsecret:projects/acme-prod/secrets/gone}",
                 "${gcpsecret:projects/acme-prod/secrets/binary}")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    text = str(caught.value)
    assert f"{path}:4:" in text and "${gcpsecret:projects/acme-prod/secrets/gone}: NotFound: 404" in text
    assert f"{path}:2:" in text and "projects/acme-prod/secrets/binary/versions/latest does not hold UTF-8 text" in text
