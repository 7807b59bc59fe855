from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.notify.silences import MatcherError, Silences, matchers_to_pattern, pattern_to_text
from monitor.store import SqliteStore
from monitor.store.base import NewSilence

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.mark.parametrize(("matchers", "pattern", "text"), [
    (["rule=s3-bucket-deleted"], {"rule": ["s3-bucket-deleted"]}, "rule=s3-bucket-deleted"),
    (["rule=s3-bucket-deleted", "account=123"], {"rule": ["s3-bucket-deleted"], "account": ["123"]},
     "rule=s3-bucket-deleted account=123"),
    (["severity!=critical"], {"severity": [{"anything-but": ["critical"]}]}, "severity!=critical"),
    (["resource.id=arn:aws:s3:::b/k=v", "resource.kind=object"],
     {"resource": {"id": ["arn:aws:s3:::b/k=v"], "kind": ["object"]}},
     "resource.id=arn:aws:s3:::b/k=v resource.kind=object"),
    (["region="], {"region": [""]}, "region="),
    (["tags=exposure"], {"tags": ["exposure"]}, "tags=exposure"),
])
def test_matchers_become_a_pattern_and_read_back(matchers: list[str], pattern: dict[str, Any], text: str) -> None:
    assert matchers_to_pattern(matchers) == pattern
    assert pattern_to_text(pattern) == text


def test_any_other_pattern_reads_back_as_json() -> None:
    assert pattern_to_text({"rule": [{"prefix": "s3-"}]}) == '{"rule":[{"prefix":"s3-"}]}'
    assert pattern_to_text({"resource": {"kind": ["a", "b"]}}) == '{"resource":{"kind":["a","b"]}}'


@pytest.mark.parametrize(("matchers", "message"), [
    (["rule"], "'rule' is not a matcher (use label=value or label!=value)"),
    (["=x"], "'=x' is not a matcher (use label=value or label!=value)"),
    (["rulle=x"], "unknown label 'rulle' (did you mean 'rule'?)"),
    (["colour=red"], "unknown label 'colour' (labels: rule, severity, status, fingerprint, tags, provider, account, "
                     "region, resource.kind, resource.id, resource.name, resource.parent)"),
    (["rule=a", "rule!=b"], "label 'rule' is given more than once"),
    ([], "a silence needs at least one matcher"),
])
def test_matcher_mistakes(matchers: list[str], message: str) -> None:
    with pytest.raises(MatcherError) as caught:
        matchers_to_pattern(matchers)
    assert str(caught.value) == message


def labels(rule: str = "s3-bucket-deleted", account: str = "123", severity: str = "high") -> dict[str, Any]:
    return {"rule": rule, "severity": severity, "status": "firing", "fingerprint": "f", "tags": [],
            "provider": "aws", "account": account, "region": "", "resource": {"kind": "bucket", "id": "arn:b",
                                                                             "name": "b", "parent": account}}


def silence(matchers: list[str], start: timedelta = 0 * H, length: timedelta = 2 * H) -> NewSilence:
    return NewSilence(matchers_to_pattern(matchers), T0 + start, T0 + start + length, "alice", "maintenance")


def test_the_store_keeps_silences_and_expires_them(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "s.db"))
    first = store.add_silence(silence(["rule=s3-bucket-deleted"]))
    second = store.add_silence(silence(["account=123"], start=H))
    assert (first.id, second.id) == (1, 2)
    assert store.silences() == [first, second]
    assert store.silences(active_at=T0 + 2 * H) == [second]
    expired = store.expire_silence(2, T0 + 90 * timedelta(minutes=1))
    assert expired is not None
    assert expired.ends_at == T0 + 90 * timedelta(minutes=1)
    assert store.silences(active_at=T0 + 2 * H) == []
    assert store.expire_silence(99, T0) is None


def test_the_version_changes_only_when_the_silences_do(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "s.db"))
    assert store.silences_version() == 0
    added = store.add_silence(silence(["rule=x"]))
    assert store.silences_version() == 1
    store.expire_silence(added.id, T0 + H)
    assert store.silences_version() == 2
    store.expire_silence(added.id, T0 + H)
    assert store.silences_version() == 2


def test_the_cache_sees_silences_added_by_another_process(tmp_path: Path) -> None:
    daemon_store = SqliteStore(str(tmp_path / "s.db"))
    cli_store = SqliteStore(str(tmp_path / "s.db"))
    cache = Silences(daemon_store)
    cache.refresh()
    assert cache.silencing(labels(), T0) is None
    added = cli_store.add_silence(silence(["rule=s3-bucket-deleted", "account!=999"]))
    cache.refresh()
    assert cache.silencing(labels(), T0) == added
    assert cache.silencing(labels(account="999"), T0) is None
    assert cache.silencing(labels(rule="other"), T0) is None
    assert cache.silencing(labels(), T0 + 2 * H) is None
    assert cache.silencing(labels(), T0 - timedelta(seconds=1)) is None
    cli_store.expire_silence(added.id, T0 + H)
    cache.refresh()
    assert cache.silencing(labels(), T0 + H) is None
    assert cache.silencing(labels(), T0 + H - timedelta(seconds=1)) == store_silence(cli_store, added.id)


def store_silence(store: SqliteStore, silence_id: int) -> Any:
    return next(s for s in store.silences() if s.id == silence_id)


def test_the_cache_reads_the_store_only_when_the_version_moves(tmp_path: Path) -> None:
    class CountingStore(SqliteStore):
        reads = 0

        def silences(self, *, active_at: datetime | None = None) -> Any:
            CountingStore.reads += 1
            return super().silences(active_at=active_at)

    store = CountingStore(str(tmp_path / "s.db"))
    cache = Silences(store)
    for _ in range(3):
        cache.refresh()
    assert CountingStore.reads == 1
    store.add_silence(silence(["rule=x"]))
    cache.refresh()
    cache.refresh()
    assert CountingStore.reads == 2
