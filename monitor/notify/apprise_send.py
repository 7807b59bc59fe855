"""The send stage: rendered messages to Apprise URLs, destinations in parallel, each URL retried on its own.

This is the only module that imports Apprise. Per destination, messages go out in order; a destination
that stays down after its retries fails the rest of its messages at once (they stay undelivered for
``monitor alerts retry``) instead of making each wait through the same back-off. Destinations never
wait for each other. Every URL of a destination is retried separately, so a URL that accepted a message
is not sent it again. Errors are reported with Apprise's masked URLs only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
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
from monitor.notify.destinations import Destination, DestinationError, Format
from monitor.notify.notification import DeliveryResult, Notification
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
_HTTP_ERROR = re.compile(r"error=(\d{3})\b")
_RATE_LIMITED = re.compile(r"error=429\b|too many requests|rate.?limit", re.IGNORECASE)
_RETRY_AFTER = re.compile(r"(?:retry.?after|blocking for)\D{0,20}(\d+(?:\.\d+)?)", re.IGNORECASE)
_TRANSIENT_4XX = frozenset({408, 425, 429})


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off per URL: ``base_delay`` doubling up to ``max_delay``; after HTTP 429 at least
    ``rate_limit_delay`` (or the Retry-After Apprise reports). ``timeout`` bounds one attempt."""

    max_attempts: int = 5
    base_delay: float = 2.0
    max_delay: float = 300.0
    rate_limit_delay: float = 60.0
    timeout: float = 60.0

    def delay(self, attempt: int, outcome: Attempt) -> float:
        wait: float = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        if outcome.rate_limited:
            wait = max(wait, outcome.retry_after or self.rate_limit_delay)
        return wait


@dataclass(frozen=True)
class Target:
    url: str  # holds secrets: never printed
    label: str  # Apprise's masked form, for messages
    fmt: Format


@dataclass(frozen=True)
class Attempt:
    ok: bool
    error: str = ""
    rate_limited: bool = False
    retry_after: float | None = None
    permanent: bool = False


@dataclass(frozen=True)
class TargetResult:
    ok: bool
    attempts: int
    error: str = ""


def _asset() -> Any:
    return apprise.AppriseAsset(app_id="cloud-monitor", app_desc="cloud-monitor alerts", secure_logging=True)


def _instantiate(url: str) -> Any:
    return apprise.Apprise.instantiate(url, asset=_asset())


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


def _read_attempt(result: Any, target: Target) -> Attempt:
    """What one Apprise call said about one URL, from the log lines Apprise captured for it."""
    messages = [_scrub(entry.message, target) for entry in result.logs() if entry.level in ("WARNING", "ERROR")]
    if bool(result):
        return Attempt(ok=True)
    if result.status == apprise.AppriseResultStatus.TIMEOUT:
        messages.append("timed out")
    text = " ".join(messages) or f"Apprise reported {result.status.name.lower()}"
    codes = [int(code) for code in _HTTP_ERROR.findall(text)]
    after = _RETRY_AFTER.search(text)
    return Attempt(
        ok=False, error=text, rate_limited=bool(_RATE_LIMITED.search(text)),
        retry_after=float(after.group(1)) if after else None,
        permanent=any(400 <= code < 500 and code not in _TRANSIENT_4XX for code in codes),
    )


class Sender:
    """Delivers notifications to the configured destinations; ``deliver`` never raises for a bad send."""

    def __init__(self, destinations: Mapping[str, Destination], templates: Templates,
                 policy: RetryPolicy | None = None, base_dir: str | Path = ".",
                 environ: Mapping[str, str] | None = None) -> None:
        self.destinations = destinations
        self.templates = templates
        self.policy = policy or RetryPolicy()
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
        def failed(notification: Notification, error: str, attempts: int = 0) -> DeliveryResult:
            return DeliveryResult(name, notification.key, delivered=False, attempts=attempts, error=error)

        destination = self.destinations.get(name)
        if destination is None:
            return [(i, failed(n, f"unknown destination {name!r}")) for i, n in items]
        try:
            found = targets(destination, self.base_dir, self.environ)
        except DestinationError as exc:
            return [(i, failed(n, f"destination {name}: {exc}")) for i, n in items]
        results: list[tuple[int, DeliveryResult]] = []
        down = ""
        for index, notification in items:
            if down:
                results.append((index, failed(notification, f"not attempted: destination down ({down})")))
                continue
            result = await self._send(name, destination, found, notification, prefix)
            down = result.error if not result.delivered and result.attempts else ""
            results.append((index, result))
        return results

    async def _send(self, name: str, destination: Destination, found: list[Target], notification: Notification,
                    prefix: str) -> DeliveryResult:
        try:
            messages = {fmt: self._render(notification, fmt, destination, prefix) for fmt in {t.fmt for t in found}}
        except RenderError as exc:
            return DeliveryResult(name, notification.key, delivered=False, attempts=0, error=f"template: {exc}")
        notify_type = _notify_type(notification)
        outcomes = await asyncio.gather(*(self._with_retries(t, messages[t.fmt], notify_type) for t in found))
        errors = [o.error for o in outcomes if not o.ok]
        return DeliveryResult(name, notification.key, delivered=not errors,
                              attempts=max(o.attempts for o in outcomes), error="; ".join(errors))

    def _render(self, notification: Notification, fmt: Format, destination: Destination,
                prefix: str) -> RenderedMessage:
        message = self.templates.render(notification, fmt, destination.template)
        return replace(message, title=prefix + message.title) if prefix else message

    async def _with_retries(self, target: Target, message: RenderedMessage, notify_type: Any) -> TargetResult:
        attempt = 0
        while True:
            attempt += 1
            outcome = await self._attempt(target, message, notify_type)
            if outcome.ok:
                return TargetResult(ok=True, attempts=attempt)
            if outcome.permanent or attempt >= self.policy.max_attempts:
                log.warning("delivery to %s failed after %d attempt(s): %s", target.label, attempt, outcome.error)
                return TargetResult(ok=False, attempts=attempt, error=f"{target.label}: {outcome.error}")
            wait = self.policy.delay(attempt, outcome)
            log.info("delivery to %s failed (%s); retrying in %.1fs", target.label, outcome.error, wait)
            await asyncio.sleep(wait)

    async def _attempt(self, target: Target, message: RenderedMessage, notify_type: Any) -> Attempt:
        sender = apprise.Apprise(asset=_asset())
        if not sender.add(target.url):
            return Attempt(ok=False, error=f"{target.label}: not a valid Apprise URL", permanent=True)
        try:
            result = await sender.async_notify(
                body=message.body, title=message.title, notify_type=notify_type,
                body_format=BODY_FORMATS[message.fmt], timeout=self.policy.timeout,
            )
        except Exception as exc:  # Apprise reports failures in its result; anything else is one failed attempt
            return Attempt(ok=False, error=_scrub(f"{type(exc).__name__}: {exc}", target))
        services = list(result)
        if not services:
            said = " ".join(_scrub(entry.message, target) for entry in result.call_logs())
            return Attempt(ok=False, error=said or f"Apprise reported {result.status.name.lower()}")
        return _read_attempt(services[0], target)


def _notify_type(notification: Notification) -> Any:
    if notification.status == "resolved":
        return apprise.NotifyType.SUCCESS
    worst = max((a.severity for a in notification.alerts), key=_severity_rank, default="info")
    return NOTIFY_TYPES.get(worst, apprise.NotifyType.INFO)


def _severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1
