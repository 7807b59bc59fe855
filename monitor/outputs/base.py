"""The contract between the forwarder and an output: CloudEvents in, accepted or a typed failure out.

``send`` returns when the consumer took every envelope of the batch. It raises ``RetryableFailure`` when the
consumer may take them later (unreachable, throttled, 5xx, credentials or permissions not right yet) and
``PermanentFailure`` when it never will (too big, refused as malformed). Either may name the ids it did take
(``accepted``) and the ids refused for good (``refused``; none named on a ``PermanentFailure`` means all).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Annotated, Any, Literal, Protocol

import orjson
from pydantic import AfterValidator, Field

from monitor.engine.patterns import PatternError, compile_pattern
from monitor.yamlfiles.models import Closed

CloudEvent = dict[str, Any]
RAW_OMITTED = "rawomitted"  # a CloudEvents extension attribute: true when data.raw was left out to fit a limit


class OutputFailure(Exception):
    def __init__(self, reason: str, *, accepted: Iterable[str] = (), refused: Iterable[str] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.accepted = frozenset(accepted)
        self.refused = frozenset(refused)


class RetryableFailure(OutputFailure):
    """The consumer did not take (all of) the batch now; it may later (``retry_after`` seconds, if it said)."""

    def __init__(self, reason: str, *, accepted: Iterable[str] = (), refused: Iterable[str] = (),
                 retry_after: float | None = None) -> None:
        super().__init__(reason, accepted=accepted, refused=refused)
        self.retry_after = retry_after


class PermanentFailure(OutputFailure):
    """The consumer will never take these envelopes as they are (``refused``; all of the batch when empty)."""


class Output(Protocol):
    name: str

    def send(self, batch: Sequence[CloudEvent]) -> None:
        """Deliver every envelope, or raise an ``OutputFailure``."""
        ...

    def close(self) -> None: ...


def check_pattern(pattern: dict[str, Any] | None) -> dict[str, Any] | None:
    """Compile ``match:`` now, so a bad pattern fails the config and not the first forward."""
    if pattern is None:
        return None
    try:
        compile_pattern(pattern)
    except PatternError as exc:
        raise ValueError(str(exc)) from None
    from monitor.engine.fields import PatternChecker
    from monitor.engine.references import References

    errors = [issue.message for issue in PatternChecker(References({}, {})).check(pattern, ()) if not issue.warning]
    if errors:
        raise ValueError("; ".join(errors))
    return pattern


class OutputBase(Closed):
    """What every output has; each kind adds its own fields and its ``type``."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$", description="names its position in the log")
    match: Annotated[dict[str, Any] | None, AfterValidator(check_pattern)] = Field(
        default=None, description="an EventBridge pattern over the normalized event; absent: every event")
    start: Literal["end", "beginning"] = Field(
        default="end", description="where an output with no saved position begins: new events only, or the whole log")
    batch_size: int = Field(default=100, ge=1, le=1000, description="events sent before the position is saved")


def encoded(envelope: CloudEvent, limit: int, *, ascii_only: bool = False) -> bytes | None:
    """The envelope as JSON within ``limit`` bytes: whole, else without ``data.raw`` (and ``rawomitted: true``);
    None when even that is too big. ``ascii_only`` escapes every character past ASCII (``\\uXXXX``)."""
    body = _dumps(envelope, ascii_only)
    if len(body) <= limit:
        return body
    data = envelope.get("data")
    if not isinstance(data, dict) or "raw" not in data:
        return None
    smaller = {**envelope, RAW_OMITTED: True, "data": {k: v for k, v in data.items() if k != "raw"}}
    body = _dumps(smaller, ascii_only)
    return body if len(body) <= limit else None


def _dumps(envelope: CloudEvent, ascii_only: bool) -> bytes:
    if not ascii_only:
        return orjson.dumps(envelope)
    import json

    return json.dumps(envelope, ensure_ascii=True, separators=(",", ":")).encode()


def chunks(sized: Sequence[tuple[str, int]], count: int, total: int) -> Iterator[list[int]]:
    """Indexes of ``sized`` (id, bytes) in runs of at most ``count`` entries and ``total`` bytes, in order."""
    run: list[int] = []
    size = 0
    for index, (_, nbytes) in enumerate(sized):
        if run and (len(run) == count or size + nbytes > total):
            yield run
            run, size = [], 0
        run.append(index)
        size += nbytes
    if run:
        yield run


def short(error: BaseException | str) -> str:
    """An error as one line for logs and failures."""
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return " ".join(text.split())[:500]
