"""The HTTP endpoint: prometheus_client's WSGI app on ``/metrics``, and ``/healthz`` and ``/readyz`` answering 200
or 503 with a JSON body naming each check, served on a thread of its own while the daemon runs."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import orjson
from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

from monitor.observe.health import Check, Health
from monitor.observe.settings import parse_listen

log = logging.getLogger(__name__)
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def health_body(checks: dict[str, Check]) -> tuple[str, bytes]:
    ok = all(found["ok"] for found in checks.values())
    body = orjson.dumps({"status": "ok" if ok else "failing", "checks": checks}, option=orjson.OPT_SORT_KEYS)
    return ("200 OK" if ok else "503 Service Unavailable"), body


def endpoint_app(registry: CollectorRegistry, health: Health) -> WsgiApp:
    metrics = make_wsgi_app(registry)
    probes = {"/healthz": health.liveness, "/readyz": health.readiness}

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path in probes:
            status, body = health_body(probes[path]())
            start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        if path in ("/metrics", "/"):
            return metrics(environ, start_response)  # type: ignore[no-any-return]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"/metrics, /healthz or /readyz\n"]

    return app


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("metrics endpoint: " + format, *args)


class _Server(ThreadingWSGIServer):
    allow_reuse_address = True


class _Server6(_Server):
    address_family = socket.AF_INET6


@contextmanager
def serving(listen: str, registry: CollectorRegistry, health: Health) -> Iterator[tuple[str, int]]:
    """Serve while in the block; yields the address bound (a port 0 becomes the one taken)."""
    host, port = parse_listen(listen)
    server = make_server(host, port, endpoint_app(registry, health), _Server6 if ":" in host else _Server, _Quiet)
    address = (host, int(server.server_address[1]))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="metrics",
                              daemon=True)
    thread.start()
    log.info("metrics on http://%s:%d/metrics, health on /healthz and /readyz", *address)
    try:
        yield address
    finally:
        server.shutdown()
        server.server_close()
