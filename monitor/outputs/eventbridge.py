"""Amazon EventBridge: PutEvents, 10 entries and 256 KiB a call; Source ``cloud-monitor``, DetailType the event's
operation (its resource kind when it has none), Detail the whole CloudEvent. Entries that failed (FailedEntryCount)
are sent again, alone; one refused as malformed is not."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from monitor.events import parse_time
from monitor.outputs.aws import Entry, Outcome, client, send_in_batches
from monitor.outputs.base import CloudEvent, OutputBase

SOURCE = "cloud-monitor"
PERMANENT = frozenset({"MalformedDetail", "InvalidArgument", "ValidationException"})


class EventBridgeOutput(OutputBase):
    type: Literal["eventbridge"] = "eventbridge"
    event_bus_name: str = Field(default="default", min_length=1, description="a bus name or ARN")
    region: str | None = None
    endpoint_url: str | None = None


def detail_type(envelope: CloudEvent) -> str:
    data = envelope.get("data") or {}
    return str(data.get("operation") or (data.get("resource") or {}).get("kind") or envelope["type"])[:128]


def resources(envelope: CloudEvent) -> list[str]:
    subject = str(envelope.get("subject") or "")
    return [subject] if subject.startswith("arn:") else []


def entry_bytes(entry: Entry) -> int:
    """EventBridge's own count beside the Detail: 14 for Time, Source, DetailType and each resource."""
    envelope = entry.envelope
    return 14 + len(SOURCE) + len(detail_type(envelope).encode()) + sum(len(r.encode()) for r in resources(envelope))


class EventBridgeSender:
    def __init__(self, settings: EventBridgeOutput) -> None:
        self.settings = settings
        self.name = settings.name
        self.client: Any = client("events", settings.region, settings.endpoint_url)

    def send(self, batch: Sequence[CloudEvent]) -> None:
        send_in_batches(batch, self._call, overhead=entry_bytes)

    def _call(self, part: list[Entry]) -> list[Outcome]:
        entries = [{"Time": parse_time(entry.envelope["time"]), "Source": SOURCE,
                    "DetailType": detail_type(entry.envelope), "Detail": entry.body.decode(),
                    "Resources": resources(entry.envelope), "EventBusName": self.settings.event_bus_name}
                   for entry in part]
        response = self.client.put_events(Entries=entries)
        answers = response.get("Entries", [])
        outcomes = []
        for n, entry in enumerate(part):
            answer = answers[n] if n < len(answers) else {"ErrorCode": "NoAnswer"}
            code = answer.get("ErrorCode") or ""
            error = f"{code} {answer.get('ErrorMessage', '')}".strip() if code else ""
            outcomes.append(Outcome(entry.key, error, code in PERMANENT))
        return outcomes

    def close(self) -> None:
        self.client.close()
