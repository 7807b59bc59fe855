"""A rule's ``alert.title``: a one-line Jinja template over the alert, compiled when the rules load and checked
against a sample alert, so a typo fails at ``monitor validate``, not at the first alert."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from jinja2.exceptions import TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from monitor.alerts import Alert
from monitor.templating.jinja import MISSING, alert_context, describe, environment, sample_notifications, shipped_folder
from monitor.yamlfiles.errors import did_you_mean


@functools.cache
def _title_environment() -> ImmutableSandboxedEnvironment:
    return environment(None, shipped_folder())


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
        found = MISSING.search(str(exc))
        hint = did_you_mean(found.group(1) or found.group(2), _keys({"alert": context})) if found else ""
        return f"alert title cannot render: {describe(exc)}{hint}"
    return None


def _keys(value: Any) -> set[str]:
    """Every key at every level of a context, for "did you mean"."""
    if isinstance(value, dict):
        return {str(key) for key in value} | {k for item in value.values() for k in _keys(item)}
    return set()


