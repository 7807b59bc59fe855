"""Amazon SNS over HTTPS: the message signature, checked as AWS documents, and subscription confirmation.

https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html: the string to sign is
``Name\\nvalue\\n`` for each signed field, in this order, a missing ``Subject`` left out; SignatureVersion 1
signs it with SHA1withRSA, 2 with SHA256withRSA, by the key in the certificate at ``SigningCertURL``.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # cryptography is imported when a signature is checked: a function's cold start skips it
    import urllib.request

    from cryptography.hazmat.primitives.asymmetric import rsa

SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
OPTIONAL_FIELDS = frozenset({"Subject"})
HASHES = {"1": "SHA1", "2": "SHA256"}  # SignatureVersion -> cryptography's hash class
FETCH_SECONDS = 10
MAX_CERTIFICATE_BYTES = 64 * 1024


class MalformedSnsMessage(ValueError):
    """Not an SNS message this endpoint can read; resending it will not help."""


class BadSnsSignature(ValueError):
    """The signature does not prove the message came from SNS."""


@functools.cache
def _opener() -> urllib.request.OpenerDirector:
    """Built on the first fetch: urllib.request (http.client, ssl) stays out of a function's cold start."""
    import urllib.request

    class NoRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None  # a redirect would lead away from the URL the pattern allowed

    return urllib.request.build_opener(NoRedirects)


def fetch(url: str, limit: int = MAX_CERTIFICATE_BYTES) -> bytes:
    """GET without following redirects; OSError when the server cannot be reached or answers an error."""
    with _opener().open(url, timeout=FETCH_SECONDS) as response:
        return bytes(response.read(limit))


def string_to_sign(message: Mapping[str, Any]) -> bytes:
    fields = SIGNED_FIELDS.get(str(message.get("Type")))
    if fields is None:
        raise MalformedSnsMessage(f"unknown SNS message Type {message.get('Type')!r}")
    parts = []
    for name in fields:
        value = message.get(name)
        if value is None and name in OPTIONAL_FIELDS:
            continue
        if not isinstance(value, str):
            raise MalformedSnsMessage(f"SNS {message['Type']} has no {name} string")
        parts.append(f"{name}\n{value}\n")
    return "".join(parts).encode("utf-8")


class SnsVerifier:
    """Checks signatures with certificates fetched only from URLs the pattern allows, each fetched once."""

    def __init__(self, cert_url_pattern: re.Pattern[str]) -> None:
        self.cert_url_pattern = cert_url_pattern
        self._keys: dict[str, rsa.RSAPublicKey] = {}
        self._lock = threading.Lock()

    def verify(self, message: Mapping[str, Any]) -> None:
        """Raises BadSnsSignature, MalformedSnsMessage, or OSError when the certificate cannot be fetched."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        name = HASHES.get(str(message.get("SignatureVersion")))
        if name is None:
            raise BadSnsSignature(f"unsupported SignatureVersion {message.get('SignatureVersion')!r}")
        signed = string_to_sign(message)
        url = message.get("SigningCertURL") or message.get("SigningCertUrl")
        if not isinstance(url, str) or not self.cert_url_pattern.match(url):
            raise BadSnsSignature(f"certificate URL {url!r} does not match {self.cert_url_pattern.pattern!r}")
        try:
            signature = base64.b64decode(str(message.get("Signature")), validate=True)
        except binascii.Error:
            raise BadSnsSignature("the Signature is not base64") from None
        try:
            self.public_key(url).verify(signature, signed, padding.PKCS1v15(), getattr(hashes, name)())
        except InvalidSignature:
            raise BadSnsSignature("the signature does not match the message") from None

    def public_key(self, url: str) -> rsa.RSAPublicKey:
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric import rsa

        with self._lock:
            key = self._keys.get(url)
        if key is not None:
            return key
        try:
            certificate = x509.load_pem_x509_certificate(fetch(url))
        except ValueError as exc:
            raise BadSnsSignature(f"no PEM certificate at {url}: {exc}") from None
        public = certificate.public_key()
        if not isinstance(public, rsa.RSAPublicKey):
            raise BadSnsSignature(f"the certificate at {url} does not hold an RSA key")
        with self._lock:
            self._keys[url] = public
        return public


def confirm_subscription(message: Mapping[str, Any]) -> None:
    """Visit the (signed, so trusted) SubscribeURL, which is how an HTTP endpoint confirms; OSError if it failed."""
    url = message.get("SubscribeURL")
    if not isinstance(url, str):
        raise MalformedSnsMessage("SubscriptionConfirmation has no SubscribeURL")
    fetch(url)
