"""A config in a bucket (``s3://`` or ``gs://BUCKET/PREFIX/monitor.yaml``): the file and every object beside it
under its prefix (rule files, templates) are copied into a local folder, so relative paths in it still work.
Each cloud's module gives the listing and the download; the copying and its checks are here."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

MAX_OBJECTS = 2000
ListNames = Callable[[str, str], Iterable[str]]  # (bucket, prefix) -> object names
Download = Callable[[str, str, Path], None]  # (bucket, name, local path)


def copy_config(url: str, scheme: str, names: ListNames, download: Download, folder: str | None = None) -> str:
    """The local path of the config ``url`` names, once it and its prefix's objects are downloaded."""
    bucket, _, key = url.removeprefix(f"{scheme}://").partition("/")
    if not bucket or not key or key.endswith("/"):
        raise ValueError(f"{url!r} does not name a file: expected {scheme}://BUCKET/[PREFIX/]monitor.yaml")
    prefix = str(PurePosixPath(key).parent).removeprefix(".")
    prefix = f"{prefix}/" if prefix else ""
    root = Path(folder or tempfile.mkdtemp(prefix="monitor-config-")).resolve()
    count = 0
    for name in names(bucket, prefix):
        target = (root / name[len(prefix):]).resolve()
        if name.endswith("/") or not target.is_relative_to(root) or target == root:
            continue  # a folder marker, or a name like ../x that would land outside the folder
        count += 1
        if count > MAX_OBJECTS:
            raise ValueError(f"more than {MAX_OBJECTS} objects under {scheme}://{bucket}/{prefix}")
        target.parent.mkdir(parents=True, exist_ok=True)
        download(bucket, name, target)
    path = root / key[len(prefix):]
    if not path.is_file():
        raise FileNotFoundError(f"{url} not found")
    return str(path)
