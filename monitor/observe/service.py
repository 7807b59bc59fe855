"""What the daemon builds from ``metrics:``: metrics and health fed by the same reports, and their endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from monitor.observe.health import Health
from monitor.observe.hooks import IGNORE, Observer, Tee
from monitor.observe.metrics import Metrics
from monitor.observe.settings import MetricsSettings
from monitor.store.base import Store

if TYPE_CHECKING:
    from monitor.alerting import Alerting


class Watched(Tee):
    """One daemon's metrics (a registry of its own) and health checks."""

    def __init__(self, settings: MetricsSettings, store: Store) -> None:
        self.settings = settings
        self.health = Health(store)
        self.metrics = Metrics(store, self.health)
        self.address: tuple[str, int] | None = None  # where it listens, once serving
        super().__init__(self.metrics, self.health)


def observer_for(settings: MetricsSettings | None, store: Store) -> Observer:
    """Metrics and health when the config has a ``metrics:`` section (or ``--metrics-listen``); else nothing."""
    return IGNORE if settings is None else Watched(settings, store)


def attach(observer: Observer, alerting: Alerting | None) -> None:
    """Let the rules, the ticker and the sender report to ``observer``."""
    if alerting is not None:
        alerting.observer = observer
        if alerting.dispatcher is not None:
            alerting.dispatcher.observer = observer


@contextmanager
def serving(observer: Observer) -> Iterator[None]:
    """The endpoint of a watched daemon, listening while in the block."""
    if not isinstance(observer, Watched):
        yield
        return
    from monitor.observe.server import serving as serve

    with serve(observer.settings.listen, observer.metrics.registry, observer.health) as observer.address:
        yield
    observer.address = None
