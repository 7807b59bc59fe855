"""cloud-monitor: watch cloud resources through their change notifications."""

__version__ = "0.1.0"
