"""Delivery through Apprise to real receivers on 127.0.0.1: an SMTP server and HTTP chat endpoints."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import ValidationError

from monitor.notify.apprise_send import Attempt, RetryPolicy, Sender, check_destinations
from monitor.notify.destinations import Destination, DestinationError
from monitor.notify.notification import DeliveryResult, Notification
from monitor.notify.templates import Templates
from tests.notify.receivers import HttpReceiver, SmtpReceiver, free_port
from tests.notify.test_templates import deletion_notification

FAST = RetryPolicy(max_attempts=5, base_delay=0.05, max_delay=0.2, rate_limit_delay=0.4, timeout=10)
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def flaky() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def templates() -> Templates:
    return Templates()


def deliver(destinations: dict[str, Destination], notifications: list[Notification], templates: Templates,
            policy: RetryPolicy = FAST) -> list[DeliveryResult]:
    return asyncio.run(Sender(destinations, templates, policy).deliver(notifications))


def to(destination: str, notification: Notification | None = None) -> Notification:
    return replace(notification or deletion_notification(), destination=destination)


def test_email_arrives_as_html_with_event_text_escaped(smtp: SmtpReceiver, templates: Templates) -> None:
    notification = to("oncall-email", deletion_notification(name=HOSTILE, user_agent=HOSTILE))
    [result] = deliver({"oncall-email": Destination(urls=[smtp.url()])}, [notification], templates)
    assert result == DeliveryResult("oncall-email", notification.key, delivered=True, attempts=1)
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


def test_a_failing_destination_never_delays_another(chat: HttpReceiver, flaky: HttpReceiver, smtp: SmtpReceiver,
                                                    templates: Templates) -> None:
    flaky.script("drop", 429, 500)
    destinations = {"chat": Destination(urls=[chat.url()]), "flaky": Destination(urls=[flaky.url()]),
                    "mail": Destination(urls=[smtp.url()])}
    notifications = [to("flaky"), to("chat"), to("mail")]
    policy = replace(FAST, base_delay=0.25, max_delay=1.0, rate_limit_delay=0.8)
    results = deliver(destinations, notifications, templates, policy)

    assert [(r.destination, r.delivered, r.attempts) for r in results] == [
        ("flaky", True, 4), ("chat", True, 1), ("mail", True, 1)]
    assert [r.answer for r in flaky.requests] == ["drop", 429, 500, 200]
    retries_end = flaky.requests[-1].at
    assert chat.received[0].at < flaky.requests[1].at < retries_end  # before the first retry, even
    assert smtp.messages[0].at < retries_end
    after_429 = flaky.requests[2].at - flaky.requests[1].at
    assert after_429 >= policy.rate_limit_delay > policy.delay(2, Attempt(ok=False))  # 429 waits longer
    assert len(chat.received) == len(flaky.received) == len(smtp.messages) == 1  # nothing sent twice


def test_a_url_that_accepted_is_not_sent_again_while_another_retries(chat: HttpReceiver, flaky: HttpReceiver,
                                                                     templates: Templates) -> None:
    flaky.script(500, 500)
    [result] = deliver({"both": Destination(urls=[chat.url(), flaky.url()])}, [to("both")], templates)
    assert (result.delivered, result.attempts) == (True, 3)
    assert len(chat.requests) == 1 and len(flaky.received) == 1


def test_after_the_last_retry_the_message_stays_undelivered(flaky: HttpReceiver, templates: Templates) -> None:
    flaky.script(*[500] * 10)
    first, second = to("flaky"), replace(to("flaky"), group_key="another-group")
    policy = replace(FAST, max_attempts=3)
    results = deliver({"flaky": Destination(urls=[flaky.url()])}, [first, second], templates, policy)

    assert (results[0].delivered, results[0].attempts) == (False, 3)
    assert results[0].error.startswith("json://127.0.0.1:")
    assert "error=500" in results[0].error
    assert (results[1].delivered, results[1].attempts) == (False, 0)
    assert results[1].error.startswith("not attempted: destination down (")
    assert results[1].notification_key == "flaky:another-group"
    assert len(flaky.requests) == 3


def test_a_refused_connection_fails_with_the_secret_masked(templates: Templates) -> None:
    url = f"json://user:s3cr3t-pw@127.0.0.1:{free_port()}/hook"
    destination = Destination(urls=[url])
    [result] = deliver({"down": destination}, [to("down")], templates, replace(FAST, max_attempts=2))
    assert (result.delivered, result.attempts) == (False, 2)
    assert "Connection error" in result.error
    assert "s3cr3t-pw" not in result.error
    [described] = destination.describe()
    assert described.startswith("json://user:****@127.0.0.1:") and "s3cr3t-pw" not in described


def test_a_client_error_is_not_retried(flaky: HttpReceiver, templates: Templates) -> None:
    flaky.script(404)
    [result] = deliver({"flaky": Destination(urls=[flaky.url()])}, [to("flaky")], templates)
    assert (result.delivered, result.attempts) == (False, 1)
    assert "error=404" in result.error and len(flaky.requests) == 1


def test_unusable_destinations_are_reported_not_raised(templates: Templates) -> None:
    destinations = {"nothing": Destination(urls=["notaservice://x"]), "unset": Destination(urls_env="NO_SUCH_VAR")}
    notifications = [to("nothing"), to("unset"), to("missing")]
    results = deliver(destinations, notifications, templates)
    assert [(r.delivered, r.attempts) for r in results] == [(False, 0)] * 3
    assert results[0].error == "destination nothing: URL 1 (notaservice://...) is not a valid Apprise URL"
    assert results[1].error == "destination unset: environment variable NO_SUCH_VAR is not set"
    assert results[2].error == "unknown destination 'missing'"
    assert check_destinations(destinations, environ={}) == [
        "destination nothing: URL 1 (notaservice://...) is not a valid Apprise URL",
        "destination unset: environment variable NO_SUCH_VAR is not set",
    ]


def test_send_test_sends_a_sample_titled_test(chat: HttpReceiver, templates: Templates) -> None:
    sender = Sender({"chat": Destination(urls=[chat.url()])}, templates, FAST)
    result = asyncio.run(sender.send_test("chat"))
    assert result.delivered
    assert chat.received[0].json()["title"] == "[TEST] [CRITICAL] S3 bucket ACL grants public access: example-bucket"


def test_urls_are_read_at_send_time_from_env_and_file(chat: HttpReceiver, flaky: HttpReceiver, tmp_path: Path,
                                                      templates: Templates) -> None:
    (tmp_path / "urls.txt").write_text(f"# the on-call chat\n\n{flaky.url()}\n")
    destinations = {"env": Destination(urls_env="CHAT_URLS"), "file": Destination(urls_file="urls.txt")}
    sender = Sender(destinations, templates, FAST, base_dir=tmp_path, environ={"CHAT_URLS": chat.url()})
    results = asyncio.run(sender.deliver([to("env"), to("file")]))
    assert all(r.delivered for r in results)
    assert len(chat.received) == len(flaky.received) == 1


def test_an_apprise_config_file_is_a_source_of_urls(chat: HttpReceiver, tmp_path: Path,
                                                    templates: Templates) -> None:
    (tmp_path / "apprise.yaml").write_text(f"urls:\n  - {chat.url()}\n")
    destination = Destination(config="apprise.yaml", format="text")
    [result] = asyncio.run(Sender({"cfg": destination}, templates, FAST, base_dir=tmp_path).deliver([to("cfg")]))
    assert result.delivered
    assert chat.received[0].json()["message"].startswith("HIGH: Many objects deleted from one bucket\n")


def test_slow_sends_run_in_parallel_across_destinations(templates: Templates) -> None:
    receivers = [HttpReceiver() for _ in range(3)]
    try:
        for receiver in receivers:
            receiver.script(500)
        destinations = {f"d{i}": Destination(urls=[r.url()]) for i, r in enumerate(receivers)}
        started = time.monotonic()
        policy = replace(FAST, base_delay=0.5, max_delay=0.5)
        results = deliver(destinations, [to(name) for name in destinations], templates, policy)
        assert all(r.delivered and r.attempts == 2 for r in results)
        assert time.monotonic() - started < 1.4  # three 0.5 s back-offs side by side, not one after another
    finally:
        for receiver in receivers:
            receiver.close()


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
