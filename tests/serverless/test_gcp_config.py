"""``MONITOR_CONFIG=gs://...``: the config and what lies under its prefix, fetched from Cloud Storage's JSON API.
No GCS emulator is installed here, so a stand-in for the API's two calls (list with pages, media download) runs
on 127.0.0.1 and ``STORAGE_EMULATOR_HOST`` points at it, as it would at an emulator."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import functions_framework
import pytest

from monitor.serverless import runtime
from monitor.serverless.gcp_config import fetch_config
from tests.conftest import load_payload
from tests.notify.receivers import HttpReceiver
from tests.serverless.test_gcp import MAIN, RULES, gcs_notification, post_structured, published

PAGE = 2


class StorageStandIn:
    """Lists a bucket's objects by prefix, PAGE at a time, and serves their media."""

    def __init__(self, bucket: str, objects: dict[str, bytes]) -> None:
        self.objects = objects
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {name: values[-1] for name, values in parse_qs(url.query).items()}
                base = f"/storage/v1/b/{bucket}/o"
                if url.path == base:
                    names = sorted(n for n in stand_in.objects if n.startswith(query.get("prefix", "")))
                    start = int(query.get("pageToken", "0"))
                    body: dict[str, Any] = {"items": [{"name": n} for n in names[start:start + PAGE]]}
                    if start + PAGE < len(names):
                        body["nextPageToken"] = str(start + PAGE)
                    self.answer(200, json.dumps(body).encode())
                elif url.path.startswith(base + "/") and query.get("alt") == "media":
                    found = stand_in.objects.get(unquote(url.path[len(base) + 1:]))
                    self.answer(200, found) if found is not None else self.answer(404, b"{}")
                else:
                    self.answer(404, b"{}")

            def answer(self, status: int, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def config_objects(state: str, chat: HttpReceiver) -> dict[str, bytes]:
    config = {"state": state, "rules": ["rules/"], "destinations": {"chat": {"urls": [chat.url()]}},
              "routes": {"destination": "chat", "group_by": ["rule"], "group_wait": "0s"}}
    return {
        "monitor/prod/monitor.yaml": json.dumps(config).encode(),
        "monitor/prod/rules/storage.yaml": RULES.encode(),
        "monitor/prod/rules/": b"",  # a folder marker, as the console makes
        "monitor/prod/../escape.yaml": b"rules: []",  # a name that would land outside the folder
        "monitor/staging/monitor.yaml": b"state: nothing-of-this",
    }


@pytest.fixture
def storage(tmp_path: Path, chat: HttpReceiver, monkeypatch: pytest.MonkeyPatch) -> Iterator[StorageStandIn]:
    stand_in = StorageStandIn("acme-config", config_objects(f"sqlite:///{tmp_path}/state/monitor.db", chat))
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", stand_in.host)
    yield stand_in
    stand_in.close()


def test_the_config_and_what_lies_under_its_prefix_are_fetched(storage: StorageStandIn, tmp_path: Path) -> None:
    folder = tmp_path / "fetched"

    path = fetch_config("gs://acme-config/monitor/prod/monitor.yaml", str(folder))

    assert Path(path) == folder.resolve() / "monitor.yaml"
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert files == ["monitor.yaml", "rules/storage.yaml"]
    assert not (tmp_path / "escape.yaml").exists()


@pytest.mark.parametrize(("url", "error"), [
    ("gs://acme-config/monitor/none/monitor.yaml", FileNotFoundError),
    ("gs://acme-config/monitor/prod/", ValueError),
    ("gs://acme-config", ValueError),
])
def test_a_config_that_is_not_there_says_so(storage: StorageStandIn, url: str, error: type[Exception],
                                            tmp_path: Path) -> None:
    with pytest.raises(error, match=r"not found|does not name a file"):
        fetch_config(url, str(tmp_path / "fetched"))


def test_the_function_runs_on_a_config_in_cloud_storage(
        storage: StorageStandIn, chat: HttpReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_CONFIG", "gs://acme-config/monitor/prod/monitor.yaml")
    runtime.reset()
    try:
        app = functions_framework.create_app(target="handle", source=str(MAIN), signature_type="cloudevent")
        assert post_structured(app.test_client(), published(gcs_notification())).status_code == 200
        assert chat.wait_for(1)
        assert "Cloud Storage object created" in chat.received[0].json()["title"]
        [stored] = runtime.runtime().store.read_events(after=0)
        sample = load_payload("gcp/gcs_pubsub_push_object_finalize_new_2017.json")
        assert stored.event.id == sample["message"]["messageId"]
    finally:
        runtime.reset()
