"""Who may push: a shared secret in the URL or a header, and Google-signed OIDC tokens (Pub/Sub push, Eventarc)."""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Mapping
from typing import Any, cast

from pydantic import Field

from monitor.yamlfiles.models import Closed

SECRET_HEADER = "X-Monitor-Token"
GOOGLE_ISSUERS = frozenset({"accounts.google.com", "https://accounts.google.com"})
CERTS_TTL_SECONDS = 3600.0
REFETCH_AFTER_SECONDS = 60.0  # an unknown key may be a new one: fetch again, but not more often than this
CLOCK_SKEW_SECONDS = 10


class PushOidc(Closed):
    audience: str = Field(description="the audience the push subscription puts in its token")
    service_account: str | None = Field(default=None, description="the email the token must carry")
    certs_url: str = Field(default="https://www.googleapis.com/oauth2/v1/certs", description="the signing keys")


class Unauthorized(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class CertsUnavailable(Exception):
    """The signing keys could not be fetched: not the sender's fault, so worth a retry."""


def check_shared_secret(secret: str | None, query: Mapping[str, list[str]], headers: Mapping[str, str]) -> None:
    """``headers`` with lower-case names."""
    if secret is None:
        return
    offered = headers.get(SECRET_HEADER.lower()) or next(iter(query.get("token", [])), None)
    if offered is None:
        raise Unauthorized(401, f"no token= in the URL and no {SECRET_HEADER} header")
    if not hmac.compare_digest(offered.encode(), secret.encode()):
        raise Unauthorized(403, "wrong shared secret")


class CachingRequest:
    """A google-auth transport (a callable, which is all google-auth asks of one) that keeps the certificate
    document, which Google changes about once a day."""

    def __init__(self) -> None:
        from google.auth.transport.requests import Request

        self._request = Request()
        self._cache: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def __call__(self, url: str, method: str = "GET", body: Any = None, headers: Any = None,
                 timeout: float | None = None, **kwargs: Any) -> Any:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(url)
        if method == "GET" and cached is not None and now - cached[0] < CERTS_TTL_SECONDS:
            return cached[1]
        response = self._request(url, method=method, body=body, headers=headers, timeout=timeout or 10, **kwargs)
        if method == "GET" and response.status == 200:
            with self._lock:
                self._cache[url] = (now, response)
        return response

    def forget(self, url: str) -> bool:
        """Drop a copy older than REFETCH_AFTER_SECONDS; True if there was one."""
        with self._lock:
            cached = self._cache.get(url)
            if cached is None or time.monotonic() - cached[0] < REFETCH_AFTER_SECONDS:
                return False
            del self._cache[url]
            return True


class OidcVerifier:
    """``Authorization: Bearer <JWT>`` signed by a key at ``certs_url``, for our audience and service account."""

    def __init__(self, settings: PushOidc) -> None:
        self.settings = settings
        self.request = CachingRequest()

    def verify(self, authorization: str | None) -> Mapping[str, Any]:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized(401, "no Bearer token")
        claims = self._verified_claims(token.strip())
        if claims.get("iss") not in GOOGLE_ISSUERS:
            raise Unauthorized(403, f"token issued by {claims.get('iss')!r}, not Google")
        expected = self.settings.service_account
        if expected is not None and (claims.get("email") != expected or claims.get("email_verified") is not True):
            raise Unauthorized(403, f"token for {claims.get('email')!r}, expected {expected!r}")
        return claims

    def _verified_claims(self, token: str) -> Mapping[str, Any]:
        try:
            return self._decode(token)
        except ValueError as exc:
            if not self.request.forget(self.settings.certs_url):
                raise Unauthorized(403, f"invalid token: {exc}") from None
        try:
            return self._decode(token)
        except ValueError as exc:
            raise Unauthorized(403, f"invalid token: {exc}") from None

    def _decode(self, token: str) -> Mapping[str, Any]:
        from google.auth import exceptions  # Google's libraries only when OIDC is configured
        from google.oauth2 import id_token

        try:
            claims: Mapping[str, Any] = id_token.verify_token(
                token, cast(Any, self.request), audience=self.settings.audience, certs_url=self.settings.certs_url,
                clock_skew_in_seconds=CLOCK_SKEW_SECONDS,
            )
        except exceptions.TransportError as exc:
            raise CertsUnavailable(str(exc)) from exc
        return claims
