"""Delivery through Apprise to real receivers on 127.0.0.1: an SMTP server and HTTP chat endpoints."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from monitor.messages import DeliveryResult, Notification
from monitor.notify.apprise_send import Sender, check_destinations
from monitor.notify.destinations import Destination, DestinationError
from monitor.notify.dispatch import Dispatcher, RetryPolicy
from monitor.notify.templates import Templates
from monitor.store import SqliteStore
from monitor.store.base import NewNotification, StoredNotification
from tests.notify.receivers import HttpReceiver, SmtpReceiver, free_port
from tests.notify.test_templates import deletion_notification

FAST = RetryPolicy(max_attempts=5, base_delay=0.05, max_delay=0.2, rate_limit_delay=0.4)
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def flaky() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def templates() -> Templates:
    return Templates()


def deliver(destinations: dict[str, Destination], notifications: list[Notification],
            templates: Templates) -> list[DeliveryResult]:
    """One attempt, as the dispatch stage makes it."""
    return asyncio.run(Sender(destinations, templates).deliver(notifications))


def dispatch(tmp_path: Path, destinations: dict[str, Destination], notifications: list[Notification],
             templates: Templates, *, policy: RetryPolicy = FAST, patience: float = 10.0,
             ) -> list[StoredNotification]:
    """The messages through the notification log of a real store and the dispatch stage, retries and all."""
    store = SqliteStore(str(tmp_path / "monitor.db"))
    now = datetime.now(UTC)
    store.write_state([], [], None, [NewNotification(f"n{i}", n, now) for i, n in enumerate(notifications)])
    sender = Sender(destinations, templates)
    Dispatcher(store, lambda batch: asyncio.run(sender.deliver(batch)), policy).drain(patience)
    return store.notifications()


def to(destination: str, notification: Notification | None = None) -> Notification:
    return replace(notification or deletion_notification(), destination=destination)


def test_email_arrives_as_html_with_event_text_escaped(smtp: SmtpReceiver, templates: Templates) -> None:
    notification = to("oncall-email", deletion_notification(name=HOSTILE, user_agent=HOSTILE))
    [result] = deliver({"oncall-email": Destination(urls=[smtp.url()])}, [notification], templates)
    assert (result.destination, result.notification_key, result.delivered, result.attempts, result.error) == (
        "oncall-email", notification.key, True, 1, "")
    [mail] = smtp.messages
    assert mail.envelope_to == ["oncall@example.com"]
    assert mail.message["Subject"] == f"[HIGH] Many objects deleted from one bucket: {HOSTILE} (100 events)"
    html = mail.part("text/html")
    for fact in ("Many objects deleted from one bucket</h1>", "arn:aws:s3:::photos-prod", "100 events",
                 "198.51.100.23", "s3-mass-object-deletion", "eu-west-1"):
        assert fact in html
    assert HOSTILE not in html
    assert "<b>&lt;script&gt;alert(1)&lt;/script&gt;</b>" in html


def test_chat_gets_the_markdown_message(chat: HttpReceiver, templates: Templates) -> None:
    notification = to("chat")
    [result] = deliver({"chat": Destination(urls=[chat.url()])}, [notification], templates)
    assert result.delivered and result.attempts == 1
    [request] = chat.received
    payload = request.json()
    assert payload["title"] == "[HIGH] Many objects deleted from one bucket: photos-prod (100 events)"
    assert payload["type"] == "failure"  # Apprise's notify type for high severity
    assert "**Resource:** bucket **photos-prod** `arn:aws:s3:::photos-prod`" in payload["message"]
    assert "(100 events)" in payload["message"]


def test_the_http_answer_decides_retries(flaky: HttpReceiver, templates: Templates) -> None:
    flaky.retry_after = 7
    flaky.script(429, 503, 404)
    destinations = {"flaky": Destination(urls=[flaky.url()])}
    outcomes = [deliver(destinations, [to("flaky")], templates)[0] for _ in range(4)]
    assert [(r.delivered, r.permanent, r.rate_limited, r.retry_after) for r in outcomes] == [
        (False, False, True, 7.0), (False, False, False, None), (False, True, False, None), (True, False, False, None)]
    assert "error=429" in outcomes[0].error and "error=404" in outcomes[2].error
    assert outcomes[3].accepted and all(not r.accepted for r in outcomes[:3])


def test_a_failing_destination_never_delays_another(tmp_path: Path, chat: HttpReceiver, flaky: HttpReceiver,
                                                    smtp: SmtpReceiver, templates: Templates) -> None:
    flaky.script("drop", 429, 500)
    destinations = {"chat": Destination(urls=[chat.url()]), "flaky": Destination(urls=[flaky.url()]),
                    "mail": Destination(urls=[smtp.url()])}
    policy = FAST._replace(base_delay=0.25, max_delay=1.0, rate_limit_delay=0.8)
    stored = dispatch(tmp_path, destinations, [to("flaky"), to("chat"), to("mail")], templates, policy=policy)

    assert [(s.notification.destination, s.status, s.attempts) for s in stored] == [
        ("flaky", "delivered", 4), ("chat", "delivered", 1), ("mail", "delivered", 1)]
    assert [r.answer for r in flaky.requests] == ["drop", 429, 500, 200]
    assert chat.received[0].at < flaky.requests[1].at
    assert smtp.messages[0].at < flaky.requests[1].at
    after_429 = flaky.requests[2].at - flaky.requests[1].at
    assert after_429 >= flaky.retry_after > policy.delay(2, DeliveryResult("flaky", "k", False, 1))  # Retry-After
    assert len(chat.received) == len(flaky.received) == len(smtp.messages) == 1  # nothing sent twice


def test_a_url_that_accepted_is_not_sent_again_while_another_retries(tmp_path: Path, chat: HttpReceiver,
                                                                     flaky: HttpReceiver, templates: Templates) -> None:
    flaky.script(500, 500)
    [stored] = dispatch(tmp_path, {"both": Destination(urls=[chat.url(), flaky.url()])}, [to("both")], templates)
    assert (stored.status, stored.attempts) == ("delivered", 3)
    assert len(chat.requests) == 1 and len(flaky.received) == 1


def test_after_the_last_retry_the_message_stays_undelivered(tmp_path: Path, flaky: HttpReceiver,
                                                            templates: Templates) -> None:
    flaky.script(*[500] * 10)
    first, second = to("flaky"), replace(to("flaky"), group_key="another-group")
    stored = dispatch(tmp_path, {"flaky": Destination(urls=[flaky.url()])}, [first, second], templates,
                      policy=FAST._replace(max_attempts=3))
    assert [(s.status, s.attempts) for s in stored] == [("undelivered", 3), ("undelivered", 3)]
    assert stored[0].last_error.startswith("json://127.0.0.1:")
    assert "error=500" in stored[0].last_error
    assert stored[1].last_error.startswith("not attempted: destination down (")
    assert len(flaky.requests) == 3  # the destination is tried once per round, not once per message


def test_a_client_error_is_not_retried(tmp_path: Path, flaky: HttpReceiver, templates: Templates) -> None:
    flaky.script(404)
    [stored] = dispatch(tmp_path, {"flaky": Destination(urls=[flaky.url()])}, [to("flaky")], templates)
    assert (stored.status, stored.attempts) == ("undelivered", 1)
    assert "error=404" in stored.last_error and len(flaky.requests) == 1


def test_a_refused_connection_fails_with_the_secret_masked(templates: Templates) -> None:
    url = f"json://user:s3cr3t-pw@127.0.0.1:{free_port()}/hook"
    destination = Destination(urls=[url])
    [result] = deliver({"down": destination}, [to("down")], templates)
    assert (result.delivered, result.attempts, result.permanent) == (False, 1, False)
    assert "Connection error" in result.error
    assert "s3cr3t-pw" not in result.error
    [described] = destination.describe()
    assert described.startswith("json://user:****@127.0.0.1:") and "s3cr3t-pw" not in described


def test_unusable_destinations_are_reported_not_raised(templates: Templates) -> None:
    destinations = {"nothing": Destination(urls=["notaservice://x"]), "unset": Destination(urls_env="NO_SUCH_VAR")}
    notifications = [to("nothing"), to("unset"), to("missing")]
    results = deliver(destinations, notifications, templates)
    assert [(r.delivered, r.attempts) for r in results] == [(False, 0)] * 3
    assert results[0].error == "destination nothing: URL 1 (notaservice://...) is not a valid Apprise URL"
    assert results[1].error == "destination unset: environment variable NO_SUCH_VAR is not set"
    assert results[2].error == "unknown destination 'missing'"
    assert results[2].permanent
    assert check_destinations(destinations, environ={}) == [
        "destination nothing: URL 1 (notaservice://...) is not a valid Apprise URL",
        "destination unset: environment variable NO_SUCH_VAR is not set",
    ]


def test_send_test_sends_a_sample_titled_test(chat: HttpReceiver, templates: Templates) -> None:
    sender = Sender({"chat": Destination(urls=[chat.url()])}, templates)
    result = asyncio.run(sender.send_test("chat"))
    assert result.delivered
    assert chat.received[0].json()["title"] == "[TEST] [CRITICAL] S3 bucket ACL grants public access: example-bucket"


def test_urls_are_read_at_send_time_from_env_and_file(chat: HttpReceiver, flaky: HttpReceiver, tmp_path: Path,
                                                      templates: Templates) -> None:
    (tmp_path / "urls.txt").write_text(f"# the on-call chat\n\n{flaky.url()}\n")
    destinations = {"env": Destination(urls_env="CHAT_URLS"), "file": Destination(urls_file="urls.txt")}
    sender = Sender(destinations, templates, base_dir=tmp_path, environ={"CHAT_URLS": chat.url()})
    results = asyncio.run(sender.deliver([to("env"), to("file")]))
    assert all(r.delivered for r in results)
    assert len(chat.received) == len(flaky.received) == 1


def test_an_apprise_config_file_is_a_source_of_urls(chat: HttpReceiver, tmp_path: Path,
                                                    templates: Templates) -> None:
    (tmp_path / "apprise.yaml").write_text(f"urls:\n  - {chat.url()}\n")
    destination = Destination(config="apprise.yaml", format="text")
    [result] = asyncio.run(Sender({"cfg": destination}, templates, base_dir=tmp_path).deliver([to("cfg")]))
    assert result.delivered
    assert chat.received[0].json()["message"].startswith("HIGH: Many objects deleted from one bucket\n")


def test_a_slow_destination_does_not_hold_back_another(chat: HttpReceiver, flaky: HttpReceiver,
                                                       templates: Templates) -> None:
    flaky.hang_seconds = 2.0
    flaky.script("hang")
    destinations = {"slow": Destination(urls=[flaky.url()]), "chat": Destination(urls=[chat.url()])}
    started = time.monotonic()
    results = deliver(destinations, [to("slow"), to("chat")], templates)
    assert all(r.delivered for r in results)
    assert chat.received[0].at - started < 1.5 <= time.monotonic() - started


# Destination settings


@pytest.mark.parametrize(("settings", "message"), [
    ({"urls": ["json://a"], "urls_env": "X"}, "give only one of urls, urls_env or urls_file, not urls and urls_env"),
    ({}, "give one of urls, urls_env or urls_file (or an Apprise config file in config)"),
    ({"urls": []}, "urls is empty"),
    ({"format": "markdown"}, "give one of urls, urls_env or urls_file (or an Apprise config file in config)"),
])
def test_a_destination_needs_exactly_one_source(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Destination.model_validate(settings)
    [error] = caught.value.errors()
    assert error["msg"] == f"Value error, {message}"


def test_unknown_destination_keys_are_rejected() -> None:
    with pytest.raises(ValidationError, match="url\n  Extra inputs are not permitted"):
        Destination.model_validate({"url": "json://a"})


def test_urls_in_a_variable_split_on_spaces_and_on_commas_between_urls() -> None:
    value = "slack://T1/B2/C3, mailto://h?to=a@x.com,b@x.com\njson://h:8080/x"
    urls = Destination(urls_env="URLS").resolved_urls(environ={"URLS": value})
    assert urls == ["slack://T1/B2/C3", "mailto://h?to=a@x.com,b@x.com", "json://h:8080/x"]


def test_a_missing_urls_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DestinationError, match=r"cannot read .*nope\.txt: No such file or directory"):
        Destination(urls_file="nope.txt").resolved_urls(base_dir=tmp_path)


@pytest.mark.parametrize(("url", "fmt", "expected"), [
    ("mailto://h?to=a@x.com", None, "html"),
    ("MAILTOS://h?to=a@x.com", None, "html"),
    ("slack://T1/B2/C3", None, "markdown"),
    ("json://127.0.0.1:80/", None, "markdown"),
    ("mailto://h?to=a@x.com", "text", "text"),
])
def test_the_body_format_follows_the_scheme_unless_set(url: str, fmt: str | None, expected: str) -> None:
    assert Destination(urls=[url], format=fmt).format_for(url) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("url", ["slack://T0SECRET/B0SECRET", "mailtos://user:SECRETPASS@/?to=x"])
def test_a_url_apprise_cannot_load_leaves_no_secret_in_any_log(url: str, templates: Templates,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    [result] = deliver({"bad": Destination(urls=[url])}, [to("bad")], templates)
    assert not result.delivered and "is not a valid Apprise URL" in result.error
    assert "SECRET" not in caplog.text + result.error
