"""Google Cloud's JSON APIs (Cloud Storage, Compute Engine) through google-auth's AuthorizedSession: Application
Default Credentials (read-only scope), or no credentials for a local ``endpoint_url``. A 429 or 5xx answer is
retried with urllib3's back-off, honouring Retry-After; lists are followed by ``nextPageToken``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from monitor.inventory.settings import InventoryInput

SCOPES = ["https://www.googleapis.com/auth/cloud-platform.read-only"]
BASES = {"storage": "https://storage.googleapis.com", "compute": "https://compute.googleapis.com"}
TIMEOUT_SECONDS = 60


class GcpApi:
    def __init__(self, session: Any, base: str) -> None:
        self.session, self.base = session, base.rstrip("/")

    def get(self, path: str, **params: Any) -> Any:
        response = self.session.get(self.base + path, params=params, timeout=TIMEOUT_SECONDS)
        response.raise_for_status()
        return response.json()

    def pages(self, path: str, **params: Any) -> Iterator[Any]:
        """Each page of a list call."""
        while True:
            page = self.get(path, **params)
            yield page
            token = page.get("nextPageToken")
            if not token:
                return
            params["pageToken"] = token


class GcpSessions:
    """The interface of ``sessions.Sessions`` for Google Cloud: projects are the accounts."""

    def __init__(self, settings: InventoryInput) -> None:
        from google.auth.transport.requests import AuthorizedSession
        from requests.adapters import HTTPAdapter
        from urllib3.util.retry import Retry

        self.settings = settings
        if settings.endpoint_url:
            from google.auth.credentials import AnonymousCredentials

            credentials: Any = AnonymousCredentials()  # type: ignore[no-untyped-call]
        else:
            import google.auth

            credentials, _ = google.auth.default(scopes=SCOPES)
        self.session = AuthorizedSession(credentials)  # type: ignore[no-untyped-call]
        retry = Retry(total=8, backoff_factor=1, status_forcelist=(429, 500, 502, 503, 504),
                      allowed_methods=("GET",), respect_retry_after_header=True)
        for prefix in ("http://", "https://"):
            self.session.mount(prefix, HTTPAdapter(max_retries=retry))

    def accounts(self) -> list[str]:
        return list(self.settings.projects)

    def client(self, account: str, service: str, region: str) -> GcpApi:
        return GcpApi(self.session, self.settings.endpoint_url or BASES[service])
