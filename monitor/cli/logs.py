"""Log lines on stderr: a line a person reads, or one JSON object per line (``--log-format json``).

A JSON line holds ``time``, ``level``, ``logger`` and ``message``, then the structured fields a call site passes
with ``extra=`` (``input``, ``rule``, ``destination``, ``worker``, ...), and ``exception`` when there is a traceback.
The libraries' own chatter (APScheduler's every tick, botocore, urllib3, Google's clients, Apprise) is kept to
warnings and worse (APScheduler's to errors) unless ``verbose`` or the level is DEBUG.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from pythonjsonlogger.orjson import OrjsonFormatter

LIBRARIES = ("apscheduler", "botocore", "boto3", "s3transfer", "urllib3", "google", "grpc", "apprise")
# APScheduler's warnings say a tick was skipped or late while the one before ran long, which coalescing means to
# happen on a busy machine: kept to errors (a tick that raised); the health checks see a ticker that stopped.
QUIET = {"apscheduler": logging.ERROR}
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class JsonFormatter(OrjsonFormatter):
    """One object per record: time (UTC, ISO 8601), level, logger, message, the extra fields, the traceback."""

    def __init__(self) -> None:
        super().__init__("{levelname}{name}{message}", style="{", timestamp="time",
                         rename_fields={"levelname": "level", "name": "logger", "exc_info": "exception"})

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        fields: dict[str, Any] = {}
        super().add_fields(fields, record, message_dict)
        log_data["time"] = fields.pop("time")
        log_data["level"] = fields.pop("level").lower()
        log_data.update(fields)


def setup_logging(fmt: str = "text", level: str = "INFO", *, verbose: bool = False) -> None:
    """Every record to stderr in ``fmt`` from ``level`` up; the libraries from WARNING (or QUIET) unless asked."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT, "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    quiet = not verbose and root.level > logging.DEBUG
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(QUIET.get(name, logging.WARNING) if quiet else logging.NOTSET)
