"""Where normalized events go besides alerts: each output forwards the event log, as CloudEvents 1.0, to one
consumer (an HTTP webhook, SNS, SQS, EventBridge, Pub/Sub). Each owns its settings model; a cloud SDK is
imported only when an output that needs it is built (``monitor.outputs.forwarder`` runs them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field

from monitor.outputs.base import CloudEvent, Output, OutputBase, OutputFailure, PermanentFailure, RetryableFailure
from monitor.outputs.eventbridge import EventBridgeOutput
from monitor.outputs.http import HttpOutput
from monitor.outputs.pubsub import PubSubOutput
from monitor.outputs.sns import SnsOutput
from monitor.outputs.sqs import SqsOutput

OutputSettings = Annotated[
    HttpOutput | SnsOutput | SqsOutput | EventBridgeOutput | PubSubOutput, Field(discriminator="type")
]


def _unique_names(outputs: list[Any]) -> list[Any]:
    names = [output.name for output in outputs]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"output names must be unique: {', '.join(twice)} named more than once")
    return outputs


Outputs = Annotated[list[OutputSettings], AfterValidator(_unique_names)]


def _http(settings: Any) -> Output:
    from monitor.outputs.http import HttpSender

    return HttpSender(settings)


def _sns(settings: Any) -> Output:
    from monitor.outputs.sns import SnsSender

    return SnsSender(settings)


def _sqs(settings: Any) -> Output:
    from monitor.outputs.sqs import SqsSender

    return SqsSender(settings)


def _eventbridge(settings: Any) -> Output:
    from monitor.outputs.eventbridge import EventBridgeSender

    return EventBridgeSender(settings)


def _pubsub(settings: Any) -> Output:
    from monitor.outputs.pubsub import PubSubSender

    return PubSubSender(settings)


BUILDERS: dict[type[BaseModel], Callable[[Any], Output]] = {
    HttpOutput: _http, SnsOutput: _sns, SqsOutput: _sqs, EventBridgeOutput: _eventbridge, PubSubOutput: _pubsub,
}


def build_output(settings: BaseModel) -> Output:
    """The sender for one configured output."""
    try:
        builder = BUILDERS[type(settings)]
    except KeyError:
        raise TypeError(f"no output for {type(settings).__name__}") from None
    return builder(settings)


__all__ = ["BUILDERS", "CloudEvent", "Output", "OutputBase", "OutputFailure", "OutputSettings", "Outputs",
           "PermanentFailure", "RetryableFailure", "build_output"]
