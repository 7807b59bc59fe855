"""The Lambda deployment zip: the project and its runtime dependencies as wheels for the Lambda platform, the
shipped rules (``rules/``) and alert templates (``alerts/``), and optionally a config folder, in one zip.

    python deploy/aws/build.py [--out dist/cloud-monitor-lambda.zip] [--python 3.12] [--config-dir DIR]

Run it with the runtime's Python (3.12) to ship compiled bytecode too. The handler is
``monitor.serverless.aws.handler``; the shipped rules are at ``$LAMBDA_TASK_ROOT/rules``. With
``--config-dir``, that folder's files go to the zip's root, so ``MONITOR_CONFIG=monitor.yaml`` names its config.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURES = {"x86_64": "x86_64", "arm64": "aarch64"}
# The runtimes' glibc: python3.11 runs on Amazon Linux 2 (2.26), python3.12 and later on Amazon Linux 2023 (2.34).
GLIBC = {"3.11": 26}
DEFAULT_GLIBC = 34
LEGACY = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}


def platforms(python: str, architecture: str) -> list[str]:
    """Every manylinux tag a wheel may carry and still run there (pip takes each --platform literally)."""
    arch = ARCHITECTURES[architecture]
    tags: list[str] = []
    for minor in range(GLIBC.get(python, DEFAULT_GLIBC), 4, -1):
        tags.append(f"manylinux_2_{minor}_{arch}")
        if minor in LEGACY:
            tags.append(f"{LEGACY[minor]}_{arch}")
    return tags
DATA_FOLDERS = ("rules", "alerts")
RUNTIME = "3.12"  # template.yaml's Runtime


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args], check=True)


def install(target: Path, python: str, architecture: str) -> None:
    """The project's wheel, then everything it depends on, as binaries for the Lambda platform."""
    with tempfile.TemporaryDirectory() as wheels:
        pip("wheel", "--no-deps", "--wheel-dir", wheels, str(ROOT))
        [wheel] = Path(wheels).glob("*.whl")
        chosen = [option for tag in platforms(python, architecture) for option in ("--platform", tag)]
        pip("install", "--target", str(target), *chosen, "--implementation", "cp",
            "--python-version", python, "--only-binary=:all:", "--upgrade", str(wheel))


def compile_bytecode(target: Path, python: str) -> None:
    """Bytecode beside the sources, when this interpreter is the runtime's version: /var/task is read-only, so
    without it every cold start compiles every module again."""
    if python != f"{sys.version_info.major}.{sys.version_info.minor}":
        print(f"bytecode not compiled: build with Python {python} to ship it", file=sys.stderr)
        return
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash",
                    str(target)], check=False, stdout=subprocess.DEVNULL)  # a vendored test file may not compile


def copy_data(target: Path, config_dir: Path | None) -> None:
    for name in DATA_FOLDERS:
        shutil.copytree(ROOT / name, target / name, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    if config_dir is not None:
        shutil.copytree(config_dir, target, dirs_exist_ok=True)


def write_zip(folder: Path, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())


def build(out: Path, python: str = RUNTIME, architecture: str = "x86_64", config_dir: Path | None = None) -> Path:
    with tempfile.TemporaryDirectory() as staging:
        target = Path(staging)
        install(target, python, architecture)
        compile_bytecode(target, python)
        copy_data(target, config_dir)
        write_zip(target, out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist" / "cloud-monitor-lambda.zip")
    parser.add_argument("--python", default=RUNTIME, help=f"the function's runtime version (default {RUNTIME})")
    parser.add_argument("--architecture", choices=sorted(ARCHITECTURES), default="x86_64")
    parser.add_argument("--config-dir", type=Path, help="a folder to ship at the zip's root (monitor.yaml, rules)")
    options = parser.parse_args()
    out = build(options.out, options.python, options.architecture, options.config_dir)
    print(f"{out} ({os.path.getsize(out) / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
