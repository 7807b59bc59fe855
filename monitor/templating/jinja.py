"""Jinja for alert text, shared by the engine (a rule's ``alert.title``) and notify (messages).

One sandboxed environment: an undefined variable is an error, HTML is escaped, the ``md`` filter escapes
Markdown, since event fields come from outside (object keys, user agents, raw payloads). What a template sees
of an alert (``alert_context``), and the sample alerts every template is checked against, are here too.
"""

from __future__ import annotations

import re
import site
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment

import monitor
from monitor.alerts import Alert, fingerprint
from monitor.events import Actor, Event, Resource, parse_time
from monitor.messages import Notification
from monitor.templating.console import console_url

SHIPPED = "shipped"  # the prefix that names a shipped template even where the user's folder has one too
MISSING = re.compile(r"has no attribute '([^']+)'|^'([^']+)' is undefined")  # Jinja's UndefinedError
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def shipped_folder() -> Path:
    """``alerts/`` beside the package (a checkout, an editable install) or under ``share/`` (a wheel that
    ships them as data files, installed in a virtualenv or with ``--user``)."""
    candidates = [
        Path(monitor.__file__).resolve().parent.parent / "alerts",
        Path(sys.prefix) / "share" / "cloud-monitor" / "alerts",
        Path(site.getuserbase()) / "share" / "cloud-monitor" / "alerts",
    ]
    for folder in candidates:
        if (folder / "default.txt.j2").is_file():
            return folder
    raise FileNotFoundError(f"the shipped alert templates are missing (looked in {', '.join(map(str, candidates))})")


def _time(value: Any, fmt: str = "%Y-%m-%d %H:%M:%S UTC") -> str:
    if value in (None, ""):
        return ""
    moment = value if isinstance(value, datetime) else parse_time(value)
    return moment.astimezone(UTC).strftime(fmt)


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"


def _markdown(value: Any) -> str:
    """Outside text made inert in Markdown: special characters escaped, one line."""
    text = " ".join(str(value if value is not None else "").split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _console_url(alert: Any) -> str:
    if not isinstance(alert, dict):
        return ""
    url = console_url(alert.get("resource") or {}, alert.get("provider", ""), alert.get("region", ""),
                      alert.get("account", ""))
    return url or ""


FILTERS: dict[str, Callable[..., Any]] = {
    "time": _time,
    "plural": _plural,
    "md": _markdown,
    "console_url": _console_url,
}
GLOBALS = ("range", "dict", "namespace")


def environment(folder: Path | None, shipped: Path) -> ImmutableSandboxedEnvironment:
    shipped_loader = FileSystemLoader(shipped)
    loaders = [FileSystemLoader(folder)] if folder is not None else []
    env = ImmutableSandboxedEnvironment(
        loader=ChoiceLoader([*loaders, shipped_loader, PrefixLoader({SHIPPED: shipped_loader})]),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False, default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.globals = {name: env.globals[name] for name in GLOBALS}
    env.filters.update(FILTERS)
    return env


def alert_context(alert: Alert) -> dict[str, Any]:
    """What a template sees of one alert: its fields, its latest event (or None) and a console link."""
    item = alert.to_dict()
    item["event"] = alert.event.to_dict() if alert.event is not None else None
    item["console_url"] = _console_url(item)
    return item


def sample_notifications() -> list[Notification]:
    """What ``check()`` renders every template against: a firing alert with its event, and a resolved
    group of two whose events are not at hand (as when they are read back from the store)."""
    when = datetime(2024, 5, 1, 12, 3, 4, tzinfo=UTC)
    event = Event(
        id="sample-0001", time=when, provider="aws", account="123456789012", region="us-east-1", service="s3",
        resource=Resource("bucket", "arn:aws:s3:::example-bucket", "example-bucket", "123456789012"),
        action="permissions_changed", operation="PutBucketAcl",
        actor=Actor("arn:aws:iam::123456789012:user/alice", "IAMUser", "203.0.113.7", "aws-cli/2.15"),
        details={"public": True}, raw={"eventName": "PutBucketAcl"},
    )
    rule = _SampleRule("s3-bucket-acl-public", "critical")
    public = Alert.from_event(rule, event, "S3 bucket ACL grants public access")
    group = {"resource.parent": "//storage.googleapis.com/projects/_/buckets/example-data"}
    deleted = Alert(
        rule="gcs-mass-object-deletion", title="Many objects deleted from one bucket", severity="high",
        fingerprint=fingerprint("gcs-mass-object-deletion", group), group=group, event_ids=("e1", "e2"),
        first_seen=when, last_seen=when, count=100, status="resolved",
        resource={"kind": "bucket", "id": group["resource.parent"], "name": "example-data", "parent": ""},
        provider="gcp", account="example-project", region="us-central1", tags=("gcp", "storage"),
        description="Many objects deleted in a short window", explanation={"count": 100, "window": "5m"},
    )
    public = replace(public, explanation={"matched": "details.public is true"})
    gone = replace(public, status="resolved", event=None)
    return [
        Notification("sample", public.fingerprint, dict(public.group), "firing", (public,)),
        Notification("sample", "resolved-group", {"rule": deleted.rule}, "resolved", (deleted, gone)),
    ]


@dataclass(frozen=True)
class _SampleRule:
    id: str
    severity: str
    tags: tuple[str, ...] = ("aws", "s3", "exposure")
    description: str = "A bucket ACL that grants access to AllUsers or AuthenticatedUsers"


def describe(exc: BaseException) -> str:
    kind = type(exc).__name__
    return f"{kind}: {exc}" if kind not in ("UndefinedError", "SecurityError") else f"{exc} ({kind})"


