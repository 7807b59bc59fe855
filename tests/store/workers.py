"""What the contract suite's racing workers do, in threads or in processes started with ``spawn``.

Each worker opens its own store on the shared state (as another daemon would), waits at a barrier so all of
them start together, and reports what it got on a queue.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence
from typing import Any

from monitor.store import open_store
from monitor.store.base import StateConflict
from tests.store.values import LEASE, T0, add_counts, alert, message

SPAWN = multiprocessing.get_context("spawn")


def write_from(url: str, expected: str | None, tag: str, barrier: Any, results: Any) -> None:
    """One writer of a compare-and-set race: its own document, message and position, from ``expected``."""
    store = open_store(url)
    try:
        barrier.wait(timeout=60)
        try:
            store.write_state([("count", tag, tag.encode(), 10**10)], [], ("detectors", tag), [message(int(tag))],
                              expected=expected)
        except StateConflict:
            results.put(("conflict", tag))
        else:
            results.put(("won", tag))
    finally:
        store.close()


def claim_all(url: str, barrier: Any, results: Any) -> None:
    """Claims until nothing is left, five at a time; reports every id it took."""
    store = open_store(url)
    try:
        barrier.wait(timeout=60)
        taken: list[int] = []
        while batch := store.claim_notifications(T0, T0 + LEASE, limit=5):
            taken.extend(stored.id for stored in batch)
        results.put(taken)
    finally:
        store.close()


def add_to_alert(url: str, times: int, barrier: Any, results: Any) -> None:
    """``times`` separate updates of one fingerprint, each adding 1 to its count."""
    store = open_store(url)
    try:
        barrier.wait(timeout=60)
        for n in range(times):
            store.update_alerts([alert("shared", count=1, minutes=n)], add_counts, T0)
        results.put(times)
    finally:
        store.close()


def race_processes(target: Callable[..., None], arguments: Sequence[tuple[Any, ...]]) -> list[Any]:
    """Runs ``target(*args, barrier, results)`` in one spawned process per argument tuple; their reports."""
    barrier = SPAWN.Barrier(len(arguments))
    results = SPAWN.Queue()
    processes = [SPAWN.Process(target=target, args=(*args, barrier, results)) for args in arguments]
    for process in processes:
        process.start()
    reports = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    results.close()
    results.join_thread()
    return reports


def race_threads(target: Callable[..., None], arguments: Sequence[tuple[Any, ...]]) -> list[Any]:
    """The same race in threads of this process, each with its own store."""
    import queue
    import threading

    barrier = threading.Barrier(len(arguments))
    results: queue.Queue[Any] = queue.Queue()
    threads = [threading.Thread(target=target, args=(*args, barrier, results)) for args in arguments]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 120
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    return [results.get_nowait() for _ in threads]
