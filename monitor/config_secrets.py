"""``${SCHEME:NAME}`` in config values, read from a secret store: a registry of resolvers keyed by scheme.

- ``${ssm:/path/name}``: AWS Systems Manager Parameter Store, ``GetParameter`` with decryption (a SecureString
  is fine); NAME is the parameter's name or ARN.
- ``${secret:NAME}``: AWS Secrets Manager's ``SecretString`` for a name or ARN; a name of the form
  ``projects/P/secrets/S[/versions/V]`` goes to the resolver registered as ``gcp-secret`` (GCP Secret Manager).

Each value is read once per process (a function instance loads its config once). boto3 is imported only when
a reference is met; its region, credentials and endpoint come from the environment (``AWS_REGION``, the
function's role, ``AWS_ENDPOINT_URL_SSM``...). A resolver raises ``SecretUnavailable`` with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from monitor.registry import Registry

Resolver = Callable[[str], str]
resolvers: Registry[Resolver] = Registry("secret store")
REFERENCE = re.compile(r"\$\{([a-z][a-z0-9-]*):([^}]+)\}")
_cache: dict[tuple[str, str], str] = {}


class SecretUnavailable(Exception):
    pass


def substitute_secrets(value: str, on_error: Callable[[str], None]) -> str:
    """``value`` with every secret reference of a registered scheme replaced; ``on_error`` hears each failure
    (the reference becomes ""). References of other schemes (``${env:...}``, handled before) stay as they are."""

    def lookup(found: re.Match[str]) -> str:
        scheme, name = found.group(1), found.group(2)
        if scheme not in resolvers:
            return found.group(0)
        try:
            return resolve(scheme, name)
        except SecretUnavailable as exc:
            on_error(f"${{{scheme}:{name}}}: {exc}")
            return ""

    return REFERENCE.sub(lookup, value) if "${" in value else value


def resolve(scheme: str, name: str) -> str:
    key = (scheme, name)
    if key not in _cache:
        _cache[key] = resolvers.get(scheme)(name)
    return _cache[key]


def forget() -> None:
    """Drop the values read (tests, or a rotated secret)."""
    _cache.clear()


def _aws_call(service: str, call: Callable[[Any], str]) -> str:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return call(boto3.client(service))
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise SecretUnavailable(f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")) from None
    except BotoCoreError as exc:
        raise SecretUnavailable(str(exc)) from None


@resolvers.register("ssm")
def ssm_parameter(name: str) -> str:
    def get(client: Any) -> str:
        return str(client.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])

    return _aws_call("ssm", get)


@resolvers.register("secret")
def secret(name: str) -> str:
    if name.startswith("projects/"):
        if "gcp-secret" not in resolvers:
            raise SecretUnavailable("a GCP Secret Manager name, and no resolver for it is loaded")
        return resolvers.get("gcp-secret")(name)

    def get(client: Any) -> str:
        found = client.get_secret_value(SecretId=name)
        if "SecretString" not in found:
            raise SecretUnavailable("the secret holds binary data, not a string")
        return str(found["SecretString"])

    return _aws_call("secretsmanager", get)


@resolvers.register("gcpsecret")
def gcp_secret(name: str) -> str:
    """``${gcpsecret:projects/P/secrets/S[/versions/V]}``: GCP Secret Manager (``monitor.serverless.gcp_secrets``)."""
    from monitor.serverless.gcp_secrets import access

    return access(name)


resolvers.register("gcp-secret")(gcp_secret)  # where ${secret:projects/...} goes
