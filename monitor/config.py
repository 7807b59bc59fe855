"""The YAML configuration: models, ``${env:NAME}`` substitution, and errors that point at the file."""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import Annotated, Any, cast

from pydantic import AfterValidator, BaseModel, Field, ValidationError, create_model

from monitor.config_secrets import substitute_secrets
from monitor.notify.destinations import Destination
from monitor.notify.settings import DeliverySettings, InhibitRule, Route
from monitor.observe.settings import MetricsSettings
from monitor.ui.settings import UiSettings
from monitor.yamlfiles.errors import errors_from_validation
from monitor.yamlfiles.models import Closed
from monitor.yamlfiles.source import Location, Path_, SourceError, YamlDocument, YamlErrors, load_yaml_file

DEFAULT_CONFIG = "monitor.yaml"
DEFAULT_STATE = "sqlite:///.monitor/monitor.db"
_ENV_REFERENCE = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _settings_model(value: Any) -> Any:
    if not isinstance(value, BaseModel):
        raise ValueError("an input's or output's settings are checked by monitor.config.checked_model() "
                         "(read_config uses it), not by Config alone")
    return value


Settings = Annotated[Any, AfterValidator(_settings_model)]  # an input's or output's settings model, as built


class Config(Closed):
    state: str = DEFAULT_STATE
    rules: list[str] = []
    templates: str | None = None
    # Checked against the inputs and outputs there are by ``checked_model`` (which imports them): see below
    inputs: list[Settings] = []  # where payloads come from (monitor.inputs)
    outputs: list[Settings] = []  # forwarders of the event log to other consumers (monitor.outputs)
    destinations: dict[str, Destination] = {}
    routes: Route | None = None
    inhibit_rules: list[InhibitRule] = []
    delivery: DeliverySettings = DeliverySettings()
    state_cache_keys: int = Field(default=100_000, ge=1_000, description="detector documents kept in memory after each "
                                  "batch (least recently used go; they are read back from the state when needed)")
    metrics: MetricsSettings | None = None  # the metrics and health endpoint; off when absent
    ui: UiSettings = UiSettings()
    base_dir: str = Field(default=".", exclude=True, description="folder relative paths are read from (the config's)")

    def resolve(self, path: str) -> str:
        """A path from the config, taken relative to the config file's folder."""
        if path == "-" or os.path.isabs(path):
            return path
        return os.path.normpath(os.path.join(self.base_dir, path))

    def state_url(self) -> str:
        """``state`` with a relative SQLite path taken from the config file's folder."""
        scheme, _, rest = self.state.partition(":///")
        if scheme == "sqlite" and rest and not rest.startswith("/"):
            return f"sqlite:///{self.resolve(rest)}"
        return self.state


@functools.cache
def checked_model() -> type[Config]:
    """Config with ``inputs`` and ``outputs`` checked against the inputs and outputs there are.

    Their settings models (every input and output module) are imported here, not with this module: a function,
    whose trigger is its input, reads the same file without them (``read_config(..., plugins=False)``)."""
    from monitor.inputs import InputSettings
    from monitor.outputs import Outputs

    return cast(type[Config], create_model("Config", __base__=Config, inputs=(list[InputSettings], []),
                                           outputs=(Outputs, [])))


class ConfigError(YamlErrors):
    def __init__(self, errors: list[SourceError], document: YamlDocument | None = None) -> None:
        super().__init__(errors)
        self.document = document  # the file as read, when it was valid YAML, for what else it names


def substitute_env(doc: YamlDocument, environ: dict[str, str] | os._Environ[str]) -> list[SourceError]:
    """Replace ``${env:NAME}`` (or ``${env:NAME:-default}``) in string values, in place; then secret store
    references, ``${ssm:/NAME}`` and ``${secret:NAME}`` (``monitor.config_secrets``)."""
    errors: list[SourceError] = []

    def replace(value: Any, path: Path_) -> Any:
        if isinstance(value, dict):
            return {k: replace(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [replace(v, (*path, i)) for i, v in enumerate(value)]
        if not isinstance(value, str) or "${" not in value:
            return value

        def lookup(found: re.Match[str]) -> str:
            name, default = found.group(1), found.group(2)
            if name in environ:
                return environ[name]
            if default is not None:
                return default
            errors.append(SourceError(doc.locate(path), f"environment variable {name} is not set"))
            return ""

        substituted = _ENV_REFERENCE.sub(lookup, value)
        substituted = substitute_secrets(substituted, lambda why: errors.append(SourceError(doc.locate(path), why)))
        if substituted != value:
            doc.substituted[path] = (value, substituted)
        return substituted

    doc.data = replace(doc.data, ())
    return errors


def load_config(path: str | Path | None = None, environ: dict[str, str] | None = None, *,
                plugins: bool = True) -> Config:
    """Read the config file; without one (and no explicit path), the embedded defaults."""
    return read_config(path, environ, plugins=plugins)[0]


def read_config(
    path: str | Path | None = None, environ: dict[str, str] | None = None, *, plugins: bool = True
) -> tuple[Config, YamlDocument | None]:
    """The config and the document it was read from (None for the embedded defaults), for located checks.

    With ``plugins=False``, ``inputs`` and ``outputs`` are left out, unchecked (a function's config)."""
    if path is None:
        if not Path(DEFAULT_CONFIG).exists():
            return Config(), None
        path = DEFAULT_CONFIG
    try:
        doc = load_yaml_file(path)
    except FileNotFoundError:
        raise ConfigError([SourceError(Location(str(path), 1, 1), "config file not found")]) from None
    except OSError as exc:
        raise ConfigError([SourceError(Location(str(path), 1, 1), f"cannot read the config: {exc.strerror}")]) from None
    except YamlErrors as exc:
        raise ConfigError(exc.errors) from None
    errors = substitute_env(doc, os.environ if environ is None else environ)
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        errors.append(SourceError(doc.locate(()), "the config must be a mapping of keys to values"))
        raise ConfigError(errors, doc)
    try:
        model = checked_model() if plugins else Config
        if not plugins:  # a function's: its trigger is its input, and it runs no outputs
            data = {key: value for key, value in data.items() if key not in ("inputs", "outputs")}
        config = model.model_validate({**data, "base_dir": str(Path(path).parent)})
    except ValidationError as exc:
        unset = {error.location for error in errors}  # an unset variable's value is "": say so only once
        found = [e for e in errors_from_validation(exc, doc, model) if e.location not in unset]
        raise ConfigError(sorted(errors + found, key=lambda e: (e.location.line, e.location.col)), doc) from None
    if errors:
        raise ConfigError(errors, doc)
    return config, doc

