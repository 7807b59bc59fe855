"""The adapter registry and payload detection: a payload is read by the first adapter that accepts it.

Whatever an adapter raises is turned into UnreadablePayload here, in one place: the errors bad input causes
(KeyError, TypeError, ValueError...) as a malformed payload for that adapter, anything else as a failure of the
adapter itself, so a bug is not mistaken for bad input. Neither stops the rest of a batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any, NamedTuple

from monitor.events import Event
from monitor.limits import MAX_ENVELOPE_NESTING
from monitor.registry import Registry

Payload = Mapping[str, Any]
MALFORMED = (KeyError, TypeError, ValueError, AttributeError, IndexError, ArithmeticError)
"""What an adapter raises when a payload does not have the shape it expects."""


class UnreadablePayload(ValueError):
    """No adapter can read this payload, or the one that recognised it found it malformed."""


class AdapterFailed(UnreadablePayload):
    """An adapter raised something bad input does not explain (a RecursionError, a RuntimeError...)."""


class Adapter(NamedTuple):
    name: str
    accepts: Callable[[Payload], bool]
    adapt: Callable[[Payload], list[Event]]


_MODULES = {  # module of monitor.adapters -> the adapters it registers, in the order payloads try them
    "envelopes": ("records", "aws.sqs.lambda_record", "aws.sqs.receive_response", "aws.sqs.message",
                  "aws.sns.notification", "aws.sns.lambda_record"),
    "s3": ("aws.s3.notification", "aws.s3.test_event"), "s3_eventbridge": ("aws.eventbridge.s3",),
    "cloudtrail": ("aws.cloudtrail.record", "aws.eventbridge.cloudtrail"), "ec2": ("aws.eventbridge.ec2",),
    "dynamodb": ("aws.dynamodb.stream_record",), "awsconfig": ("aws.config.notification", "aws.config.rule_event"),
    "gcs": ("gcp.storage.object_resource",), "gcp_pubsub": ("gcp.pubsub.push", "gcp.pubsub.message"),
    "gcp_audit": ("gcp.audit_log",), "gcp_cloudevents": ("gcp.cloudevent", "gcp.functions.legacy_event"),
}
# Each accepts only its own precise shape, so a payload is read alike whichever order they are tried in; this
# order imports a module only when a payload gets past the adapters before it (a function on AWS reads its
# events without the GCP adapters' modules, and an S3 notification without CloudTrail's).
adapters: Registry[Adapter] = Registry("adapter", modules={
    name: f"monitor.adapters.{module}" for module, names in _MODULES.items() for name in names})
_nesting: ContextVar[int] = ContextVar("payload_nesting", default=0)


def adapter(name: str, accepts: Callable[[Payload], bool]) -> Callable[
    [Callable[[Payload], list[Event]]], Callable[[Payload], list[Event]]
]:
    """Register ``adapt`` under ``name``; ``accepts`` must be a cheap, precise test of the payload's shape."""

    def register(adapt: Callable[[Payload], list[Event]]) -> Callable[[Payload], list[Event]]:
        adapters.register(name)(Adapter(name, accepts, adapt))
        return adapt

    return register


def normalize(payload: Any) -> list[Event]:
    """Turn any supported raw payload (or a JSON array of them) into events.

    Returns an empty list for payloads that are recognised but carry no change (an S3 test event).
    Raises UnreadablePayload, and nothing else, when nothing recognises the payload, it is malformed, or an
    adapter failed on it. Envelopes call this for the payloads they carry: they nest MAX_ENVELOPE_NESTING deep
    at most.
    """
    nesting = _nesting.get()
    if nesting >= MAX_ENVELOPE_NESTING:
        raise UnreadablePayload(f"payloads nested more than {MAX_ENVELOPE_NESTING} deep (MAX_ENVELOPE_NESTING)")
    token = _nesting.set(nesting + 1)
    try:
        if isinstance(payload, list):
            return [event for item in _flattened(payload) for event in _adapt(item)]
        return _adapt(payload)
    finally:
        _nesting.reset(token)


def _flattened(items: list[Any]) -> Iterator[Any]:
    """The elements of a list, and of the lists in it, in order, without recursion."""
    stack = [iter(items)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            yield item
        else:
            stack.pop()


def _adapt(payload: Any) -> list[Event]:
    if type(payload) is not dict and not isinstance(payload, Mapping):
        raise UnreadablePayload(f"expected a JSON object, got {type(payload).__name__}")
    for name, entry in adapters.in_order():
        try:
            accepted = entry.accepts(payload)
        except Exception as exc:
            raise AdapterFailed(f"adapter {name} failed in accepts: {describe(exc)}") from exc
        if accepted:
            return _run(entry, payload)
    raise UnreadablePayload(f"no adapter recognises a payload with keys {_some_keys(payload)}")


def _run(entry: Adapter, payload: Payload) -> list[Event]:
    try:
        events = entry.adapt(payload)
    except UnreadablePayload:
        raise
    except MALFORMED as exc:
        raise UnreadablePayload(f"{entry.name}: malformed payload ({describe(exc)})") from exc
    except Exception as exc:
        raise AdapterFailed(f"adapter {entry.name} failed: {describe(exc)}") from exc
    if type(events) is not list:
        raise AdapterFailed(f"adapter {entry.name} failed: returned {type(events).__name__}, not a list of events")
    return events


def describe(exc: BaseException) -> str:
    """``KeyError: 'detail'``, short enough for a log line and a dead letter."""
    text = str(exc)
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def _some_keys(payload: Payload) -> list[str]:
    return sorted(str(key)[:40] for key in payload)[:8]
