"""Stateful detectors: complex event processing over the events that pass a rule's ``match``.

Each detector registers itself by name with its settings model; importing this package registers them all.
"""

from __future__ import annotations

from monitor.engine.detectors.base import Detector, DetectorSettings, detector_settings, detectors

# isort: off
from monitor.engine.detectors import rates, windows  # noqa: F401  (threshold, cardinality, spike, anomaly)
# isort: on
from monitor.engine.detectors import absence, sequence, values  # noqa: F401  (new_value, change, sequence, absence)

__all__ = ["Detector", "DetectorSettings", "detector_settings", "detectors"]
