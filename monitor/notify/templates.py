"""Alert templates: one sandboxed Jinja environment, compiled once, checked at start against sample alerts.

A template is ``NAME.FORMAT.j2`` in the templates folder (``default.txt.j2``, ``default.md.j2``,
``default.html.j2``) plus ``NAME.title.j2`` for the one-line title (an email's subject). The user's
folder comes first; the folder shipped with the product fills in what it lacks. Event fields come from
outside (object keys, user agents, raw payloads), so templates run sandboxed, an undefined variable is
an error, HTML is escaped, and the ``md`` filter escapes Markdown.
"""

from __future__ import annotations

import functools
import logging
import re
import site
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader, StrictUndefined, select_autoescape
from jinja2.exceptions import TemplateNotFound, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

import monitor
from monitor.alerts import SEVERITIES, Alert, fingerprint
from monitor.events import Actor, Event, Resource, parse_time
from monitor.messages import Notification
from monitor.notify.console import console_url
from monitor.notify.destinations import FORMATS, Format
from monitor.yamlfiles.errors import did_you_mean

log = logging.getLogger(__name__)

SUFFIXES: dict[Format, str] = {"text": "txt", "markdown": "md", "html": "html"}
TITLE = "title"
DEFAULT = "default"
_SHIPPED = "shipped"
_TEMPLATE_NAME = re.compile(r"^(?P<name>[^/]+)\.(?P<kind>txt|md|html|title)\.j2$")
_MISSING = re.compile(r"has no attribute '([^']+)'|^'([^']+)' is undefined")  # Jinja's UndefinedError
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


@dataclass(frozen=True)
class RenderedMessage:
    title: str
    body: str
    fmt: Format


class RenderError(Exception):
    """A template failed; ``str()`` is ``file:line: message``."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


def shipped_folder() -> Path:
    """``alerts/`` beside the package (a checkout, an editable install) or under ``share/`` (a wheel that
    ships them as data files, installed in a virtualenv or with ``--user``)."""
    candidates = [
        Path(monitor.__file__).resolve().parent.parent / "alerts",
        Path(sys.prefix) / "share" / "cloud-monitor" / "alerts",
        Path(site.getuserbase()) / "share" / "cloud-monitor" / "alerts",
    ]
    for folder in candidates:
        if (folder / f"{DEFAULT}.{SUFFIXES['text']}.j2").is_file():
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


def _environment(folder: Path | None, shipped: Path) -> ImmutableSandboxedEnvironment:
    shipped_loader = FileSystemLoader(shipped)
    loaders = [FileSystemLoader(folder)] if folder is not None else []
    env = ImmutableSandboxedEnvironment(
        loader=ChoiceLoader([*loaders, shipped_loader, PrefixLoader({_SHIPPED: shipped_loader})]),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False, default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.globals = {name: env.globals[name] for name in GLOBALS}
    env.filters.update(FILTERS)
    return env


def _rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1


MAX_LISTED = 25  # alerts a message lists; the rest are counted


def build_context(notification: Notification) -> dict[str, Any]:
    """What templates see: plain dicts and lists, most severe alert first, at most ``MAX_LISTED`` of them
    (``notification.unlisted`` says how many more the group holds, so a burst of 30,000 makes a short message)."""
    ordered = sorted(notification.alerts, key=lambda a: _rank(a.severity), reverse=True)
    alerts = [alert_context(alert) for alert in ordered[:MAX_LISTED]]
    lead = alerts[0] if alerts else None
    return {
        "notification": {
            "destination": notification.destination, "status": notification.status, "count": notification.count,
            "group": dict(notification.group), "group_key": notification.group_key,
            "labels": dict(notification.labels), "alert_count": len(ordered),
            "unlisted": len(ordered) - len(alerts),
        },
        "alerts": alerts,
        "alert": lead,
        "console_url": lead["console_url"] if lead else "",
    }


def alert_context(alert: Alert) -> dict[str, Any]:
    """What a template sees of one alert: its fields, its latest event (or None) and a console link."""
    item = alert.to_dict()
    item["event"] = alert.event.to_dict() if alert.event is not None else None
    item["console_url"] = _console_url(item)
    return item


@functools.cache
def _title_environment() -> ImmutableSandboxedEnvironment:
    return _environment(None, shipped_folder())


def compile_title(source: str) -> Callable[[Alert], str]:
    """A rule's ``alert.title`` template, compiled now (TemplateSyntaxError), rendered per alert as one line
    from ``alert`` (as message templates see it: ``alert.resource.name``, ``alert.event.actor.id``)."""
    template = _title_environment().from_string(source)
    return lambda alert: " ".join(template.render(alert=alert_context(alert)).split())


class _Open(dict[str, Any]):
    """A field of the sample whose keys depend on the rule or the provider (``group``, ``explanation``,
    ``details``, ``raw``): any key is there, so only typos elsewhere fail."""

    def __missing__(self, key: str) -> _Open:
        return _Open()


def check_title(source: str) -> str | None:
    """Why a rule's ``alert.title`` cannot render (syntax, or a name the sample alert with its event lacks)."""
    try:
        template = _title_environment().from_string(source)
    except TemplateSyntaxError as exc:
        return f"template syntax error: {exc.message} (template line {exc.lineno})"
    context = alert_context(sample_notifications()[0].alerts[0])
    context.update(group=_Open(context["group"]), explanation=_Open(context["explanation"]))
    context["event"].update(details=_Open(context["event"]["details"]), raw=_Open(context["event"]["raw"]))
    try:
        template.render(alert=context)
    except Exception as exc:  # what would fail at the first alert: named now
        found = _MISSING.search(str(exc))
        hint = did_you_mean(found.group(1) or found.group(2), _keys({"alert": context})) if found else ""
        return f"alert title cannot render: {_describe(exc)}{hint}"
    return None


def _keys(value: Any) -> set[str]:
    """Every key at every level of a context, for "did you mean"."""
    if isinstance(value, dict):
        return {str(key) for key in value} | {k for item in value.values() for k in _keys(item)}
    return set()


class Templates:
    """The alert templates of one folder (or only the shipped ones), compiled on first use and cached."""

    def __init__(self, folder: Path | str | None = None) -> None:
        self.folder = Path(folder) if folder is not None else None
        if self.folder is not None and not self.folder.is_dir():
            raise FileNotFoundError(f"templates folder {self.folder} not found")
        self.shipped = shipped_folder()
        self.env = _environment(self.folder, self.shipped)

    def names(self) -> set[str]:
        """Template names usable in ``template:`` (those with at least one body format)."""
        found = (_TEMPLATE_NAME.match(n) for n in self.env.list_templates() if not n.startswith(f"{_SHIPPED}/"))
        return {m.group("name") for m in found if m and m.group("kind") != TITLE}

    def render(self, notification: Notification, fmt: Format, template: str | None = None) -> RenderedMessage:
        """Title and body; a broken custom template falls back to the shipped default, logged."""
        context = build_context(notification)
        chain = [n for n in (notification.template, template) if n] + [DEFAULT]
        try:
            return self._render(chain, fmt, context)
        except RenderError as exc:
            log.error("alert template failed (%s); sending with the shipped default template", exc)
            return self._render([f"{_SHIPPED}/{DEFAULT}"], fmt, context)

    def _render(self, chain: list[str], fmt: Format, context: dict[str, Any]) -> RenderedMessage:
        title = self._render_one(self._first(chain, TITLE), context)
        body = self._render_one(self._first(chain, SUFFIXES[fmt]), context)
        return RenderedMessage(title=" ".join(title.split()), body=body.strip() + "\n", fmt=fmt)

    def _first(self, chain: list[str], kind: str) -> str:
        names = [f"{name}.{kind}.j2" for name in chain]
        for name in names:
            if self._exists(name):
                return name
        return names[-1]

    def _exists(self, name: str) -> bool:
        try:
            self.env.get_template(name)
        except TemplateNotFound:
            return False
        except TemplateSyntaxError:
            return True
        return True

    def _render_one(self, name: str, context: dict[str, Any]) -> str:
        try:
            return self.env.get_template(name).render(context)
        except TemplateSyntaxError as exc:
            raise RenderError(f"{exc.filename or name}:{exc.lineno}", exc.message or str(exc)) from None
        except Exception as exc:  # a template must never take delivery down; the error names its line
            raise RenderError(_where(exc, name, self.env), _describe(exc)) from None

    def check(self) -> list[str]:
        """Every problem as ``file:line: message``: syntax errors, then renders against sample alerts."""
        errors: list[str] = []
        for name in self._own_templates():
            try:
                self.env.get_template(name)
            except TemplateSyntaxError as exc:
                errors.append(f"{exc.filename or name}:{exc.lineno}: {exc.message}")
        for name in self._message_templates():
            for notification in sample_notifications():
                try:
                    self._render_one(name, build_context(notification))
                except RenderError as exc:
                    if str(exc) not in errors:
                        errors.append(str(exc))
        return errors

    def _own_templates(self) -> Iterator[str]:
        yield from (n for n in self.env.list_templates(extensions=["j2"]) if not n.startswith(f"{_SHIPPED}/"))

    def _message_templates(self) -> Iterator[str]:
        for name in self._own_templates():
            if _TEMPLATE_NAME.match(name) and not self._has_syntax_error(name):
                yield name

    def _has_syntax_error(self, name: str) -> bool:
        try:
            self.env.get_template(name)
        except TemplateSyntaxError:
            return True
        return False


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


def _where(exc: BaseException, name: str, env: ImmutableSandboxedEnvironment) -> str:
    """The template file and line an exception was raised at (Jinja rewrites tracebacks to point there)."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith(".j2"):
            return f"{frame.filename}:{frame.lineno}"
    try:
        filename = env.get_template(name).filename or name
    except Exception:
        filename = name
    return f"{filename}:1"


def _describe(exc: BaseException) -> str:
    kind = type(exc).__name__
    return f"{kind}: {exc}" if kind not in ("UndefinedError", "SecurityError") else f"{exc} ({kind})"


__all__ = ["FORMATS", "RenderError", "RenderedMessage", "Templates", "build_context", "shipped_folder"]
