"""boto3 sessions per account: the default credentials, or a role assumed in each account through STS, cached
until shortly before the credentials expire. Every client retries throttling with botocore's adaptive mode."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.inventory.settings import InventoryInput

REFRESH_BEFORE = timedelta(minutes=10)
SESSION_NAME = "cloud-monitor-inventory"


def _retries() -> Any:
    from botocore.config import Config

    return Config(retries={"mode": "adaptive", "total_max_attempts": 10})


class Sessions:
    def __init__(self, settings: InventoryInput, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        import boto3  # the SDK only for the inputs configured

        self.settings = settings
        self._boto3 = boto3
        self._default = boto3.Session()
        self._assumed: dict[str, tuple[Any, datetime]] = {}
        self._lock = threading.Lock()
        self._config = _retries()
        self._clock = clock

    def accounts(self) -> list[str]:
        """The configured accounts, or the one the default credentials belong to."""
        if self.settings.accounts:
            return list(self.settings.accounts)
        identity = self._client(self._default, "sts", self.settings.regions[0]).get_caller_identity()
        return [str(identity["Account"])]

    def client(self, account: str, service: str, region: str) -> Any:
        return self._client(self.session(account), service, region)

    def session(self, account: str) -> Any:
        if not self.settings.role:
            return self._default
        with self._lock:
            cached = self._assumed.get(account)
            if cached is None or cached[1] - REFRESH_BEFORE <= self._clock():
                cached = self._assume(account)
                self._assumed[account] = cached
            return cached[0]

    def _assume(self, account: str) -> tuple[Any, datetime]:
        assert self.settings.role is not None
        sts = self._client(self._default, "sts", self.settings.regions[0])
        role = self.settings.role.replace("{account}", account)
        credentials = sts.assume_role(RoleArn=role, RoleSessionName=SESSION_NAME)["Credentials"]
        session = self._boto3.Session(aws_access_key_id=credentials["AccessKeyId"],
                                      aws_secret_access_key=credentials["SecretAccessKey"],
                                      aws_session_token=credentials["SessionToken"])
        expiry = credentials["Expiration"]
        return session, expiry if expiry.tzinfo else expiry.replace(tzinfo=UTC)

    def _client(self, session: Any, service: str, region: str) -> Any:
        return session.client(service, region_name=region, endpoint_url=self.settings.endpoint_url,
                              config=self._config)
