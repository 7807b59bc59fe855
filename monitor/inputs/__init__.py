"""Where payloads come from. Each input owns its settings model and hands batches of messages to a sink,
acknowledging them after; a cloud SDK is imported only when an input that needs it is built.

``SETTINGS`` names each input type's settings model; ``InputSettings``, the union a config's ``inputs:`` entries
are checked against, imports them when first asked for (a function, whose trigger is its input, never does).
"""

from __future__ import annotations

import functools
import importlib
import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, cast

from pydantic import BaseModel, Field

from monitor.inputs.base import Input, Message, Sink
from monitor.store.base import Store

if TYPE_CHECKING:
    from monitor.config import Config

SETTINGS = {  # input type -> "module:settings model"
    "file": "monitor.inputs.files:FileInput",
    "aws.sqs": "monitor.inputs.sqs:SqsInput",
    "aws.dynamodb_stream": "monitor.inputs.dynamodb_streams:DynamoDbStreamInput",
    "gcp.pubsub": "monitor.inputs.pubsub:PubSubInput",
    "http": "monitor.inputs.http:HttpInput",
    "inventory": "monitor.inventory.settings:InventoryInput",
}


def settings_model(input_type: str) -> type[BaseModel]:
    module, _, name = SETTINGS[input_type].partition(":")
    model: type[BaseModel] = getattr(importlib.import_module(module), name)
    return model


def __getattr__(name: str) -> Any:
    if name == "InputSettings":  # built once, on first use
        models: Any = functools.reduce(operator.or_, (settings_model(input_type) for input_type in SETTINGS))
        union = cast(Any, Annotated)[models, Field(discriminator="type")]
        globals()["InputSettings"] = union
        return union
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _file(settings: Any, config: Config, store: Store) -> Input:
    from monitor.inputs.files import FileSource

    return FileSource(config.resolve(settings.path))


def _sqs(settings: Any, config: Config, store: Store) -> Input:
    from monitor.inputs.sqs import SqsSource

    if settings.cloudtrail_files:
        from monitor.trails import TrailFilesInput, s3_client

        s3 = s3_client(settings.s3_region or settings.region, settings.s3_endpoint_url)
        return TrailFilesInput(SqsSource(settings), s3)
    return SqsSource(settings)


def _dynamodb_stream(settings: Any, config: Config, store: Store) -> Input:
    from monitor.inputs.dynamodb_streams import DynamoDbStreamSource

    return DynamoDbStreamSource(settings, store)


def _pubsub(settings: Any, config: Config, store: Store) -> Input:
    from monitor.inputs.pubsub import PubSubSource

    return PubSubSource(settings)


def _http(settings: Any, config: Config, store: Store) -> Input:
    from monitor.inputs.http import HttpSource

    return HttpSource(settings)


def _inventory(settings: Any, config: Config, store: Store) -> Input:
    from monitor.inventory.source import InventorySource

    return InventorySource(settings, store)


BUILDERS: dict[str, Callable[[Any, Config, Store], Input]] = {  # input type -> its builder
    "file": _file, "aws.sqs": _sqs, "aws.dynamodb_stream": _dynamodb_stream, "gcp.pubsub": _pubsub, "http": _http,
    "inventory": _inventory,
}


def build_input(settings: BaseModel, config: Config, store: Store) -> Input:
    """The input for one configured entry."""
    try:
        build = BUILDERS[getattr(settings, "type", "")]
    except KeyError:
        raise TypeError(f"no input for {type(settings).__name__}") from None
    return build(settings, config, store)


__all__ = ["BUILDERS", "SETTINGS", "Input", "InputSettings", "Message", "Sink", "build_input", "settings_model"]
