"""The plugin registries: names, hints, and plugins registered by a module imported on first use."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import monitor.engine.detectors
from monitor.engine.detectors import DetectorSettings, detectors
from monitor.registry import Registry, UnknownPlugin


def test_an_unknown_name_is_refused_with_the_closest_known_one() -> None:
    registry: Registry[int] = Registry("widget")
    registry.register("sprocket")(1)
    with pytest.raises(UnknownPlugin, match=r"unknown widget 'sprockt' \(did you mean 'sprocket'\?\); known: sprocket"):
        registry.get("sprockt")


def test_a_name_registered_twice_is_refused() -> None:
    registry: Registry[int] = Registry("widget")
    registry.register("a")(1)
    with pytest.raises(ValueError, match="registered twice"):
        registry.register("a")(2)


def test_a_plugin_named_with_its_module_is_known_before_the_import_and_there_after_it() -> None:
    # monitor.registry itself is the module here: importing it registers nothing, which is refused
    registry: Registry[int] = Registry("widget", modules={"gear": "monitor.registry"})
    assert "gear" in registry and registry.names() == ["gear"]
    with pytest.raises(RuntimeError, match=r"monitor\.registry does not register the widget gear"):
        registry.get("gear")


def test_each_detector_module_registers_exactly_the_detectors_the_registry_names_for_it() -> None:
    package = monitor.engine.detectors
    modules = {f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)}
    declared = detectors.modules()
    assert set(declared.values()) <= modules
    for name, module in declared.items():
        plugin = detectors.get(name)
        assert plugin.__module__ == module, name
        assert issubclass(plugin.settings_model, DetectorSettings)
        assert plugin.settings_model.model_fields["type"].annotation.__args__ == (name,)  # type: ignore[union-attr]
    assert sorted(name for name, _ in detectors.items()) == sorted(declared)  # none registers an undeclared one


def test_loading_a_rule_imports_only_the_detectors_it_uses() -> None:
    code = ("import sys\n"
            "from monitor.engine.loader import check_rules\n"
            "from monitor.engine.detectors import detector_settings\n"
            "detector_settings({'type': 'threshold'})\n"
            "print(*sorted(m.rsplit('.', 1)[1] for m in sys.modules if m.startswith('monitor.engine.detectors.')))\n")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert found == ["base", "common", "windows"]


def test_each_input_type_names_its_settings_model_and_has_a_builder() -> None:
    from monitor.inputs import BUILDERS, SETTINGS, settings_model

    assert set(BUILDERS) == set(SETTINGS)
    for input_type in SETTINGS:
        model = settings_model(input_type)
        assert model.model_fields["type"].default == input_type


def test_each_adapter_module_registers_exactly_the_adapters_the_registry_names_for_it() -> None:
    from monitor.adapters import adapters

    declared = adapters.modules()
    assert [name for name, _ in adapters.items()] == list(declared)  # the order payloads are tried in
    for name, module in declared.items():
        assert adapters.get(name).adapt.__module__ == module, name


def test_a_walk_in_order_takes_the_named_plugins_as_named_importing_each_module_only_when_it_gets_there() -> None:
    registry: Registry[int] = Registry("widget", modules={"json": "json", "gear": "monitor.registry"})
    registry.register("extra")(0)  # a plugin no module is named for: after the named ones
    registry.register("json")(1)  # as the module would, already imported
    walk = registry.in_order()
    assert next(walk) == ("json", 1)
    with pytest.raises(RuntimeError, match=r"monitor\.registry does not register the widget gear"):
        next(walk)  # only now is the second module imported (and found wanting)
    registry.register("gear")(2)
    assert list(registry.in_order()) == [("json", 1), ("gear", 2), ("extra", 0)]


SAMPLES = Path(__file__).parent / "events"


def test_reading_an_s3_notification_imports_no_other_providers_adapters_and_a_gcp_entry_still_reads_after() -> None:
    code = ("import json, sys\n"
            "from monitor.adapters import normalize\n"
            f"events = normalize(json.load(open('{SAMPLES}/aws/lambda_s3_put_v2.0_samcli.json')))\n"
            "print(len(events), *sorted(m for m in sys.modules if m.startswith('monitor.adapters.')))\n"
            f"events = normalize(json.load(open('{SAMPLES}/gcp/auditlog_storage_buckets_create_2018.json')))\n"
            "print(len(events), events[0].provider, 'monitor.adapters.gcp_audit' in sys.modules)\n")
    first, second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                   check=True).stdout.splitlines()
    count, *loaded = first.split()
    assert int(count) >= 1
    assert not [m for m in loaded if m.split(".")[2].startswith(("gcp", "gcs", "cloudtrail", "ec2", "dynamodb",
                                                                  "awsconfig"))], loaded
    assert second.split()[1:] == ["gcp", "True"] and int(second.split()[0]) >= 1
