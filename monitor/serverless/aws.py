"""The AWS Lambda entry point: ``monitor.serverless.aws.handler``.

SQS and DynamoDB Streams batches answer with ``batchItemFailures`` (the event source mapping needs
``FunctionResponseTypes: [ReportBatchItemFailures]``): the records the store could not take, the first one
and every one after it, so they come again in order; a record that cannot be read is a dead letter and is not
reported. SNS, S3 and EventBridge invoke asynchronously: a store failure raises, and Lambda retries the
event (event ids are deduplicated, so what was recorded before is not counted twice). The EventBridge
schedule ("Scheduled Event" from ``aws.events``) is the clock: it calls ``Runtime.tick``.
"""

from __future__ import annotations

from typing import Any

from monitor.serverless.aws_events import read_invocation
from monitor.serverless.runtime import Runtime, runtime

REPORTING = ("sqs", "dynamodb")


class BatchNotRecorded(RuntimeError):
    """An asynchronous invocation whose records the store did not all take: Lambda retries it."""


def handler(event: Any, context: Any = None) -> dict[str, Any] | None:
    """The function's entry point: the instance's warm runtime handles the event."""
    return handle_event(event, runtime())


def handle_event(event: Any, warm: Runtime) -> dict[str, Any] | None:
    invocation = read_invocation(event)
    if invocation.kind == "tick":
        warm.tick()
        return None
    items = invocation.items
    done = warm.handle_in_order([item.message for item in items])
    left = items[done:]
    if invocation.kind in REPORTING:
        failed = [item.identifier for item in left if item.identifier is not None]
        return {"batchItemFailures": [{"itemIdentifier": identifier} for identifier in failed]}
    if left:
        raise BatchNotRecorded(f"{len(left)} of {len(items)} records were not recorded; the invocation is retried")
    return None
