"""A state seeded by the real daemon (a file input, rules, Apprise to a chat receiver on 127.0.0.1), and the page
served over it on a free port."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor import daemon
from monitor.config import Config, load_config
from monitor.events import format_time
from monitor.store import SqliteStore
from monitor.ui.server import UiServer, start_ui
from tests.notify.receivers import HttpReceiver

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
NO_TOKEN_ENV = "MONITOR_UI_TEST_TOKEN_NOT_SET"
HOSTILE_KEY = "<script>alert('key')</script>"
HOSTILE_BUCKET = "<img src=x onerror=alert(1)>"
RULES = """\
rules:
  - id: bucket-deleted
    title: S3 bucket deleted
    severity: high
    match: {provider: [aws], service: [s3], operation: [DeleteBucket]}
  - id: bucket-public
    title: S3 bucket made public
    severity: critical
    match: {operation: [PutBucketAcl], details: {public: [true]}}
  - id: bucket-logging-off
    title: S3 bucket logging turned off
    severity: low
    match: {operation: [PutBucketLogging]}
"""


def cloudtrail(event_id: str, name: str, bucket: str, *, user: str = "alice", account: str = ACCOUNT,
               minutes_ago: float = 5, **parameters: Any) -> dict[str, Any]:
    """A CloudTrail record of an S3 call, as the trail writes it."""
    record = json.loads((ROOT / "rules/aws/samples/handmade_putbucketacl_public_read.json").read_text())
    record.update(eventID=event_id, eventName=name, recipientAccountId=account,
                  eventTime=format_time(datetime.now(UTC) - timedelta(minutes=minutes_ago)))
    record["userIdentity"] = {"type": "IAMUser", "arn": f"arn:aws:iam::{account}:user/{user}", "accountId": account,
                              "userName": user}
    record["requestParameters"] = {"bucketName": bucket, **parameters}
    return record


def first_batch() -> list[dict[str, Any]]:
    return [
        cloudtrail("del-1", "DeleteBucket", "logs-old", minutes_ago=30),
        cloudtrail("del-2", "DeleteBucket", "backups-2019", user="bob", minutes_ago=20),
        cloudtrail("acl-1", "PutBucketAcl", "public-site", user="bob", minutes_ago=10,
                   **{"x-amz-acl": ["public-read"], HOSTILE_KEY: HOSTILE_BUCKET}),
        cloudtrail("other-1", "DeleteBucket", "elsewhere", user="carol", account=OTHER_ACCOUNT, minutes_ago=8),
        cloudtrail("get-1", "GetBucketAcl", HOSTILE_BUCKET, user="dave", minutes_ago=2),
    ]


@dataclass
class Seeded:
    folder: Path
    config_path: Path
    chat: HttpReceiver

    @property
    def config(self) -> Config:
        return load_config(self.config_path)

    def run(self, payloads: list[dict[str, Any]], unreadable: tuple[str, ...] = ()) -> None:
        """Payloads through the real daemon (`monitor run --once`): intake, rules, silences, delivery.

        On a thread of its own: Playwright's sync API keeps an asyncio loop on the test's thread, where the
        delivery stage could not run its own."""
        lines = [json.dumps(p) for p in payloads] + list(unreadable)
        (self.folder / "incoming.jsonl").write_text("".join(line + "\n" for line in lines))
        failed: list[BaseException] = []

        def once() -> None:
            store = SqliteStore(str(self.folder / "monitor.db"))
            try:
                daemon.run(self.config, once=True, store=store)
            except BaseException as exc:
                failed.append(exc)
            finally:
                store.close()

        thread = threading.Thread(target=once, name="seed")
        thread.start()
        thread.join(timeout=120)
        assert not thread.is_alive(), "the daemon did not finish"
        if failed:
            raise failed[0]


def seed(folder: Path, chat: HttpReceiver) -> Seeded:
    (folder / "rules.yaml").write_text(RULES)
    config = folder / "monitor.yaml"
    config.write_text(json.dumps({
        "state": "sqlite:///monitor.db",
        "rules": ["rules.yaml"],
        "inputs": [{"type": "file", "path": "incoming.jsonl"}],
        "destinations": {"chat": {"urls": [chat.url()]}},
        "routes": {"destination": "chat", "group_by": ["rule", "resource.id"], "group_wait": "0s"},
    }))
    seeded = Seeded(folder, config, chat)
    seeded.run(first_batch())
    return seeded


@pytest.fixture
def seeded(tmp_path: Path, chat: HttpReceiver) -> Seeded:
    found = seed(tmp_path, chat)
    assert chat.wait_for(4)  # one message per alert: two deletions here, one elsewhere, one public bucket
    return found


@pytest.fixture
def ui(seeded: Seeded) -> Iterator[UiServer]:
    store = SqliteStore(str(seeded.folder / "monitor.db"))
    server = start_ui(seeded.config, store, "127.0.0.1:0", NO_TOKEN_ENV, environ={})
    try:
        yield server
    finally:
        server.stop()
        store.close()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, driven by Playwright (no browser download: `make test` installs chromium).

    Per module, not per session: while Playwright's sync API runs, the test thread holds its asyncio loop."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page; a JavaScript dialog (an injected ``alert(...)``) fails the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    dialogs: list[str] = []
    opened.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        yield opened
    finally:
        context.close()
    assert dialogs == [], f"a script ran in the page: {dialogs}"


def screenshot(page: Any, name: str) -> Path:
    """Kept as a test artifact under tests/ui/artifacts/ (git-ignored); the path is printed."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path
