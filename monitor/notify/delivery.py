"""The synchronous delivery function the pipeline calls: Apprise for real, or printing for --dry-run."""

from __future__ import annotations

import asyncio
import sys
from typing import Any, TextIO

from monitor.notify.notification import DeliveryResult, Notification
from monitor.notify.pipeline import Deliver


def build_deliver(config: Any, *, dry_run: bool = False, out: TextIO | None = None) -> Deliver:
    """Deliver through the config's destinations; with ``dry_run``, render to ``out`` and send nothing."""
    from monitor.notify.templates import Templates

    templates = Templates(config.resolve(config.templates) if config.templates else None)
    if dry_run:
        return lambda notifications: _print(notifications, templates, out or sys.stdout)
    from monitor.notify.apprise_send import Sender

    sender = Sender(config.destinations, templates, base_dir=config.base_dir)
    return lambda notifications: asyncio.run(sender.deliver(notifications))


def _print(notifications: list[Notification], templates: Any, out: TextIO) -> list[DeliveryResult]:
    for notification in notifications:
        message = templates.render(notification, "text", notification.template)
        out.write(f"--- to {notification.destination} (dry run, not sent) ---\n{message.title}\n{message.body}\n")
    out.flush()
    return [DeliveryResult(n.destination, n.key, True, 0, "dry run: not sent") for n in notifications]
