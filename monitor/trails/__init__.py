"""Organization trails: CloudTrail log files that S3 notifications name, fetched and recorded a record at a time
(``fetch``), and the ``monitor backfill`` of a trail bucket's history (``monitor.cli.backfill``)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from monitor.inputs.base import Input, Sink
from monitor.trails.fetch import TrailFiles

log = logging.getLogger(__name__)


class TrailFilesInput:
    """An input whose batches pass through ``TrailFiles`` on their way to the sink (``cloudtrail_files: true``)."""

    def __init__(self, source: Input, s3: Any) -> None:
        self.source, self.s3 = source, s3
        self.name = source.name

    def run(self, sink: Sink, stop: threading.Event, once: bool) -> None:
        trail = TrailFiles(sink, self.s3)
        try:
            self.source.run(trail, stop, once)
        finally:
            counts = trail.reader.counts
            log.info("%s: %d trail log files read (%d records), %d digest or Insights files skipped, %d dead letters "
                     "of files or records past a limit", self.name, counts.files, counts.records, counts.skipped,
                     counts.dead, extra={"input": self.name})


def s3_client(region: str | None, endpoint_url: str | None) -> Any:
    import boto3

    return boto3.client("s3", region_name=region, endpoint_url=endpoint_url)


__all__ = ["TrailFiles", "TrailFilesInput", "s3_client"]
