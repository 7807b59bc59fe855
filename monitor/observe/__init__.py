"""Watching the daemon itself: the hooks its parts report through, Prometheus metrics, health checks and the
HTTP endpoint that serves them (``metrics:`` in the config)."""
