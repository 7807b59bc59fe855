"""The real Firestore emulator (``gcloud emulators firestore``) on a free 127.0.0.1 port, started on first use.

Its address goes into ``FIRESTORE_EMULATOR_HOST`` for this process and whatever it spawns (the contract
suite's racing processes), which the client library reads. Each test takes a fresh collection prefix.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from tests.gcloud_emulators import answers, stop
from tests.store.redis_server import free_port

START_SECONDS = 90
PROJECT = "monitor-test"








class FirestoreEmulator:
    """``gcloud emulators firestore start --host-port=127.0.0.1:FREE``, stopped (with its java) by ``close``."""

    def __init__(self) -> None:
        if shutil.which("gcloud") is None:
            raise RuntimeError("gcloud is not installed: the Firestore tests need `gcloud emulators firestore` "
                               "(component cloud-firestore-emulator)")
        self._folder = tempfile.TemporaryDirectory(prefix="cm-firestore-")
        self.host = f"127.0.0.1:{free_port()}"
        self._log = Path(self._folder.name) / "emulator.log"
        with self._log.open("wb") as out:
            self._process = subprocess.Popen(
                ["gcloud", "emulators", "firestore", "start", f"--host-port={self.host}", "--quiet"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                cwd=self._folder.name,
            )
        self._previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
        try:
            self._wait_until_up()
        except BaseException:
            self.close()
            raise
        os.environ["FIRESTORE_EMULATOR_HOST"] = self.host

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the Firestore emulator exited with {self._process.returncode}:\n"
                                   f"{self._log.read_text()}")
            if answers(self.host):
                return
            time.sleep(0.2)
        raise RuntimeError(f"the Firestore emulator did not answer on {self.host} within {START_SECONDS}s:\n"
                           f"{self._log.read_text()}")

    def url(self, prefix: str | None = None) -> str:
        """A ``state:`` URL of an empty state: a collection prefix nobody used yet."""
        return f"firestore://{PROJECT}?prefix={prefix or 't' + uuid.uuid4().hex[:12] + '_'}"

    def clear(self) -> None:
        """Delete every document of the emulator's default database."""
        request = urllib.request.Request(
            f"http://{self.host}/emulator/v1/projects/{PROJECT}/databases/(default)/documents", method="DELETE")
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200

    def close(self) -> None:
        if self._previous is None:
            os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
        else:
            os.environ["FIRESTORE_EMULATOR_HOST"] = self._previous
        stop(self._process)
        self._folder.cleanup()
