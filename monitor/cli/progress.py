"""Progress of long commands on a terminal: counts and a rate on stderr (tqdm); nothing when stderr is not one,
nor when the command's results go to the same terminal on stdout.

While a bar is shown, log lines are written above it instead of through it.
"""

from __future__ import annotations

import io
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO, TypeVar, cast

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

T = TypeVar("T")
POLL_SECONDS = 0.2


def on_terminal(*, stdout_used: bool = True) -> bool:
    """Whether a bar is shown: stderr is a terminal, and (when the command writes its results on stdout) stdout
    is not that terminal too, where the bar would break through the results."""
    return sys.stderr.isatty() and not (stdout_used and sys.stdout.isatty())


def _bar(**settings: Any) -> tqdm[Any]:
    """A bar on stderr, as wide as the terminal (80 columns when the terminal says it has none)."""
    try:
        sized = os.get_terminal_size(sys.stderr.fileno()).columns > 0
    except OSError:
        sized = False
    shape: dict[str, Any] = {"dynamic_ncols": True} if sized else {"ncols": 80, "nrows": 24}
    return tqdm(file=sys.stderr, smoothing=0, **shape, **settings)  # the rate: the average so far


def counted(items: Iterable[T], desc: str, unit: str, total: int | None = None) -> Iterator[T]:
    """``items`` as they are, counted on a bar as each is taken."""
    if not on_terminal():
        yield from items
        return
    with logging_redirect_tqdm(), _bar(iterable=items, desc=desc, unit=unit, total=total) as bar:
        yield from bar


@contextmanager
def watching(desc: str, unit: str, count: Callable[[], int], postfix: Callable[[], str] | None = None, *,
             stdout_used: bool = True) -> Iterator[None]:
    """A bar showing ``count()`` (and ``postfix()``), read a few times a second while the block runs."""
    if not on_terminal(stdout_used=stdout_used):
        yield
        return
    done = threading.Event()
    with logging_redirect_tqdm(), _bar(desc=desc, unit=unit) as bar:

        def show() -> None:
            bar.update(count() - bar.n)
            if postfix is not None:
                bar.set_postfix_str(postfix(), refresh=False)

        def poll() -> None:
            while not done.wait(POLL_SECONDS):
                show()

        thread = threading.Thread(target=poll, name="progress", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()
            show()


class _AboveBars(io.TextIOBase):
    def write(self, text: str) -> int:
        tqdm.write(text.rstrip("\n"), file=sys.stderr)
        return len(text)


def stderr() -> TextIO:
    """Where a command writes its own messages: stderr, above the bars when on a terminal."""
    return cast(TextIO, _AboveBars()) if on_terminal() else sys.stderr
