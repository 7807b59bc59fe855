"""The event log's consumer: where a leader without saved state starts, and where the next one goes on."""

from __future__ import annotations

from pathlib import Path

from monitor.alerting import Alerting
from monitor.config import Config
from monitor.store import open_store
from tests.store.values import event


def test_a_first_leader_says_where_it_started_so_the_next_skips_nothing_recorded_since(tmp_path: Path) -> None:
    """The first daemon to lead starts at the end of the log, and writes that position at once: an event
    recorded afterwards by a daemon that does not lead is evaluated by whoever leads next."""
    (tmp_path / "rules.yaml").write_text(
        "rules:\n  - {id: any-change, title: A change, severity: low, match: {provider: [aws]}}\n")
    config = Config.model_validate({"state": f"sqlite:///{tmp_path}/state.db", "rules": [str(tmp_path / "rules.yaml")]})
    store = open_store(config.state_url())
    store.record([event(1)])  # history, from before anyone evaluated: not raised
    first = Alerting.from_config(config, store, dry_run=True)
    first.close()  # stops (or is killed) before any batch of its own
    store.record([event(2)])  # recorded by a daemon that does not hold the lease
    second = Alerting.from_config(config, store, dry_run=True)
    try:
        assert [alert.event_ids for alert in store.list_alerts()] == [("e2",)]
    finally:
        second.close()
        store.close()
