"""The plugin registries: names, hints, and plugins registered by a module imported on first use."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

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
