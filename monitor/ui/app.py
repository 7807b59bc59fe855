"""The page's routes: a request in, an HTML response out, rendered by Jinja2 with autoescape (event payloads are
hostile input). Transport, the token and the same-origin check are the server's (``monitor.ui.server``)."""

from __future__ import annotations

import logging
import re
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

import orjson
from jinja2 import Environment, PackageLoader, StrictUndefined

from monitor.engine.evaluate import Engine
from monitor.engine.loader import LoadedRule
from monitor.engine.patterns import PatternError, compile_pattern
from monitor.events import parse_time
from monitor.notify.silences import MatcherError, matchers_to_pattern, pattern_to_text
from monitor.store.base import NewSilence, Store
from monitor.ui import queries
from monitor.yamlfiles.durations import parse_duration

log = logging.getLogger(__name__)
STATIC = {"style.css": "text/css; charset=utf-8"}
ALERT_LIMIT = 200
EVENT_LIMITS = (50, 100, 500)
_SILENCE_EXPIRE = re.compile(r"^/silences/(\d{1,18})/expire$")
_EVENT = re.compile(r"^/events/(\d{1,18})$")
_SECTIONS = {"alerts.html": "Alerts", "events.html": "Events", "event.html": "Events", "silences.html": "Silences",
             "rules.html": "Rules", "health.html": "Health"}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, list[str]] = field(default_factory=dict)
    form: Mapping[str, list[str]] = field(default_factory=dict)

    def arg(self, name: str, default: str = "") -> str:
        values = self.query.get(name) or self.form.get(name)
        return values[0].strip() if values else default


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


class BadInput(ValueError):
    """A form or query value the page cannot use; shown beside the form, answered 400."""


def parse_when(text: str, now: datetime) -> datetime | None:
    """A time from a form: empty, a duration back from now (``2h``), or ISO 8601 (UTC when no zone is given)."""
    if not text:
        return None
    try:
        return now - timedelta(seconds=parse_duration(text))
    except ValueError:
        pass
    except OverflowError:
        raise BadInput(f"{text!r} reaches back before the year 1") from None
    try:
        return parse_time(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    except ValueError:
        raise BadInput(f"{text!r} is neither a time (2026-01-31T12:00Z) nor a duration (2h)") from None


def _time(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if value else "-"


def _age(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return "-"
    seconds = int(((now or datetime.now(UTC)) - value).total_seconds())
    prefix, seconds = ("in ", -seconds) if seconds < 0 else ("", seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{prefix}{seconds // size}{unit}{'' if prefix else ' ago'}"
    return f"{prefix}{seconds}s{'' if prefix else ' ago'}"


def _json(value: Any) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return repr(value)


class UiApp:
    """The routes over one store; ``rules`` are evaluated on events to say which rules match them.

    Every POST carries the form's ``csrf`` field (the server has checked its origin already)."""

    def __init__(self, store: Store, rules: list[LoadedRule], inputs: list[Any], rule_error: str = "") -> None:
        self.store = store
        self.engine = Engine(rules)
        self._engine_lock = threading.Lock()  # the index is not promised to be safe for concurrent readers
        self.inputs = inputs
        self.rule_error = rule_error
        self.csrf_token = secrets.token_urlsafe(32)
        self.env = Environment(loader=PackageLoader("monitor.ui", "templates"), autoescape=True,
                               undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        self.env.filters.update(time=_time, age=_age, json=_json,
                                matchers=pattern_to_text)
        self.env.globals.update(csrf_token=self.csrf_token)
        self.routes: dict[tuple[str, str], Callable[[Request], Response]] = {
            ("GET", "/"): lambda _r: redirect("/alerts"),
            ("GET", "/alerts"): self.alerts, ("GET", "/events"): self.events, ("GET", "/silences"): self.silences,
            ("POST", "/silences"): self.create_silence, ("GET", "/rules"): self.rules, ("GET", "/health"): self.health,
        }

    def handle(self, request: Request) -> Response:
        try:
            return self._route(request)
        except Exception:
            log.exception("the page %s failed", request.path)
            return self.page("error.html", status=500, message="the page failed; the log says why")

    def _route(self, request: Request) -> Response:
        if request.method == "POST" and not secrets.compare_digest(request.arg("csrf").encode(),
                                                                   self.csrf_token.encode()):
            return self.page("error.html", status=403, message="the form is stale or not from this page: reload it")
        view = self.routes.get((request.method, request.path)) or self._path_view(request)
        if view is not None:
            return view(request)
        if any(path == request.path for _, path in self.routes) or _EVENT.match(request.path):
            return self.page("error.html", status=405, message=f"{request.method} is not allowed here")
        return self.not_found()

    def _path_view(self, request: Request) -> Callable[[Request], Response] | None:
        """The view of a path that carries a value: a static file, an event, a silence to expire."""
        if request.method == "GET" and request.path.startswith("/static/"):
            return lambda r: self.static(r.path.removeprefix("/static/"))
        if (event := _EVENT.match(request.path)) and request.method == "GET":
            offset = int(event.group(1))
            return lambda _r: self.event(offset)
        if (expire := _SILENCE_EXPIRE.match(request.path)) and request.method == "POST":
            silence_id = int(expire.group(1))
            return lambda _r: self.expire_silence(silence_id)
        return None

    def page(self, template: str, status: int = 200, **context: Any) -> Response:
        section = _SECTIONS.get(template, "")
        html = self.env.get_template(template).render(now=datetime.now(UTC), section=section, **context)
        return Response(status, html.encode())

    def not_found(self) -> Response:
        return self.page("error.html", status=404, message="no such page")

    def static(self, name: str) -> Response:
        if name not in STATIC:
            return self.not_found()
        body = resources.files("monitor.ui").joinpath("static", name).read_bytes()
        return Response(200, body, STATIC[name], (("Cache-Control", "max-age=300"),))

    def alerts(self, request: Request) -> Response:
        view = request.arg("view", "firing")
        if view not in queries.ALERT_VIEWS:
            view = "firing"
        rows = queries.alert_rows(self.store, view, ALERT_LIMIT, datetime.now(UTC))
        return self.page("alerts.html", view=view, views=list(queries.ALERT_VIEWS), rows=rows, limit=ALERT_LIMIT)

    def events(self, request: Request) -> Response:
        now = datetime.now(UTC)
        fields = {name: request.arg(name) for name in
                  ("since", "until", "provider", "account", "resource", "actor", "operation", "limit")}
        limit = int(fields["limit"]) if fields["limit"] in map(str, EVENT_LIMITS) else EVENT_LIMITS[0]
        try:
            where = queries.EventFilter(
                since=parse_when(fields["since"], now), until=parse_when(fields["until"], now),
                provider=fields["provider"], account=fields["account"], resource=fields["resource"],
                actor=fields["actor"], operation=fields["operation"])
        except BadInput as exc:
            return self.page("events.html", status=400, fields=fields, limits=EVENT_LIMITS, limit=limit,
                             search=None, error=str(exc))
        search = queries.search_events(self.store, where, limit)
        return self.page("events.html", fields=fields, limits=EVENT_LIMITS, limit=limit, search=search, error="",
                         scan_limit=queries.SCAN_LIMIT)

    def event(self, offset: int) -> Response:
        stored = queries.event_at(self.store, offset)
        if stored is None:
            return self.not_found()
        with self._engine_lock:
            matched = [match.rule for match in self.engine.matches(stored.event)]
        alerts = queries.alerts_of_event(self.store, stored.event.id)
        return self.page("event.html", stored=stored, event=stored.event.to_dict(with_raw=False),
                         raw=stored.event.raw, matched=matched, alerts=alerts)

    def silences(self, request: Request, *, status: int = 200, error: str = "") -> Response:
        form = {"matchers": request.arg("matchers"), "duration": request.arg("duration", "2h"),
                "reason": request.arg("reason"), "author": request.arg("author", "ui")}
        preview = None
        if form["matchers"] and not error:
            try:
                preview = queries.silence_preview(self.store, self._pattern(form["matchers"]))
            except BadInput as exc:
                status, error = 400, str(exc)
        now, created = datetime.now(UTC), request.arg("created")
        return self.page("silences.html", status=status, form=form, preview=preview, error=error,
                         created=created if created.isdigit() else "", silences=self.store.silences(active_at=now),
                         expired=[s for s in self.store.silences() if not s.ends_at > now][-20:])

    def create_silence(self, request: Request) -> Response:
        try:
            pattern = self._pattern(request.arg("matchers"))
            seconds = _duration(request.arg("duration"))
            reason = request.arg("reason")
            if not reason:
                raise BadInput("say why: a reason is required")
        except BadInput as exc:
            return self.silences(request, status=400, error=str(exc))
        now = datetime.now(UTC)
        created = self.store.add_silence(NewSilence(pattern, now, now + timedelta(seconds=seconds),
                                                    request.arg("author", "ui")[:100] or "ui", reason[:1000]))
        log.info("silence %d created from the page: %s", created.id, pattern_to_text(pattern))
        return redirect(f"/silences?created={created.id}")

    def expire_silence(self, silence_id: int) -> Response:
        if self.store.expire_silence(silence_id, datetime.now(UTC)) is None:
            return self.not_found()
        log.info("silence %d expired from the page", silence_id)
        return redirect("/silences")

    @staticmethod
    def _pattern(text: str) -> dict[str, Any]:
        try:
            pattern = matchers_to_pattern(line for line in text.splitlines() if line.strip())
            compile_pattern(pattern)
            return pattern
        except (MatcherError, PatternError) as exc:
            raise BadInput(str(exc)) from None

    def rules(self, _request: Request) -> Response:
        with self._engine_lock:
            rows, truncated = queries.rule_rows(self.store, self.engine, datetime.now(UTC))
        return self.page("rules.html", rows=rows, truncated=truncated, scan_limit=queries.SCAN_LIMIT,
                         rule_error=self.rule_error)

    def health(self, _request: Request) -> Response:
        return self.page("health.html", health=queries.health(self.store, self.inputs), rule_error=self.rule_error,
                         rules=len(self.engine.rules), dead_letter_limit=queries.DEAD_LETTER_COUNT_LIMIT)


def _duration(text: str) -> float:
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    if not 0 < seconds <= 366 * 86400:
        raise BadInput("a silence lasts more than 0s and at most a year")
    return seconds


def redirect(location: str) -> Response:
    return Response(303, b"", headers=(("Location", location),))
