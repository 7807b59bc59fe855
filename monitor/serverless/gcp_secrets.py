"""GCP Secret Manager for config values: ``${gcpsecret:projects/P/secrets/S/versions/V}`` (``/versions/V`` may be
left out: ``latest``), and ``${secret:projects/...}``, which ``monitor.config_secrets`` hands here.

google-cloud-secret-manager is imported only when a reference is met (the ``gcp-function`` extra installs it);
credentials are the environment's (the function's service account). A failure is ``SecretUnavailable``.
"""

from __future__ import annotations

import re
from typing import Any

from monitor.config_secrets import SecretUnavailable

NAME = re.compile(r"^projects/[^/\s]+/secrets/[^/\s]+(/versions/[^/\s]+)?$")


def version_name(name: str) -> str:
    """The full version name of ``name``: ``projects/P/secrets/S/versions/V``, ``latest`` when none is given."""
    if not NAME.match(name):
        raise SecretUnavailable(f"{name!r} is not a Secret Manager name (projects/P/secrets/S[/versions/V])")
    return name if "/versions/" in name else f"{name}/versions/latest"


def client() -> Any:
    try:
        from google.cloud import secretmanager
    except ImportError:
        raise SecretUnavailable("google-cloud-secret-manager is not installed (the gcp-function extra)") from None
    return secretmanager.SecretManagerServiceClient()


def access(name: str, secrets: Any = None) -> str:
    """The secret version's payload as text."""
    full = version_name(name)
    from google.api_core.exceptions import GoogleAPIError
    from google.auth.exceptions import GoogleAuthError

    try:
        response = (secrets or client()).access_secret_version(request={"name": full})
    except (GoogleAPIError, GoogleAuthError) as exc:
        raise SecretUnavailable(f"{type(exc).__name__}: {exc}") from None
    try:
        return str(response.payload.data.decode("utf-8"))
    except UnicodeDecodeError:
        raise SecretUnavailable(f"{full} does not hold UTF-8 text") from None
