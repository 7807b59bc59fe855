"""The page's HTTP server (stdlib ``ThreadingHTTPServer``): the token, the same-origin check, security headers.

- Without a token (only allowed on the loopback) a request must name a loopback host (``Host: 127.0.0.1:8080``),
  so a page of another site cannot reach it through DNS rebinding.
- With a token every request carries it: ``Authorization: Bearer TOKEN``, or the cookie that ``/?token=TOKEN``
  sets (a digest of the token; HttpOnly, SameSite=Strict) before redirecting to the same page without it.
- A POST must come from a page of this server (its ``Origin``, or else ``Referer``, is this host) and carry the
  form's CSRF token; its body is a form of at most ``MAX_FORM_BYTES``.
- The query string and the Authorization header never reach the log.
"""

from __future__ import annotations

import hmac
import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from monitor.ui.settings import UiError, is_loopback, parse_listen, resolve_token

if TYPE_CHECKING:
    from monitor.config import Config
    from monitor.store.base import Store
    from monitor.ui.app import Response, UiApp

log = logging.getLogger(__name__)
COOKIE = "monitor_ui_token"
MAX_FORM_BYTES = 64 * 1024
MAX_FIELDS = 50
SECURITY_HEADERS = (
    ("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
)


class UiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: UiApp, token: str | None) -> None:
        self.app = app
        self.token = token
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://[{name}]:{port}/" if ":" in name else f"http://{name}:{port}/"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2}, name="ui",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: UiServer
    server_version = "cloud-monitor-ui"
    sys_version = ""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def log_message(self, format: str, *args: Any) -> None:
        """The request line holds the query string, where ``?token=`` travels: only the path is logged."""
        path = urlsplit(self.path).path
        log.debug("%s %s %s", self.address_string(), self.command, path)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("%s %s %s -> %s", self.address_string(), self.command, urlsplit(self.path).path, code)

    def _serve(self, method: str) -> None:
        from monitor.ui.app import Request

        split = urlsplit(self.path)
        try:
            query = parse_qs(split.query, keep_blank_values=True, max_num_fields=MAX_FIELDS)
        except ValueError:
            self._plain(400, "too many query fields")
            return
        if not self._authorized(split.path, query):
            return
        form: dict[str, list[str]] = {}
        if method == "POST":
            if not self._same_origin():
                self._plain(403, "a change must come from a page of this server")
                return
            parsed = self._form()
            if parsed is None:
                return
            form = parsed
        self._send(self.server.app.handle(Request(method, split.path, query, form)))

    def _authorized(self, path: str, query: dict[str, list[str]]) -> bool:
        token = self.server.token
        if token is None:
            host = _host_name(self.headers.get("Host", ""))
            if not is_loopback(host):
                self._plain(403, "this page answers only to a loopback host name")
                return False
            return True
        given = query.pop("token", None)
        if given is not None:
            if not _equal(given[0], token):
                self._plain(401, "wrong token")
                return False
            rest = urlencode(query, doseq=True)
            self._redirect_with_cookie(path + (f"?{rest}" if rest else ""), token)
            return False
        if _equal(self._bearer() or "", token) or _equal(self._cookie() or "", cookie_value(token)):
            return True
        self._plain(401, "a token is required: open /?token=TOKEN, or send Authorization: Bearer TOKEN")
        return False

    def _bearer(self) -> str | None:
        scheme, _, value = self.headers.get("Authorization", "").partition(" ")
        return value.strip() if scheme.lower() == "bearer" else None

    def _cookie(self) -> str | None:
        try:
            morsel = SimpleCookie(self.headers.get("Cookie", "")).get(COOKIE)
        except CookieError:
            return None
        return morsel.value if morsel else None

    def _same_origin(self) -> bool:
        origin = self.headers.get("Origin") or self.headers.get("Referer") or ""
        split = urlsplit(origin)
        host = self.headers.get("Host", "")
        return bool(host) and split.scheme in ("http", "https") and split.netloc == host

    def _form(self) -> dict[str, list[str]] | None:
        if self.headers.get_content_type() != "application/x-www-form-urlencoded":
            self._plain(415, "a form is expected (application/x-www-form-urlencoded)")
            return None
        length = self.headers.get("Content-Length", "")
        if not length.isdigit() or int(length) > MAX_FORM_BYTES:
            self._plain(413, f"a form of at most {MAX_FORM_BYTES} bytes is expected")
            return None
        body = self.rfile.read(int(length))
        try:
            return parse_qs(body.decode(), keep_blank_values=True, max_num_fields=MAX_FIELDS)
        except (UnicodeDecodeError, ValueError):
            self._plain(400, "the form cannot be read")
            return None

    def _redirect_with_cookie(self, location: str, token: str) -> None:
        from monitor.ui.app import Response

        cookie = f"{COOKIE}={cookie_value(token)}; Path=/; HttpOnly; SameSite=Strict"
        self._send(Response(303, headers=(("Location", location), ("Set-Cookie", cookie))))

    def _plain(self, status: int, message: str) -> None:
        from monitor.ui.app import Response

        self._send(Response(status, (message + "\n").encode(), "text/plain; charset=utf-8"))

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in (*SECURITY_HEADERS, *response.headers):
            self.send_header(name, value)
        if not any(name == "Cache-Control" for name, _ in response.headers):
            self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)


def _host_name(host: str) -> str:
    """``127.0.0.1:8080`` -> ``127.0.0.1``; ``[::1]:8080`` -> ``::1``."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def cookie_value(token: str) -> str:
    """What the cookie holds: a digest of the token (cookie-safe characters, and not the token itself)."""
    return hmac.new(token.encode(), b"monitor-ui-cookie", "sha256").hexdigest()


def _equal(given: str, token: str) -> bool:
    return hmac.compare_digest(given.encode(), token.encode())


def build_app(config: Config, store: Store) -> UiApp:
    """The routes over ``store``, with the config's rules (a rule error is shown on the page, not raised)."""
    from monitor.engine.loader import RuleErrors, load_rules
    from monitor.ui.app import UiApp

    try:
        rules, error = load_rules([config.resolve(path) for path in config.rules]), ""
    except RuleErrors as exc:
        rules, error = [], str(exc)
    return UiApp(store, rules, list(config.inputs), rule_error=error)


def start_ui(config: Config, store: Store, listen: str, token_env: str,
             environ: dict[str, str] | None = None) -> UiServer:
    """Listen and serve on a thread; raises UiError when the address needs a token or cannot be bound."""
    try:
        host, port = parse_listen(listen)
    except ValueError as exc:
        raise UiError(str(exc)) from None
    token = resolve_token(host, token_env, environ)
    try:
        server = UiServer((host, port), build_app(config, store), token)
    except OSError as exc:
        raise UiError(f"cannot listen on {listen}: {exc.strerror or exc}") from None
    server.start()
    log.info("the web page is on %s%s", server.url, f" (token from ${token_env})" if token else "")
    return server


@contextmanager
def serving(config: Config, store: Store, once: bool) -> Iterator[UiServer | None]:
    """The daemon serves the page while it runs when ``ui: {enabled: true}`` (not with ``--once``)."""
    if once or not config.ui.enabled:
        yield None
        return
    server = start_ui(config, store, config.ui.listen, config.ui.token_env)
    try:
        yield server
    finally:
        server.stop()
