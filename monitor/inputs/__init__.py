"""Where payloads come from. Each input hands batches of messages to a sink and acknowledges them after."""

from __future__ import annotations

from monitor.config import Config, DynamoDbStreamInput, FileInput, HttpInput, PubSubInput, SqsInput
from monitor.inputs.base import Input, Message, Sink
from monitor.store.base import Store


def build_input(
    settings: FileInput | SqsInput | DynamoDbStreamInput | PubSubInput | HttpInput, config: Config, store: Store
) -> Input:
    """The input for one configured entry; SDK imports happen only for inputs actually configured."""
    if isinstance(settings, FileInput):
        from monitor.inputs.files import FileSource

        return FileSource(config.resolve(settings.path))
    if isinstance(settings, SqsInput):
        from monitor.inputs.sqs import SqsSource

        return SqsSource(settings)
    if isinstance(settings, DynamoDbStreamInput):
        from monitor.inputs.dynamodb_streams import DynamoDbStreamSource

        return DynamoDbStreamSource(settings, store)
    if isinstance(settings, PubSubInput):
        from monitor.inputs.pubsub import PubSubSource

        return PubSubSource(settings)
    if isinstance(settings, HttpInput):
        from monitor.inputs.http import HttpSource

        return HttpSource(settings, store)
    raise TypeError(f"no input for {type(settings).__name__}")


__all__ = ["Input", "Message", "Sink", "build_input"]
