"""The delivery functions the dispatch stage calls: Apprise for real, or printing for --dry-run."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Sequence
from typing import Any, TextIO

from monitor.messages import DeliveryResult, Notification
from monitor.notify.dispatch import Deliver

log = logging.getLogger(__name__)


def templates_for(config: Any) -> Any:
    from monitor.notify.templates import Templates

    return Templates(config.resolve(config.templates) if config.templates else None)


def build_deliver(config: Any) -> Deliver:
    """One attempt per message at each of its destination's URLs, destinations in parallel. Apprise and the
    templates load with the first message (a function's cold start without one does not pay for them)."""
    senders: list[Any] = []
    lock = threading.Lock()

    def deliver(notifications: Sequence[Notification]) -> list[DeliveryResult]:
        import asyncio

        with lock:
            if not senders:
                from monitor.notify.apprise_send import Sender

                senders.append(Sender(config.destinations, templates_for(config), base_dir=config.base_dir))
        results: list[DeliveryResult] = asyncio.run(senders[0].deliver(notifications))
        return results

    return deliver


def build_printer(config: Any, out: TextIO | None = None) -> Deliver:
    """What ``--dry-run`` does instead of sending: render each message to ``out`` (stdout)."""
    templates = templates_for(config)
    return lambda notifications: print_notifications(notifications, templates, out or sys.stdout)


def print_notifications(notifications: Sequence[Notification], templates: Any, out: TextIO) -> list[DeliveryResult]:
    for notification in notifications:
        message = templates.render(notification, "text", notification.template)
        rule = notification.alerts[0].rule if notification.alerts else "-"
        log.info("would send %s message (%s) to %s: %s (dry run, not sent)", notification.status, rule,
                 notification.destination, message.title)
        out.write(f"--- to {notification.destination} (dry run, not sent) ---\n{message.title}\n{message.body}\n")
    out.flush()
    return [DeliveryResult(n.destination, n.key, True, 0, "dry run: not sent") for n in notifications]
