"""Alert templates: the messages of a folder, compiled once, checked at start against sample alerts.

A template is ``NAME.FORMAT.j2`` in the templates folder (``default.txt.j2``, ``default.md.j2``,
``default.html.j2``) plus ``NAME.title.j2`` for the one-line title (an email's subject). The user's
folder comes first; the folder shipped with the product fills in what it lacks. The environment, its filters
and what a template sees of an alert are ``monitor.templating.jinja``'s.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2.exceptions import TemplateNotFound, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from monitor.alerts import SEVERITIES
from monitor.messages import Notification
from monitor.notify.destinations import FORMATS, Format
from monitor.templating.jinja import SHIPPED, alert_context, describe, environment, sample_notifications, shipped_folder

log = logging.getLogger(__name__)

SUFFIXES: dict[Format, str] = {"text": "txt", "markdown": "md", "html": "html"}
TITLE = "title"
DEFAULT = "default"
_TEMPLATE_NAME = re.compile(r"^(?P<name>[^/]+)\.(?P<kind>txt|md|html|title)\.j2$")


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


class Templates:
    """The alert templates of one folder (or only the shipped ones), compiled on first use and cached."""

    def __init__(self, folder: Path | str | None = None) -> None:
        self.folder = Path(folder) if folder is not None else None
        if self.folder is not None and not self.folder.is_dir():
            raise FileNotFoundError(f"templates folder {self.folder} not found")
        self.shipped = shipped_folder()
        self.env = environment(self.folder, self.shipped)

    def names(self) -> set[str]:
        """Template names usable in ``template:`` (those with at least one body format)."""
        found = (_TEMPLATE_NAME.match(n) for n in self.env.list_templates() if not n.startswith(f"{SHIPPED}/"))
        return {m.group("name") for m in found if m and m.group("kind") != TITLE}

    def render(self, notification: Notification, fmt: Format, template: str | None = None) -> RenderedMessage:
        """Title and body; a broken custom template falls back to the shipped default, logged."""
        context = build_context(notification)
        chain = [n for n in (notification.template, template) if n] + [DEFAULT]
        try:
            return self._render(chain, fmt, context)
        except RenderError as exc:
            log.error("alert template failed (%s); sending with the shipped default template", exc)
            return self._render([f"{SHIPPED}/{DEFAULT}"], fmt, context)

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
            raise RenderError(_where(exc, name, self.env), describe(exc)) from None

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
        yield from (n for n in self.env.list_templates(extensions=["j2"]) if not n.startswith(f"{SHIPPED}/"))

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


__all__ = ["FORMATS", "RenderError", "RenderedMessage", "Templates", "build_context", "sample_notifications",
           "shipped_folder"]
