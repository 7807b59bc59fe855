"""Lambda cold start: importing the handler and handling its first event, against ``import boto3`` alone.

Each figure is a fresh interpreter (as a new function instance is), started as the runtime would; the best of
several rounds is kept. The first event is an SQS batch of one S3 notification, the state a new SQLite file in a
temporary folder, the config with no rules or with one rule and a destination (delivery fails fast: nothing
listens on the port). The target is a ratio of at most 1.3.

    python -m bench.cold_start [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import SAMPLES

EVENT = SAMPLES / "aws" / "lambda_sqs_s3_put_capture_pr4069.json"
TARGET = 1.3
BASELINE = "import boto3"
HANDLER = ("import json, sys\n"
           "from monitor.serverless.aws import handler\n"
           "answer = handler(json.loads(open(sys.argv[1], 'rb').read()), None)\n"
           "assert answer == {'batchItemFailures': []}, answer\n")
RULE = ("rules:\n  - {id: object-created, title: S3 object created, severity: low,\n"
        "     match: {provider: [aws], resource: {kind: [object]}, action: [created]}}\n")


def write_config(folder: Path, rules: bool) -> Path:
    config: dict[str, object] = {"state": f"sqlite:///{folder}/state.db"}
    if rules:
        (folder / "rules.yaml").write_text(RULE)
        config.update(rules=["rules.yaml"], destinations={"chat": {"urls": ["json://127.0.0.1:9/hook"]}},
                      routes={"destination": "chat", "group_wait": "30s"})
    path = folder / "monitor.yaml"
    path.write_text(json.dumps(config))
    return path


def once(code: str, folder: Path, env: dict[str, str]) -> float:
    (folder / "state.db").unlink(missing_ok=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(EVENT)], cwd=folder, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def run(rounds: int = 7) -> dict[str, float]:
    """The best of ``rounds`` for each; the three take turns, so a busy spell of the machine hits all alike."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
        cases: dict[str, tuple[str, Path, dict[str, str]]] = {"boto3": (BASELINE, root, env)}
        for name, rules in (("no_rules", False), ("one_rule", True)):
            (root / name).mkdir()
            cases[name] = (HANDLER, root / name, {**env, "MONITOR_CONFIG": str(write_config(root / name, rules))})
        for code, folder, environ in cases.values():
            once(code, folder, environ)  # bytecode compiled and the page cache warm, for all alike
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(rounds):
            for name, (code, folder, environ) in cases.items():
                times[name].append(once(code, folder, environ))
    figures = {name: min(found) for name, found in times.items()}
    for name in ("no_rules", "one_rule"):
        figures[f"{name}_ratio"] = figures[name] / figures["boto3"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    figures = run(parser.parse_args().rounds)
    print(f"import boto3 alone:                       {figures['boto3'] * 1000:7.0f} ms")
    for name, label in (("no_rules", "no rules"), ("one_rule", "one rule, one destination")):
        ratio = figures[f"{name}_ratio"]
        verdict = "ok" if ratio <= TARGET else f"over the {TARGET}x target"
        print(f"handler + first event, {label + ':':26} {figures[name] * 1000:7.0f} ms  {ratio:.2f}x ({verdict})")


if __name__ == "__main__":
    main()
