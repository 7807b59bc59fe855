"""The send stage: rendered messages to Apprise URLs, one attempt per URL, destinations and URLs in parallel.

This is the only module that imports Apprise. ``Sender.deliver`` makes one attempt per message at every URL of
its destination that has not accepted it yet (``Notification.sent_to``) and returns typed results: which URLs
accepted, whether the failure is permanent (an HTTP 4xx other than 408/425/429, an invalid URL), and the
Retry-After the destination asked for (read from the HTTP answer, see ``http_capture``). Waiting and retrying
are the dispatch stage's job (``monitor.notify.dispatch``), so nothing here sleeps. Per destination, after a
failure the destination's later messages in the same call are not attempted (they are retried with it), so a
destination that is down costs one timeout per call, not one per message. Errors carry Apprise's masked URLs
only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import threading
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

with warnings.catch_warnings():
    # Apprise's PGP support imports imghdr, deprecated on Python 3.11-3.12: import it once, quietly.
    warnings.filterwarnings("ignore", message="'imghdr' is deprecated", category=DeprecationWarning)
    with contextlib.suppress(ImportError):
        import imghdr  # noqa: F401
    import apprise

from monitor.alerts import SEVERITIES
from monitor.messages import DeliveryResult, Notification
from monitor.notify.destinations import Destination, DestinationError, Format
from monitor.notify.http_capture import HttpAnswer, capturing
from monitor.notify.templates import RenderedMessage, RenderError, Templates, sample_notifications

log = logging.getLogger(__name__)

BODY_FORMATS: dict[Format, str] = {
    "text": apprise.NotifyFormat.TEXT,
    "markdown": apprise.NotifyFormat.MARKDOWN,
    "html": apprise.NotifyFormat.HTML,
}
NOTIFY_TYPES: dict[str, Any] = {
    "critical": apprise.NotifyType.FAILURE,
    "high": apprise.NotifyType.FAILURE,
    "medium": apprise.NotifyType.WARNING,
    "low": apprise.NotifyType.INFO,
    "info": apprise.NotifyType.INFO,
}
_TRANSIENT_4XX = frozenset({408, 425, 429})


@dataclass(frozen=True)
class Target:
    url: str  # holds secrets: never printed
    label: str  # Apprise's masked form, for messages
    fmt: Format

    @property
    def id(self) -> str:
        """A stable id of the URL that reveals nothing of it: what ``sent_to`` records."""
        return hashlib.sha256(self.url.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Attempt:
    ok: bool
    error: str = ""
    status: int | None = None  # the HTTP status of the last answer, when the URL speaks HTTP
    rate_limited: bool = False
    retry_after: float | None = None
    permanent: bool = False


def _asset() -> Any:
    # async_mode=False: Apprise runs the plugin on the calling thread, where http_capture can see its answers.
    return apprise.AppriseAsset(app_id="cloud-monitor", app_desc="cloud-monitor alerts", secure_logging=True,
                                async_mode=False)


class _QuietOnThisThread(logging.Filter):
    """Drops Apprise's log records on a thread inside ``_quietly()``: Apprise logs a URL it cannot load in full,
    secrets included, and our own error names it masked."""

    def __init__(self) -> None:
        super().__init__()
        self.local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(self.local, "quiet", False)


_QUIET = _QuietOnThisThread()
logging.getLogger("apprise").addFilter(_QUIET)


def _instantiate(url: str) -> Any:
    _QUIET.local.quiet = True
    try:
        return apprise.Apprise.instantiate(url, asset=_asset())
    finally:
        _QUIET.local.quiet = False


def _scheme(url: str) -> str:
    return url.split("://", 1)[0] if "://" in url else "?"


def targets(destination: Destination, base_dir: str | Path = ".", environ: Mapping[str, str] | None = None,
            ) -> list[Target]:
    """The URLs of a destination, read now (so a rotated secret is picked up), checked by Apprise."""
    urls = destination.resolved_urls(base_dir, environ)
    found: list[Target] = []
    for position, url in enumerate(urls, start=1):
        service = _instantiate(url)
        if service is None:
            raise DestinationError(f"URL {position} ({_scheme(url)}://...) is not a valid Apprise URL")
        found.append(Target(url, service.url(privacy=True), destination.format_for(url)))
    config = destination.config_path(base_dir)
    if config is not None:
        found += _config_targets(destination, config)
    if not found:
        raise DestinationError("no URL to send to")
    return found


def _config_targets(destination: Destination, path: Path) -> list[Target]:
    if not path.is_file():
        raise DestinationError(f"Apprise config {path} not found")
    config = apprise.AppriseConfig(asset=_asset())
    if not config.add(str(path)):
        raise DestinationError(f"Apprise config {path} cannot be read")
    services = config.services()
    if not services:
        raise DestinationError(f"Apprise config {path} holds no valid URL")
    return [_config_target(destination, service) for service in services]


def _config_target(destination: Destination, service: Any) -> Target:
    url: str = service.url()
    return Target(url, service.url(privacy=True), destination.format_for(url))


def describe_urls(destination: Destination, base_dir: str | Path = ".",
                  environ: Mapping[str, str] | None = None) -> list[str]:
    """The destination's URLs as Apprise masks them (``slack://T1.../B1.../****``)."""
    return [target.label for target in targets(destination, base_dir, environ)]


def check_destinations(destinations: Mapping[str, Destination], base_dir: str | Path = ".",
                       environ: Mapping[str, str] | None = None) -> list[str]:
    """One message per destination whose URLs cannot be read or that Apprise does not accept."""
    errors = []
    for name, destination in destinations.items():
        try:
            targets(destination, base_dir, environ)
        except DestinationError as exc:
            errors.append(f"destination {name}: {exc}")
    return errors


def _scrub(text: str, target: Target) -> str:
    return text.replace(target.url, target.label) if target.url else text


def _read_attempt(result: Any, target: Target, answers: Sequence[HttpAnswer]) -> Attempt:
    """One Apprise call for one URL: the decision from the HTTP answer, the words from Apprise's log."""
    if bool(result):
        return Attempt(ok=True)
    messages = [_scrub(entry.message, target) for entry in result.logs() if entry.level in ("WARNING", "ERROR")]
    if result.status == apprise.AppriseResultStatus.TIMEOUT:
        messages.append("timed out")
    text = " ".join(messages) or f"Apprise reported {result.status.name.lower()}"
    last = answers[-1] if answers else None
    if last is None or 200 <= last.status < 300:  # no HTTP answer: a refused connection, a timeout, SMTP...
        return Attempt(ok=False, error=text)
    return Attempt(ok=False, error=text, status=last.status, rate_limited=last.status == 429,
                   retry_after=last.retry_after,
                   permanent=400 <= last.status < 500 and last.status not in _TRANSIENT_4XX)


class Sender:
    """Delivers notifications to the configured destinations; ``deliver`` never raises for a bad send."""

    def __init__(self, destinations: Mapping[str, Destination], templates: Templates, base_dir: str | Path = ".",
                 environ: Mapping[str, str] | None = None) -> None:
        self.destinations = destinations
        self.templates = templates
        self.base_dir = base_dir
        self.environ = environ

    async def deliver(self, notifications: Sequence[Notification]) -> list[DeliveryResult]:
        """One result per notification, in the order given."""
        by_destination: dict[str, list[tuple[int, Notification]]] = {}
        for index, notification in enumerate(notifications):
            by_destination.setdefault(notification.destination, []).append((index, notification))
        runs = await asyncio.gather(*(self._run(name, items) for name, items in by_destination.items()))
        ordered = sorted((pair for run in runs for pair in run), key=lambda pair: pair[0])
        return [result for _, result in ordered]

    async def send_test(self, name: str) -> DeliveryResult:
        """A sample alert, titled [TEST], to one destination, for ``monitor alerts test``."""
        sample = replace(sample_notifications()[0], destination=name)
        return (await self._run(name, [(0, sample)], prefix="[TEST] "))[0][1]

    async def _run(self, name: str, items: list[tuple[int, Notification]], prefix: str = "",
                   ) -> list[tuple[int, DeliveryResult]]:
        def failed(notification: Notification, error: str, *, permanent: bool = False) -> DeliveryResult:
            return DeliveryResult(name, notification.key, delivered=False, attempts=0, error=error,
                                  accepted=notification.sent_to, permanent=permanent)

        destination = self.destinations.get(name)
        if destination is None:
            return [(i, failed(n, f"unknown destination {name!r}", permanent=True)) for i, n in items]
        try:
            found = targets(destination, self.base_dir, self.environ)
        except DestinationError as exc:
            return [(i, failed(n, f"destination {name}: {exc}")) for i, n in items]
        results: list[tuple[int, DeliveryResult]] = []
        down: DeliveryResult | None = None
        for index, notification in items:
            if down is not None:
                not_attempted = failed(notification, f"not attempted: destination down ({down.error})")
                results.append((index, not_attempted._replace(retry_after=down.retry_after,
                                                              rate_limited=down.rate_limited)))
                continue
            result = await self._send(name, destination, found, notification, prefix)
            down = result if not result.delivered and result.attempts and not result.permanent else None
            results.append((index, result))
        return results

    async def _send(self, name: str, destination: Destination, found: list[Target], notification: Notification,
                    prefix: str) -> DeliveryResult:
        pending = [t for t in found if t.id not in notification.sent_to]
        try:
            messages = {fmt: self._render(notification, fmt, destination, prefix) for fmt in {t.fmt for t in pending}}
        except RenderError as exc:
            return DeliveryResult(name, notification.key, delivered=False, attempts=0, error=f"template: {exc}",
                                  accepted=notification.sent_to)
        notify_type = _notify_type(notification)
        outcomes = await asyncio.gather(*(asyncio.to_thread(_attempt, t, messages[t.fmt], notify_type)
                                          for t in pending))
        accepted = (*notification.sent_to, *(t.id for t, o in zip(pending, outcomes, strict=True) if o.ok))
        failures = [(t, o) for t, o in zip(pending, outcomes, strict=True) if not o.ok]
        for target, outcome in failures:
            log.info("delivery to %s failed: %s", target.label, outcome.error)
        waits = [o.retry_after for _, o in failures if o.retry_after is not None]
        return DeliveryResult(
            name, notification.key, delivered=not failures, attempts=1,
            error="; ".join(f"{t.label}: {o.error}" for t, o in failures), accepted=tuple(accepted),
            permanent=bool(failures) and all(o.permanent for _, o in failures),
            retry_after=max(waits) if waits else None, rate_limited=any(o.rate_limited for _, o in failures),
        )

    def _render(self, notification: Notification, fmt: Format, destination: Destination,
                prefix: str) -> RenderedMessage:
        message = self.templates.render(notification, fmt, destination.template)
        return replace(message, title=prefix + message.title) if prefix else message


def _attempt(target: Target, message: RenderedMessage, notify_type: Any) -> Attempt:
    """One Apprise call for one URL, on this thread, with the HTTP answers it got."""
    sender = apprise.Apprise(asset=_asset())
    if not sender.add(target.url):
        return Attempt(ok=False, error="not a valid Apprise URL", permanent=True)
    with capturing() as answers:
        try:
            result = sender.notify(body=message.body, title=message.title, notify_type=notify_type,
                                   body_format=BODY_FORMATS[message.fmt])
        except Exception as exc:  # Apprise reports failures in its result; anything else is one failed attempt
            return Attempt(ok=False, error=_scrub(f"{type(exc).__name__}: {exc}", target))
    services = list(result)
    if not services:
        said = " ".join(_scrub(entry.message, target) for entry in result.call_logs())
        return Attempt(ok=False, error=said or f"Apprise reported {result.status.name.lower()}")
    return _read_attempt(services[0], target, answers)


def _notify_type(notification: Notification) -> Any:
    if notification.status == "resolved":
        return apprise.NotifyType.SUCCESS
    worst = max((a.severity for a in notification.alerts), key=_severity_rank, default="info")
    return NOTIFY_TYPES.get(worst, apprise.NotifyType.INFO)


def _severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1
