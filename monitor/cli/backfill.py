"""``monitor backfill s3://bucket/prefix``: a trail bucket's history read into the event log."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click
import orjson

if TYPE_CHECKING:
    from monitor.trails.fetch import TrailReader

log = logging.getLogger(__name__)
FETCH_ATTEMPTS = 3

HELP = """Read the CloudTrail log files under s3://BUCKET/PREFIX into the event log.

Lists the objects under the prefix (digest and Insights files are left out), keeps those whose date in the
key (and LastModified) falls in --since/--until, fetches each (three attempts) and records its records.
Event ids are the records' eventID: a second run records nothing new (a file it cannot read is a dead letter
again).

Like `monitor replay`, this sends nothing and evaluates no rule: run `monitor replay --since ...` over the
same range to see what the rules make of the history. A daemon on the same state reads the log from its
own position, so it takes backfilled events as it takes any late arrival: a rule without `detect` raises an
alert for each it matches, detectors leave out events more than 5 minutes behind the newest they saw.
Backfill into a state of its own (`--config` naming another `state:`) to keep history out of alerting.
"""


@dataclass
class Selection:
    skipped: int = 0  # log files outside --since/--until
    other: int = 0  # digest and Insights files, and objects that are no trail file


def parse_url(url: str) -> tuple[str, str]:
    if not url.startswith("s3://") or not url[5:].split("/", 1)[0]:
        raise click.BadParameter("expected s3://BUCKET/PREFIX", param_hint="URL")
    bucket, _, prefix = url[5:].partition("/")
    return bucket, prefix


def trail_files(s3: Any, bucket: str, prefix: str, *, since: datetime | None, until: datetime | None,
                selection: Selection) -> Iterator[str]:
    """The keys of the log files under ``prefix`` in the time range, page by page."""
    from monitor.trails.keys import trail_key

    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            parts = trail_key(item["Key"])
            if parts is None or not parts.is_log:
                selection.other += 1
            elif (since and ((parts.day and parts.day < since.date()) or item["LastModified"] < since)) or (
                    until and parts.day and parts.day > until.date()):
                selection.skipped += 1
            else:
                yield item["Key"]


def read_file(reader: TrailReader, bucket: str, key: str) -> None:
    """One file; a fetch that failed for a reason a retry may cure is tried again (1 s, then 2 s later)."""
    from monitor.trails.logfile import FetchFailed

    payload = orjson.dumps({"s3Bucket": bucket, "s3ObjectKey": [key]})  # as CloudTrail notifies it
    for attempt in range(1, FETCH_ATTEMPTS + 1):
        try:
            reader.read(bucket, key, "backfill", payload)
            return
        except FetchFailed as exc:
            if attempt == FETCH_ATTEMPTS:
                raise
            delay = 2 ** (attempt - 1)
            log.warning("%s; trying again in %ds", exc, delay)
            time.sleep(delay)


@click.command(help=HELP)
@click.argument("url")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="config file (its state: only)")
@click.option("--since", help="from (ISO time, or a duration back from now: 2h, 7d)")
@click.option("--until", help="up to (ISO time, or a duration back from now)")
@click.option("--region", help="the bucket's region (default: the SDK's)")
@click.option("--endpoint-url", help="a local S3 endpoint (moto, LocalStack)")
def backfill(url: str, *, config_path: str | None, since: str | None, until: str | None, region: str | None,
             endpoint_url: str | None) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    from monitor.adapters.base import describe
    from monitor.cli.common import parse_since, state_url
    from monitor.cli.progress import watching
    from monitor.intake.batches import Intake
    from monitor.store import open_store
    from monitor.trails import s3_client
    from monitor.trails.fetch import TrailReader
    from monitor.trails.logfile import FetchFailed

    bucket, prefix = parse_url(url)
    start, end = parse_since(since), parse_since(until)
    store = open_store(state_url(config_path))
    intake = Intake(store)
    s3 = s3_client(region, endpoint_url)
    reader, selection = TrailReader(intake, s3), Selection()

    def postfix() -> str:
        return f"{reader.counts.records} records, {intake.recorded} new"

    try:
        with watching("backfilled", " files", lambda: reader.counts.files, postfix, stdout_used=False):
            for key in trail_files(s3, bucket, prefix, since=start, until=end, selection=selection):
                read_file(reader, bucket, key)
    except FetchFailed as exc:
        raise click.ClickException(f"{exc} ({FETCH_ATTEMPTS} attempts); what was read is recorded, run again to "
                                   "go on") from None
    except (BotoCoreError, ClientError) as exc:  # listing the bucket
        raise click.ClickException(f"cannot list {url}: {describe(exc)}") from None
    finally:
        store.close()
        counts = reader.counts
        click.echo(f"backfilled {url}: {counts.files} files ({selection.skipped} outside the time range, "
                   f"{selection.other} other objects), {counts.records} records: {intake.recorded} new events, "
                   f"{intake.duplicates} duplicates, {intake.dead} dead letters")
