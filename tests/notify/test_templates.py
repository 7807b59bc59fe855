from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.alerts import Alert, fingerprint
from monitor.events import Actor, Event, Resource
from monitor.messages import Notification
from monitor.notify.templates import FORMATS, Templates, build_context, sample_notifications, shipped_folder

FIRST = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
LAST = datetime(2024, 5, 1, 12, 4, 30, tzinfo=UTC)
BUCKET = "arn:aws:s3:::photos-prod"


def deletion_notification(status: str = "firing", name: str = "photos-prod", user_agent: str = "aws-cli/2.15",
                          template: str | None = None) -> Notification:
    """100 object deletions in one bucket, grouped; the latest event attached."""
    event = Event(
        id="evt-100", time=LAST, provider="aws", account="123456789012", region="eu-west-1", service="s3",
        resource=Resource("object", f"{BUCKET}/img/100.jpg", "img/100.jpg", BUCKET), action="deleted",
        operation="DeleteObject", actor=Actor("arn:aws:iam::123456789012:user/mallory", "IAMUser", "198.51.100.23",
                                              user_agent),
        raw={"userAgent": user_agent},
    )
    group = {"resource.parent": BUCKET}
    alert = Alert(
        rule="s3-mass-object-deletion", title="Many objects deleted from one bucket", severity="high",
        fingerprint=fingerprint("s3-mass-object-deletion", group), group=group,
        event_ids=tuple(f"evt-{i}" for i in range(1, 101)), first_seen=FIRST, last_seen=LAST, count=100,
        resource={"kind": "bucket", "id": BUCKET, "name": name, "parent": "123456789012"},
        provider="aws", account="123456789012", region="eu-west-1", status=status, tags=("aws", "s3"),
        description="100 or more objects deleted from one bucket within 5 minutes",
        explanation={"detector": "threshold", "count": 100, "window": "5m"}, event=event,
    )
    return Notification("oncall-email", alert.fingerprint, group, status, (alert,), template=template)


@pytest.fixture(scope="module")
def shipped() -> Templates:
    return Templates()


def test_the_shipped_templates_pass_their_own_check(shipped: Templates) -> None:
    assert shipped.check() == []
    assert shipped.names() == {"default"}
    assert shipped.folder is None and shipped.shipped == shipped_folder()


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_firing_alert_says_what_where_who_when_and_why(shipped: Templates, fmt: str) -> None:
    message = shipped.render(deletion_notification(), fmt)  # type: ignore[arg-type]
    assert message.fmt == fmt
    assert message.title == "[HIGH] Many objects deleted from one bucket: photos-prod (100 events)"
    for fact in (
        "HIGH", "Many objects deleted from one bucket",  # what happened
        "DeleteObject", "deleted",
        "bucket", "photos-prod", BUCKET,  # to which resource
        "arn:aws:iam::123456789012:user/mallory", "198.51.100.23",  # by whom
        "aws", "123456789012", "eu-west-1",  # where
        "2024-05-01 12:00:00 UTC", "2024-05-01 12:04:30 UTC", "100 events",  # when, how many
        "s3-mass-object-deletion", "100 or more objects deleted from one bucket within 5 minutes",  # why
        "threshold", "5m",
        "https://s3.console.aws.amazon.com/s3/buckets/photos-prod?region=eu-west-1",  # where to look
    ):
        assert fact in message.body, f"{fact!r} missing from the {fmt} body"
    assert "RESOLVED" not in message.body


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_resolved_notification_says_resolved(shipped: Templates, fmt: str) -> None:
    message = shipped.render(deletion_notification(status="resolved"), fmt)  # type: ignore[arg-type]
    assert message.title.startswith("[RESOLVED] Many objects deleted from one bucket")
    assert "RESOLVED" in message.body
    assert "[HIGH]" not in message.title


def test_a_group_lists_every_alert_most_severe_first(shipped: Templates) -> None:
    notification = sample_notifications()[1]
    context = build_context(notification)
    assert [a["severity"] for a in context["alerts"]] == ["critical", "high"]
    assert context["alert"]["rule"] == "s3-bucket-acl-public"
    assert context["notification"]["count"] == 101
    body = shipped.render(notification, "text").body
    assert "Also in this group (101 events in all):" in body
    assert "- [HIGH] Many objects deleted from one bucket: bucket example-data (100 events" in body


def test_event_text_is_escaped_in_html_and_inert_in_markdown(shipped: Templates) -> None:
    hostile = "<script>alert(1)</script>"
    notification = deletion_notification(name=hostile, user_agent=hostile)
    html = shipped.render(notification, "html").body
    assert hostile not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    markdown = shipped.render(deletion_notification(name="[click](https://evil.example)"), "markdown").body
    assert "[click](https://evil.example)" not in markdown
    assert r"\[click\]\(https://evil.example\)" in markdown


def test_the_context_carries_the_event_with_its_raw_payload() -> None:
    context = build_context(deletion_notification())
    event = context["alert"]["event"]
    assert event["actor"]["ip"] == "198.51.100.23"
    assert event["raw"] == {"userAgent": "aws-cli/2.15"}
    assert context["console_url"] == context["alert"]["console_url"]


def test_a_user_folder_overrides_by_name_and_falls_back_per_file(tmp_path: Path) -> None:
    (tmp_path / "oncall.title.j2").write_text("PAGE {{ alert.rule }} x{{ notification.count }}")
    (tmp_path / "default.txt.j2").write_text("custom text for {{ alert.resource.name }}")
    templates = Templates(tmp_path)
    assert templates.check() == []
    assert templates.names() == {"default"}  # oncall has a title but no body of its own
    text = templates.render(deletion_notification(template="oncall"), "text")
    assert text.title == "PAGE s3-mass-object-deletion x100"
    assert text.body == "custom text for photos-prod\n"
    html = templates.render(deletion_notification(), "html", template="oncall")
    assert html.title == "PAGE s3-mass-object-deletion x100"
    assert "Many objects deleted from one bucket</h1>" in html.body  # the shipped HTML body


def test_the_notification_template_wins_over_the_destination_one(tmp_path: Path) -> None:
    (tmp_path / "rule.md.j2").write_text("from the rule")
    (tmp_path / "dest.md.j2").write_text("from the destination")
    templates = Templates(tmp_path)
    assert templates.names() == {"default", "rule", "dest"}
    assert templates.render(deletion_notification(template="rule"), "markdown", "dest").body == "from the rule\n"
    assert templates.render(deletion_notification(), "markdown", "dest").body == "from the destination\n"


def test_check_reports_a_syntax_error_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "default.md.j2"
    path.write_text("{{ alert.title }}\n\n{% for a in alerts %}\n{{ a.title }\n{% endfor %}\n")
    errors = Templates(tmp_path).check()
    assert errors == [f"{path}:4: unexpected '}}'"]


def test_check_reports_an_undefined_variable_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "default.txt.j2"
    path.write_text("{{ alert.title }}\n{{ alert.resource.name }}\n{{ alert.resourse.name }}\n")
    errors = Templates(tmp_path).check()
    assert errors == [f"{path}:3: 'dict object' has no attribute 'resourse' (UndefinedError)"]


def test_check_catches_a_field_missing_only_when_the_event_is_not_at_hand(tmp_path: Path) -> None:
    path = tmp_path / "default.title.j2"
    path.write_text("{{ alert.title }}\n{{ alert.event.actor.id }}")
    errors = Templates(tmp_path).check()
    assert errors == [f"{path}:2: 'None' has no attribute 'actor' (UndefinedError)"]


ESCAPES = [
    "{{ alert.__class__ }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ alert.items.__globals__ }}",
    "{{ range.__globals__ }}",
    "{{ alert | attr('__class__') }}",
    "{{ '{0.__class__}'.format(alert) }}",
    "{{ alerts.append(1) }}",
    "{{ cycler.__init__.__globals__ }}",
]


@pytest.mark.parametrize("escape", ESCAPES)
def test_reaching_python_internals_fails_safely(tmp_path: Path, escape: str, caplog: pytest.LogCaptureFixture,
                                                ) -> None:
    path = tmp_path / "default.txt.j2"
    path.write_text(f"Alert\n{escape}\n")
    templates = Templates(tmp_path)
    [error] = templates.check()
    assert error.startswith(f"{path}:2: ")
    assert any(word in error for word in ("SecurityError", "UndefinedError")), error
    assert not any(leak in error for leak in ("<class", "<function", "<built-in", "__builtins__")), error
    with caplog.at_level(logging.ERROR, logger="monitor.notify.templates"):
        message = templates.render(deletion_notification(), "text")
    assert message.body.startswith("HIGH: Many objects deleted from one bucket")  # the shipped default
    assert "<class" not in message.body and "globals" not in message.body
    assert f"{path}:2:" in caplog.text


def test_only_the_declared_filters_and_globals_exist(shipped: Templates) -> None:
    assert {"time", "plural", "md", "console_url"} <= set(shipped.env.filters)
    assert set(shipped.env.globals) == {"range", "dict", "namespace"}


def test_sample_resolved_alerts_are_resolved() -> None:
    resolved = sample_notifications()[1]
    assert resolved.status == "resolved"
    assert all(a.status == "resolved" for a in resolved.alerts)
    assert all(a.event is None for a in resolved.alerts)


def test_time_filter_accepts_iso_strings_and_datetimes(shipped: Templates) -> None:
    template = shipped.env.from_string("{{ a | time }}|{{ b | time('%H:%M') }}|{{ c | time }}")
    rendered = template.render(a="2024-05-01T12:00:00.123456789Z", b=replace(
        deletion_notification().alerts[0], count=1).last_seen, c=None)
    assert rendered == "2024-05-01 12:00:00 UTC|12:04|"


def test_a_missing_templates_folder_is_an_error_at_start(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=f"templates folder {tmp_path / 'nope'} not found"):
        Templates(tmp_path / "nope")


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_a_huge_group_lists_a_few_alerts_and_counts_the_rest(shipped: Templates, fmt: str) -> None:
    one = deletion_notification().alerts[0]
    members = tuple(replace(one, fingerprint=f"fp{n}", count=1, resource={**one.resource, "name": f"object-{n}"})
                    for n in range(30_000))
    message = shipped.render(replace(deletion_notification(), alerts=members), fmt)  # type: ignore[arg-type]
    assert "and 29975 more" in message.body
    assert "object-24" in message.body and "object-25" not in message.body
    assert len(message.body) < 20_000
    assert message.title.endswith("+29999 more")
