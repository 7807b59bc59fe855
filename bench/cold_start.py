"""Lambda cold start: importing the handler and handling its first event, against ``import boto3`` alone.

Each figure is a fresh interpreter (as a new function instance is), from its start (which counts, as in a
function's init) until it says the work is done (its exit does not count: an instance does not exit after its
first event). Two measures: the CPU time the interpreter used by then (``time.process_time()``, which other
processes on a busy machine disturb little: the figure the target is for) and the wall time. The best of
several rounds is kept. The first event is an SQS batch of one S3
notification, the state a new SQLite file in a temporary folder, the config with no rules or with one rule and
a destination (nothing is sent yet: its group waits 30 s). The target is a ratio of at most 1.3.

A third figure is the deployed shape, for information: one rule with its state in a DynamoDB table (an empty
one per round, on moto in server mode in this process). That function imports boto3 itself, makes its client
and calls the table, so it costs ``import boto3`` and more by construction.

``--instructions`` counts instead the instructions each interpreter runs until its "done" (valgrind's
cachegrind, which must be installed: Debian's ``valgrind``), once per case, with a fixed hash seed. The count
does not move with the machine's load, so two runs, or a change, compare to within a fraction of a percent
where CPU times on a shared machine move by tens of percent; it runs some fifty times slower.

    python -m bench.cold_start [--rounds 7] [--instructions]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import SAMPLES

EVENT = SAMPLES / "aws" / "lambda_sqs_s3_put_capture_pr4069.json"
TARGET = 1.3
# The interpreter leaves at once after it (os._exit): an instance does not exit after its first event, and the
# instructions counted stop there too.
DONE = "import os, time\nprint('done', time.process_time(), flush=True)\nos._exit(0)\n"
BASELINE = "import boto3\n" + DONE
FIRST_EVENT = ("import json, sys\n"
               "from monitor.serverless.aws import handler\n"
               "answer = handler(json.loads(open(sys.argv[1], 'rb').read()), None)\n"
               "assert answer == {'batchItemFailures': []}, answer\n")
HANDLER = FIRST_EVENT + DONE
RULE = ("rules:\n  - {id: object-created, title: S3 object created, severity: low,\n"
        "     match: {provider: [aws], resource: {kind: [object]}, action: [created]}}\n")


def write_config(folder: Path, rules: bool, state: str | None = None) -> Path:
    config: dict[str, object] = {"state": state or f"sqlite:///{folder}/state.db"}
    if rules:
        (folder / "rules.yaml").write_text(RULE)
        config.update(rules=["rules.yaml"], destinations={"chat": {"urls": ["json://127.0.0.1:9/hook"]}},
                      routes={"destination": "chat", "group_wait": "30s"})
    path = folder / "monitor.yaml"
    path.write_text(json.dumps(config))
    return path


def instructions(code: str, folder: Path, env: dict[str, str]) -> float:
    """The instructions (millions) the interpreter ran until its "done", counted by valgrind."""
    (folder / "state.db").unlink(missing_ok=True)
    counted = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                              sys.executable, "-c", code, str(EVENT)], cwd=folder, env={**env, "PYTHONHASHSEED": "0"},
                             capture_output=True, text=True, check=False)
    found = re.search(r"I\s+refs:\s+([\d,]+)", counted.stderr)
    if counted.returncode != 0 or not counted.stdout.startswith("done ") or found is None:
        raise RuntimeError(f"the counted interpreter failed (exit status {counted.returncode}): "
                           f"{counted.stderr[-500:]}")
    return int(found.group(1).replace(",", "")) / 1e6


def once(code: str, folder: Path, env: dict[str, str]) -> tuple[float, float]:
    """CPU seconds the interpreter used until its "done", and the wall seconds to it; raises if it failed."""
    (folder / "state.db").unlink(missing_ok=True)
    started = time.perf_counter()
    with subprocess.Popen([sys.executable, "-c", code, str(EVENT)], cwd=folder, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as child:
        assert child.stdout is not None
        said = child.stdout.readline()
        wall = time.perf_counter() - started
        child.stdout.read()
    if not said.startswith("done ") or child.returncode != 0:
        raise RuntimeError(f"the measured interpreter failed (exit status {child.returncode}): {code!r}")
    return float(said.split()[1]), wall


class DynamoTables:
    """moto in server mode, and a new empty table of the state (made as the stack makes it) for each round."""

    def __init__(self) -> None:
        import logging

        import boto3
        from moto.server import ThreadedMotoServer

        from monitor.store.dynamodb import ensure_table

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request otherwise
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self.environment = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        self._client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=self.endpoint,
                                    aws_access_key_id="testing", aws_secret_access_key="testing")
        self._ensure = ensure_table
        self._made = 0

    def new_state(self) -> str:
        self._made += 1
        table = f"cold-start-{self._made}"
        self._ensure(self._client, table)
        return f"dynamodb://{table}?region=us-east-1&endpoint_url={self.endpoint}"

    def close(self) -> None:
        self._client.close()
        self._server.stop()


def run(rounds: int = 7, counted: bool = False) -> dict[str, float]:
    """The best of ``rounds`` for each; the cases take turns, so a busy spell of the machine hits all alike.

    ``counted``: the instructions of one round instead (millions, under ``name``; no wall figures)."""
    if counted and shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (Debian: apt-get install valgrind)")
    # boto3 is installed with its bytecode, and the deployment zip ships ours (deploy/aws/build.py): where
    # PYTHONDONTWRITEBYTECODE is set, a module changed since its last compile would be compiled in every round.
    compileall.compile_dir(str(Path(__file__).resolve().parents[1] / "monitor"), quiet=1)
    tables = DynamoTables()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            # What deploy/aws/template.yaml gives the function, for every case alike.
            env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "PYDANTIC_DISABLE_PLUGINS": "__all__",
                   **tables.environment}
            for name in CASES[1:]:
                (root / name).mkdir()

            def measure(name: str, count: bool = False) -> tuple[float, float]:
                take = (lambda code, folder, env: (instructions(code, folder, env), 0.0)) if count else once
                if name == "boto3":
                    return take(BASELINE, root, env)
                state = tables.new_state() if name == "dynamodb" else None
                config = write_config(root / name, name != "no_rules", state)
                return take(HANDLER, root / name, {**env, "MONITOR_CONFIG": str(config)})

            for name in CASES:
                measure(name)  # bytecode compiled and the page cache warm, for all alike
            times: dict[str, list[tuple[float, float]]] = {name: [] for name in CASES}
            for _ in range(1 if counted else rounds):
                for name in CASES:
                    times[name].append(measure(name, counted))
    finally:
        tables.close()
    figures: dict[str, float] = {}
    for name, found in times.items():
        figures[name] = min(cpu for cpu, _ in found)
        figures[f"{name}_wall"] = min(wall for _, wall in found)
    for name in CASES[1:]:
        figures[f"{name}_ratio"] = figures[name] / figures["boto3"]
        if not counted:
            figures[f"{name}_wall_ratio"] = figures[f"{name}_wall"] / figures["boto3_wall"]
    return figures


CASES = ("boto3", "no_rules", "one_rule", "dynamodb")
LABELS = {"no_rules": "no rules", "one_rule": "one rule, one destination",
          "dynamodb": "one rule, DynamoDB state"}


def verdict(name: str, ratio: float) -> str:
    if name == "dynamodb":
        return "imports boto3 itself"
    return "ok" if ratio <= TARGET else f"over the {TARGET}x target"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--instructions", action="store_true", help="count instructions (valgrind) instead")
    arguments = parser.parse_args()
    figures = run(arguments.rounds, arguments.instructions)
    if arguments.instructions:
        print(f"{'':50} {'instructions':>16}")
        print(f"{'import boto3 alone:':50} {figures['boto3']:15.0f}M")
        for name, label in LABELS.items():
            ratio = figures[f"{name}_ratio"]
            print(f"{'handler + first event, ' + label + ':':50} {figures[name]:15.0f}M  {ratio:.2f}x"
                  f" ({verdict(name, ratio)})")
        return
    print(f"{'':50} {'CPU':>16} {'wall':>16}")
    print(f"{'import boto3 alone:':50} {figures['boto3'] * 1000:13.0f} ms {figures['boto3_wall'] * 1000:13.0f} ms")
    for name, label in LABELS.items():
        ratio = figures[f"{name}_ratio"]
        print(f"{'handler + first event, ' + label + ':':50} {figures[name] * 1000:13.0f} ms "
              f"{figures[name + '_wall'] * 1000:13.0f} ms  {ratio:.2f}x / {figures[name + '_wall_ratio']:.2f}x"
              f" ({verdict(name, ratio)})")


if __name__ == "__main__":
    main()
