"""Where payloads come from. Each input owns its settings model and hands batches of messages to a sink,
acknowledging them after; a cloud SDK is imported only when an input that needs it is built."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, Field

from monitor.inputs.base import Input, Message, Sink
from monitor.inputs.dynamodb_streams import DynamoDbStreamInput
from monitor.inputs.files import FileInput
from monitor.inputs.http import HttpInput
from monitor.inputs.pubsub import PubSubInput
from monitor.inputs.sqs import SqsInput
from monitor.inventory.settings import InventoryInput
from monitor.store.base import Store

if TYPE_CHECKING:
    from monitor.config import Config

InputSettings = Annotated[
    FileInput | SqsInput | DynamoDbStreamInput | PubSubInput | HttpInput | InventoryInput,
    Field(discriminator="type"),
]


def _file(settings: Any, config: Config, store: Store) -> Input:
    from monitor.inputs.files import FileSource

    return FileSource(config.resolve(settings.path))


def _sqs(settings: Any, config: Config, store: Store) -> Input:
    from monitor.inputs.sqs import SqsSource

    if settings.cloudtrail_files:
        from monitor.trails import TrailFilesInput, s3_client

        s3 = s3_client(settings.s3_region or settings.region, settings.s3_endpoint_url)
        return TrailFilesInput(SqsSource(settings), s3, store)
    return SqsSource(settings)


def _dynamodb_stream(settings: Any, config: Config, store: Store) -> Input:
    from monitor.inputs.dynamodb_streams import DynamoDbStreamSource

    return DynamoDbStreamSource(settings, store)


def _pubsub(settings: Any, config: Config, store: Store) -> Input:
    from monitor.inputs.pubsub import PubSubSource

    return PubSubSource(settings)


def _http(settings: Any, config: Config, store: Store) -> Input:
    from monitor.inputs.http import HttpSource

    return HttpSource(settings, store)


def _inventory(settings: Any, config: Config, store: Store) -> Input:
    from monitor.inventory.source import InventorySource

    return InventorySource(settings, store)


BUILDERS: dict[type[BaseModel], Callable[[Any, Config, Store], Input]] = {
    FileInput: _file, SqsInput: _sqs, DynamoDbStreamInput: _dynamodb_stream, PubSubInput: _pubsub, HttpInput: _http,
    InventoryInput: _inventory,
}


def build_input(settings: BaseModel, config: Config, store: Store) -> Input:
    """The input for one configured entry."""
    try:
        return BUILDERS[type(settings)](settings, config, store)
    except KeyError:
        raise TypeError(f"no input for {type(settings).__name__}") from None


__all__ = ["BUILDERS", "Input", "InputSettings", "Message", "Sink", "build_input"]
