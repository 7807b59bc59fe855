"""What every detector shares: group keys, event-time seconds, evidence, lifecycle, alerts, deadlines, lateness.

Conventions for detector state (see ``monitor.engine.state``): a key's state is a small JSON-able dict
(orjson), times in it are whole epoch seconds (``epoch``), evidence is a list of ``[seconds, event id]``
bounded by ``EVIDENCE``. A detector fires once when its condition becomes true for a key, sends an
update (``change: updated``) for each further event while it holds, and resolves when it clears.
A detector may define ``next_due() -> float`` (epoch seconds of the earliest time ``advance`` could
change anything, ``math.inf`` for never); the runner then calls ``advance`` only when it is due,
otherwise whenever the watermark moves to a later second. ``KeyedDetector`` below is the usual base.
"""

from __future__ import annotations

import functools
import heapq
import logging
import math
import operator
from abc import abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import orjson
from pydantic import AfterValidator, Field

from monitor.alerts import Alert, fingerprint
from monitor.engine.detectors.base import Detector, DetectorSettings
from monitor.engine.model import Rule
from monitor.engine.state import RuleState
from monitor.events import Event, format_time
from monitor.yamlfiles.durations import parse_duration

log = logging.getLogger("monitor.engine.detectors")

EVIDENCE = 20
BEFORE_ALL = -(2**62)
Change = Literal["fired", "updated", "resolved"]
Evidence = list[list[Any]]  # [[epoch seconds, event id], ...], oldest first
Document = dict[str, Any]
Context = list[str]  # [provider, account, region, kind, id, name, parent] of the latest event


def _check_duration(text: str) -> str:
    parse_duration(text)
    return text


Duration = Annotated[
    str,
    AfterValidator(_check_duration),
    Field(json_schema_extra={"pattern": r"^\s*\d+(\.\d+)?\s*[smhdw]\s*$"},
          description="a duration: 30s, 5m, 1h, 1d or 2w"),
]


def seconds(duration: str) -> int:
    """A duration as whole seconds (at least 1), the resolution of detector windows."""
    return max(1, int(parse_duration(duration)))


def epoch(time: datetime) -> int:
    """Whole seconds since the epoch, floored: the time resolution of detector state."""
    return math.floor(time.timestamp())


def from_epoch(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


_ATTRIBUTES = {"": {"id", "time", "provider", "account", "region", "service", "action", "operation", "outcome"},
               "resource": {"kind", "id", "name", "parent"}, "actor": {"id", "type", "ip", "user_agent"}}


def field_reader(path: str) -> Callable[[Event], Any]:
    """A fast reader of a dotted field: attribute look-ups where the path allows, ``Event.get`` otherwise."""
    head, _, tail = path.rpartition(".")
    if tail in _ATTRIBUTES.get(head, ()) and tail != "time":
        return operator.attrgetter(path)
    return lambda event: event.get(path)


def group_values(event: Event, group_by: Sequence[str]) -> list[Any]:
    return [event.get(path) for path in group_by]


def group_key(event: Event, group_by: Sequence[str]) -> str:
    """The state key of the event's group: its group-by values as compact JSON (a missing field is null)."""
    return orjson.dumps(group_values(event, group_by), option=orjson.OPT_SORT_KEYS).decode()


def group_key_function(group_by: Sequence[str]) -> Callable[[Event], str]:
    """``group_key`` for a fixed ``group_by``, with the field readers prepared once."""
    readers = [field_reader(path) for path in group_by]
    option = orjson.OPT_SORT_KEYS

    def key_of(event: Event) -> str:
        return orjson.dumps([read(event) for read in readers], option=option).decode()

    return key_of


def group_of(key: str, group_by: Sequence[str]) -> dict[str, Any]:
    """The group-by values of a state key, by field, as alerts carry them."""
    return dict(zip(group_by, orjson.loads(key), strict=True))


def context(event: Event) -> Context:
    resource = event.resource
    return [event.provider, event.account, event.region, resource.kind, resource.id, resource.name, resource.parent]


def add_evidence(evidence: Evidence, event: Event, limit: int = EVIDENCE, second: int | None = None) -> None:
    """Append the event (kept in time order, so a late event slots in), keeping the latest ``limit``."""
    entry = [epoch(event.time) if second is None else second, event.id]
    if evidence and evidence[-1][0] > entry[0]:
        position = next(i for i, item in enumerate(evidence) if item[0] > entry[0])
        evidence.insert(position, entry)
    else:
        evidence.append(entry)
    if len(evidence) > limit:
        del evidence[:-limit]


def evidence_since(evidence: Evidence, start: int) -> Evidence:
    """The entries after ``start`` (exclusive), i.e. those inside a window ``(start, now]``."""
    return [item for item in evidence if item[0] > start]


def transition(firing: bool, holds: bool, on_event: bool) -> Change | None:
    """The lifecycle: fire when the condition becomes true, update on events while it holds, resolve when it clears."""
    if holds and not firing:
        return "fired"
    if holds and on_event:
        return "updated"
    if firing and not holds:
        return "resolved"
    return None


def detector_alert(
    rule: Rule, key: str, group_by: Sequence[str], change: Change, *, count: int, evidence: Evidence,
    where: Context | None, event: Event | None = None, explanation: Mapping[str, Any] | None = None,
    span: tuple[int, int] | None = None,
) -> Alert:
    """The alert of a detector for one group key.

    Ids come from the evidence (oldest first); first/last seen from ``span`` (epoch seconds of the first and
    last contributing events) or else from the evidence. ``where`` is the stored context of the latest event,
    used when no event is at hand (an alert raised or resolved by time passing).
    """
    group, stamp = _identity(rule.id, key, tuple(group_by))
    where = context(event) if event is not None else (where or [""] * 7)
    times = list(span) if span else [item[0] for item in evidence] or ([epoch(event.time)] if event else [0])
    details = {"change": change, "count": count, **(explanation or {}),
               "first_event": format_time(from_epoch(times[0])), "last_event": format_time(from_epoch(times[-1]))}
    return Alert(
        rule=rule.id, title=rule.title, severity=rule.severity, fingerprint=stamp, group=dict(group),
        event_ids=tuple(str(item[1]) for item in evidence), first_seen=from_epoch(times[0]),
        last_seen=from_epoch(times[-1]), count=count,
        resource={"kind": where[3], "id": where[4], "name": where[5], "parent": where[6]},
        provider=where[0], account=where[1], region=where[2], status="resolved" if change == "resolved" else "firing",
        tags=tuple(rule.tags), description=rule.description, explanation=details, event=event,
    )


@functools.lru_cache(maxsize=65536)
def _identity(rule_id: str, key: str, group_by: tuple[str, ...]) -> tuple[Mapping[str, Any], str]:
    """The group and fingerprint of a key, cached: a firing key sends an update per event."""
    group = group_of(key, group_by)
    return group, fingerprint(rule_id, group)


class Deadlines:
    """A min-heap of (epoch seconds, key) with at most one live entry per key: the earliest asked for.

    ``push`` of a later time for a key already due earlier is a no-op; when the earlier time comes the
    detector re-checks the key and pushes its next time. Entries made stale that way are skipped.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[int, str]] = []
        self._queued: dict[str, int] = {}

    def push(self, due: int, key: str) -> None:
        queued = self._queued.get(key)
        if queued is None or due < queued:
            self._queued[key] = due
            heapq.heappush(self._heap, (due, key))

    def pop_due(self, now: int) -> list[str]:
        """The keys due at or before ``now``, earliest first."""
        due: list[str] = []
        while self._heap and self._heap[0][0] <= now:
            when, key = heapq.heappop(self._heap)
            if self._queued.get(key) == when:
                del self._queued[key]
                due.append(key)
        return due

    def next_due(self) -> float:
        while self._heap and self._queued.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else math.inf

    def __len__(self) -> int:
        return len(self._queued)


class Watermark:
    """Event time as far as the stream has shown it, with a bounded allowance for late events.

    An event older than the watermark minus ``lateness`` is late: it is counted per rule and logged, and not
    folded into any detector's state.
    """

    def __init__(self, lateness: float = 300.0, now: datetime | None = None) -> None:
        self.lateness = lateness
        self._allowance = timedelta(seconds=lateness)
        self.now = now
        self._late_before = now - self._allowance if now is not None else None
        self.late: Counter[str] = Counter()

    def is_late(self, time: datetime) -> bool:
        return self._late_before is not None and time < self._late_before

    def advance(self, time: datetime) -> bool:
        """Move forward to ``time``; True when it moved."""
        if self.now is None or time > self.now:
            self.now = time
            self._late_before = time - self._allowance
            return True
        return False

    def record_late(self, event: Event, rules: Iterable[str]) -> None:
        for rule in rules:
            self.late[rule] += 1
            log.warning("late event %s for rule %s: event time %s is more than %ss behind the watermark %s",
                        event.id, rule, format_time(event.time), self.lateness,
                        format_time(self.now) if self.now else "-")


class Verdict:
    __slots__ = ("count", "explanation", "holds", "span")

    def __init__(self, holds: bool, count: int, explanation: Mapping[str, Any] | None = None,
                 span: tuple[int, int] | None = None) -> None:
        self.holds = holds
        self.count = count
        self.explanation = explanation  # or leave it to ``explain``, called only for an alert
        self.span = span  # epoch seconds of the first and last contributing events


class KeyedDetector(Detector):
    """The lifecycle of a detector that keeps one document per group key, for subclasses to fill in.

    - ``new_document`` starts a key; ``fold`` adds an event to a document and to its evidence (False: the
      event does not count, e.g. it is older than the window);
    - ``refresh`` drops what has aged out at ``now`` (not called on a new document);
    - ``judge`` says whether the condition holds, ``explain`` why (called only when an alert is raised);
    - ``due`` is when time alone could next change the verdict, ``expires`` when an idle key may be forgotten;
    - ``evidence`` gives ``[[second, event id], ...]`` (by default the list under "e").
    """

    keeps_context = False  # True when time alone may raise an alert, so the latest event's context is kept
    due_while_quiet = True  # False when ``due`` is None for a key that is not firing (skips the call)

    state: RuleState

    def __init__(self, rule: Rule, settings: DetectorSettings, state: RuleState) -> None:
        super().__init__(rule, settings, state)
        self.now = BEFORE_ALL  # event time in whole seconds, as far as this detector has been told
        self.deadlines = Deadlines()
        self.key_of = group_key_function(settings.group_by)
        for key in state:  # peeked: a million documents loaded packed stay packed
            due = self.due(state.peek(key) or {}, 0)
            if due is not None:
                self.deadlines.push(due, key)

    @abstractmethod
    def new_document(self) -> Document: ...

    @abstractmethod
    def fold(self, document: Document, event: Event, second: int) -> bool: ...

    @abstractmethod
    def refresh(self, document: Document, now: int) -> None: ...

    @abstractmethod
    def judge(self, document: Document, now: int) -> Verdict: ...

    def explain(self, document: Document, now: int) -> Mapping[str, Any]:
        """The figures behind the verdict (window, threshold, baseline...) when the verdict carries none."""
        return {}

    @abstractmethod
    def due(self, document: Document, now: int) -> int | None: ...

    @abstractmethod
    def expires(self, document: Document) -> int: ...

    def window_start(self, now: int) -> int:
        """Evidence after this second is shown as contributing."""
        return -1

    def empty(self, document: Document) -> bool:
        return False

    def evidence(self, document: Document) -> Evidence:
        """``[[second, event id], ...]`` oldest first; by default the list ``add_evidence`` keeps under "e"."""
        evidence: Evidence = document.get("e", [])
        return evidence

    def observe(self, event: Event) -> list[Alert]:
        second = epoch(event.time)
        self.now = max(self.now, second)
        key = self.key_of(event)
        document = self.state.get(key)
        if document is None:
            document = self.new_document()
        else:
            self.refresh(document, self.now)
        if not self.fold(document, event, second):
            return []
        if self.keeps_context:
            document["c"] = context(event)
        return self.settle(key, document, event)

    def advance(self, now: datetime) -> list[Alert]:
        self.now = max(self.now, epoch(now))
        alerts: list[Alert] = []
        for key in self.deadlines.pop_due(self.now):
            document = self.state.get(key)
            if document is not None:
                self.refresh(document, self.now)
                alerts.extend(self.settle(key, document, None))
        return alerts

    def next_due(self) -> float:
        return self.deadlines.next_due()

    def settle(self, key: str, document: Document, event: Event | None) -> list[Alert]:
        now, firing = self.now, "f" in document
        verdict = self.judge(document, now)
        holds = verdict.holds
        change = transition(firing, holds, event is not None) if holds or firing else None
        if holds:
            document["f"] = 1
            if event is not None:
                document["c"] = context(event)
        alerts = [self.alert(key, document, change, verdict, event)] if change else []
        if holds and change:
            self.remember_episode(document, alerts[0])
        if firing and not holds:
            del document["f"]
            document.pop("p", None)
            if not self.keeps_context:
                document.pop("c", None)
        due = self.due(document, now) if holds or firing or self.due_while_quiet else None
        if due is not None:
            self.deadlines.push(due, key)
        if not holds and self.empty(document):
            self.state.delete(key)
        else:
            self.state.put(key, document, self.expires(document))
        return alerts

    @staticmethod
    def remember_episode(document: Document, alert: Alert) -> None:
        """Keep the episode's facts while it fires: its first and last events, peak count and latest evidence."""
        first, last = epoch(alert.first_seen), epoch(alert.last_seen)
        known = document.get("p")
        if known:
            first, peak = min(first, known[0]), max(alert.count, known[2])
        else:
            peak = alert.count
        document["p"] = [first, max(last, known[1] if known else last), peak, [[last, i] for i in alert.event_ids]]

    def alert(self, key: str, document: Document, change: Change, verdict: Verdict, event: Event | None) -> Alert:
        evidence = self.evidence(document)
        shown = evidence_since(evidence, self.window_start(self.now)) or evidence
        figures = verdict.explanation if verdict.explanation is not None else self.explain(document, self.now)
        explanation = {"detector": self.settings.type, **figures}
        count, span = verdict.count, verdict.span
        episode = document.get("p") if change == "resolved" else None
        if episode and event is None:
            # Resolved by time passing: the alert carries the episode that ended, not the emptied window.
            count, span, shown = episode[2], (episode[0], episode[1]), episode[3]
        elif episode:
            count, span, shown = count or episode[2], span or (episode[0], episode[1]), shown or episode[3]
        return detector_alert(self.rule, key, self.settings.group_by, change, count=count, evidence=shown,
                              where=document.get("c"), event=event, explanation=explanation, span=span)


def value_text(value: Any) -> str:
    """How field values are compared and remembered: strings as they are, anything else as compact JSON."""
    return value if isinstance(value, str) else orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
