"""Stateful detectors: complex event processing over the events that pass a rule's ``match``.

Each detector registers itself by name with its settings model; the registry (``base.detectors``) names the
module of each and imports it when a rule first uses that type, so a process loads only the detectors it runs.
"""

from __future__ import annotations

from monitor.engine.detectors.base import Detector, DetectorSettings, detector_settings, detectors

__all__ = ["Detector", "DetectorSettings", "detector_settings", "detectors"]
