"""Destinations: named groups of Apprise URLs, given inline, in an environment variable or in a file.

The URLs hold secrets (webhook tokens, SMTP passwords): they are read when a message is sent, never
printed. ``describe()`` shows them the way Apprise masks them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, model_validator

from monitor.yamlfiles.models import Closed

Format = Literal["text", "markdown", "html"]
FORMATS: tuple[Format, ...] = ("text", "markdown", "html")

# The body format a URL gets when its destination does not set one: mail clients show HTML, chats Markdown.
SCHEME_FORMATS: dict[str, Format] = {"mailto": "html", "mailtos": "html"}
DEFAULT_FORMAT: Format = "markdown"

# Spaces and newlines separate URLs; a comma only when another URL follows it, because Apprise URLs
# use commas inside their query strings (``mailto://...?to=a@x.com,b@x.com``).
_SEPARATOR = re.compile(r"\s+|,\s*(?=[A-Za-z][A-Za-z0-9+.-]*://)")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


class DestinationError(ValueError):
    """The URLs of a destination cannot be read (unset variable, missing file, nothing in it)."""


class Destination(Closed):
    urls: list[str] | None = Field(default=None, description="Apprise URLs, e.g. slack://..., mailto://...")
    urls_env: str | None = Field(
        default=None, description="an environment variable holding Apprise URLs, separated by spaces or commas")
    urls_file: str | None = Field(default=None, description="a file with one Apprise URL per line; # comments")
    config: str | None = Field(default=None, description="an Apprise configuration file (text or YAML)")
    format: Format | None = Field(
        default=None, description="body format; default html for mailto:// and mailtos://, markdown otherwise")
    template: str | None = Field(default=None, description="template name in the templates folder (default: default)")

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        given = [name for name in ("urls", "urls_env", "urls_file") if getattr(self, name) is not None]
        if len(given) > 1:
            raise ValueError(f"give only one of urls, urls_env or urls_file, not {' and '.join(given)}")
        if not given and self.config is None:
            raise ValueError("give one of urls, urls_env or urls_file (or an Apprise config file in config)")
        if self.urls is not None and not [u for u in self.urls if u.strip()]:
            raise ValueError("urls is empty")
        return self

    def resolved_urls(self, base_dir: str | Path = ".", environ: Mapping[str, str] | None = None) -> list[str]:
        """The URLs to send to, read now; relative ``urls_file`` paths are taken from ``base_dir``."""
        if self.urls is not None:
            return [u.strip() for u in self.urls if u.strip()]
        if self.urls_env is not None:
            return _from_env(self.urls_env, os.environ if environ is None else environ)
        if self.urls_file is not None:
            return _from_file(Path(base_dir) / self.urls_file)
        return []

    def config_path(self, base_dir: str | Path = ".") -> Path | None:
        return None if self.config is None else Path(base_dir) / self.config

    def format_for(self, url: str) -> Format:
        """The body format for one URL: the destination's own, else the one its scheme calls for."""
        if self.format is not None:
            return self.format
        found = _SCHEME.match(url)
        return SCHEME_FORMATS.get(found.group(1).lower(), DEFAULT_FORMAT) if found else DEFAULT_FORMAT

    def describe(self, base_dir: str | Path = ".", environ: Mapping[str, str] | None = None) -> list[str]:
        """The URLs with their secrets masked by Apprise, safe to print or log."""
        from monitor.notify.apprise_send import describe_urls

        return describe_urls(self, base_dir, environ)

    def source(self) -> str:
        """Where the URLs come from, without reading them: for messages that must not leak them."""
        if self.urls_env is not None:
            return f"environment variable {self.urls_env}"
        if self.urls_file is not None:
            return f"file {self.urls_file}"
        if self.urls is not None:
            return f"{len(self.urls)} URL(s) in the config"
        return f"Apprise config {self.config}"


def split_urls(text: str) -> list[str]:
    return [part for part in _SEPARATOR.split(text) if part]


def _from_env(name: str, environ: Mapping[str, str]) -> list[str]:
    if name not in environ:
        raise DestinationError(f"environment variable {name} is not set")
    urls = split_urls(environ[name])
    if not urls:
        raise DestinationError(f"environment variable {name} holds no URL")
    return urls


def _from_file(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DestinationError(f"cannot read {path}: {exc.strerror or exc}") from None
    urls = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not urls:
        raise DestinationError(f"{path} holds no URL")
    return urls
