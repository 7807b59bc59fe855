"""The HTTP input's server: http.server's threaded server, each POST handed to the input's ``Endpoint``.
Apart from ``monitor.inputs.http`` so that loading the input's settings (every config does) leaves http.server
out: a function's cold start does not pay for it."""

from __future__ import annotations

import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from monitor.inputs.http import Endpoint, Request, without_query

log = logging.getLogger("monitor.inputs.http")  # the input's own log, as before


class Server(ThreadingHTTPServer):
    def __init__(self, address: tuple[str, int], endpoint: Endpoint, max_body: int) -> None:
        super().__init__(address, Handler)
        self.endpoint = endpoint
        self.max_body = max_body


class Handler(BaseHTTPRequestHandler):
    server: Server
    timeout = 30

    def do_POST(self) -> None:
        length = self.headers.get("Content-Length", "")
        if not length.isdigit():
            self.reply(411)
            return
        if int(length) > self.server.max_body:
            self.reply(413)
            return
        body = self.rfile.read(int(length))
        url = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.reply(self.server.endpoint.handle(Request(url.path, parse_qs(url.query), headers, body)))

    def reply(self, status: int) -> None:
        self.send_response(status)
        if status != 204:
            self.send_header("Content-Length", "0")
        self.end_headers()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """The method, the path without its query string, and the status (not the raw request line)."""
        path = urlsplit(getattr(self, "path", "")).path  # no path yet when the request line was unreadable
        log.debug("%s %s %s %s", self.address_string(), self.command or "-", path or "-", code)

    def log_message(self, format: str, *args: Any) -> None:
        """What http.server logs besides requests (malformed request lines, timeouts), the query string cut out."""
        log.debug("%s %s", self.address_string(), without_query(format % args))
