"""deploy/gcp, deploy/container and deploy/systemd, checked with what runs here: nothing is deployed, no image is
built. deploy.sh parses (``bash -n``), every gcloud command it runs exists in the installed gcloud with every
flag it passes, and its ``stage`` step builds a source folder that imports the function and loads its config;
the Dockerfile is read by dockerfile-parse; the unit is checked by ``systemd-analyze verify`` and ``security``."""

from __future__ import annotations

import itertools
import os
import re
import shlex
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"
DEPLOY_SH = DEPLOY / "gcp" / "deploy.sh"
COMMAND_WORD = re.compile(r"^[a-z][a-z0-9-]*$")


def run(args: list[str], **options: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, check=False, capture_output=True, text=True, **options)


def logical_lines(script: str) -> list[str]:
    """The script's lines with backslash continuations joined and comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", script)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


def gcloud_calls(script: str) -> list[tuple[tuple[str, ...], list[str]]]:
    """(command words, flags) of every ``gcloud ...`` and ``absent ...`` (gcloud describe) call in the script."""
    calls = []
    for line in logical_lines(script):
        lexer = shlex.shlex(line, posix=True, punctuation_chars="|;&()")
        lexer.whitespace_split = True
        tokens = list(lexer)
        for start, token in enumerate(tokens):
            if token not in ("gcloud", "absent") or tokens[start + 1:start + 2] in (["$@"], ["("]):
                continue  # not a call, or absent's own definition
            rest = list(itertools.takewhile(lambda t: not set(t) <= set("|;&()"), tokens[start + 1:]))
            words = tuple(itertools.takewhile(COMMAND_WORD.match, rest))
            flags = [t.split("=", 1)[0] for t in rest if t.startswith("--")]
            calls.append((words, flags + (["--project"] if token == "absent" else [])))
    return calls


def gcloud_help(words: tuple[str, ...]) -> str:
    done = run(["gcloud", *words, "--help"], timeout=120,
               env={**os.environ, "CLOUDSDK_CORE_DISABLE_PROMPTS": "1", "PAGER": "cat"})
    assert done.returncode == 0, f"gcloud {' '.join(words)}: {done.stderr}"
    return done.stdout


def test_deploy_sh_parses() -> None:
    done = run(["bash", "-n", str(DEPLOY_SH)])
    assert done.returncode == 0, done.stderr


def test_every_gcloud_command_and_flag_in_deploy_sh_exists() -> None:
    calls = gcloud_calls(DEPLOY_SH.read_text())
    commands = sorted({words for words, _ in calls})
    assert ("functions", "deploy") in commands and ("scheduler", "jobs", "create", "pubsub") in commands
    assert len(commands) >= 20
    with ThreadPoolExecutor(max_workers=4) as pool:
        helps = dict(zip(commands, pool.map(gcloud_help, commands), strict=True))
    missing = []
    for words, flags in calls:
        text = helps[words]
        assert f"gcloud {' '.join(words)}" in text  # the command itself, not a group's listing
        for flag in flags:
            name = flag.removeprefix("--")
            if not re.search(rf"--(\[no-\])?{re.escape(name)}(?![\w-])", text):
                missing.append(f"gcloud {' '.join(words)} {flag}")
    assert missing == []


def test_the_function_deploys_with_its_entry_point_trigger_and_retry() -> None:
    [deploy] = [flags for words, flags in gcloud_calls(DEPLOY_SH.read_text()) if words == ("functions", "deploy")]
    for flag in ("--gen2", "--entry-point", "--trigger-topic", "--retry", "--service-account",
                 "--no-allow-unauthenticated", "--set-env-vars", "--set-secrets"):
        assert flag in deploy
    assert "--entry-point=handle" in DEPLOY_SH.read_text()


def test_the_staged_source_imports_the_function_and_loads_its_config(tmp_path: Path) -> None:
    stage = tmp_path / "source"
    assert run(["bash", str(DEPLOY_SH), "stage", str(stage)], timeout=120).returncode == 0

    requirements = (stage / "requirements.txt").read_text().splitlines()
    assert "functions-framework>=3.5" in requirements and "google-cloud-firestore>=2.16" in requirements
    assert not list(stage.rglob("__pycache__"))
    probe = (
        "import sys; sys.path.insert(0, '.'); import functions_framework, monitor\n"
        "app = functions_framework.create_app(target='handle', source='main.py', signature_type='cloudevent')\n"
        "main = sys.modules['main']\n"
        "from monitor.config import load_config\nfrom monitor.engine.loader import load_rules\n"
        "config = load_config('monitor.yaml')\n"
        "print(monitor.__file__, main.handle.__module__, config.state_url(),"
        " len(load_rules([config.resolve(p) for p in config.rules])))\n"
    )
    done = run([sys.executable, "-c", probe], cwd=stage, timeout=120,
               env={**os.environ, "MONITOR_PROJECT": "acme-prod", "CHAT_URLS": "json://127.0.0.1:9/"})
    assert done.returncode == 0, done.stderr
    package, module, state, rules = done.stdout.split()
    assert Path(package).resolve() == (stage / "monitor" / "__init__.py").resolve()
    assert (module, state) == ("monitor.serverless.gcp", "firestore://acme-prod")
    assert int(rules) >= 10


def test_the_dockerfile_runs_monitor_as_a_non_root_user_on_a_pinned_base() -> None:
    parser = DockerfileParser(path=str(DEPLOY / "container" / "Dockerfile"))
    froms = [item["value"].split()[0] for item in parser.structure if item["instruction"] == "FROM"]
    assert froms and all(re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", image) for image in froms)
    final = parser.structure[max(i for i, item in enumerate(parser.structure) if item["instruction"] == "FROM"):]
    [user] = [item["value"] for item in final if item["instruction"] == "USER"]
    assert user not in ("root", "0") and not user.startswith("0:")
    assert 'ENTRYPOINT ["monitor"]' in parser.content
    assert 'CMD ["run", "--config", "/etc/monitor/monitor.yaml"]' in parser.content
    for item in parser.structure:
        if item["instruction"] == "COPY" and "--from" not in item["value"]:
            for source in item["value"].split()[:-1]:
                assert (ROOT / source).exists(), source


def test_the_images_config_validates(tmp_path: Path) -> None:
    folder = tmp_path / "etc-monitor"
    folder.mkdir()
    shutil.copy(DEPLOY / "container" / "monitor.yaml", folder / "monitor.yaml")
    shutil.copytree(ROOT / "rules", folder / "rules")
    env = {**os.environ, "PUSH_TOKEN": "a-long-token", "CHAT_URLS": "json://127.0.0.1:9/"}
    done = run([sys.executable, "-m", "monitor", "validate", "--config", str(folder / "monitor.yaml")],
               env=env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def unit_settings(text: str) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


@pytest.fixture
def unit(tmp_path: Path) -> Path:
    """The unit with /opt/cloud-monitor swapped for this virtualenv, so verify finds an ExecStart that runs."""
    text = (DEPLOY / "systemd" / "monitor.service").read_text()
    assert "ExecStart=/opt/cloud-monitor/bin/monitor run --config /etc/cloud-monitor/monitor.yaml" in text
    path = tmp_path / "monitor.service"
    path.write_text(text.replace("/opt/cloud-monitor", sys.prefix))
    return path


def test_the_systemd_unit_verifies_without_a_warning(unit: Path) -> None:
    done = run(["systemd-analyze", "verify", str(unit)], timeout=60)
    assert (done.returncode, done.stderr, done.stdout) == (0, "", "")


def test_the_systemd_unit_is_hardened(unit: Path) -> None:
    settings = unit_settings(unit.read_text())
    assert settings["Type"] == ["simple"] and settings["Restart"] == ["on-failure"]
    assert settings["User"] == ["cloud-monitor"] and settings["StateDirectory"] == ["cloud-monitor"]
    assert settings["ProtectSystem"] == ["strict"] and settings["NoNewPrivileges"] == ["yes"]
    done = run(["systemd-analyze", "security", "--offline=yes", "--threshold=20", str(unit)], timeout=60)
    exposure = re.search(r"Overall exposure level for monitor\.service: (\d+\.\d)", done.stdout)
    assert done.returncode == 0 and exposure is not None, done.stdout + done.stderr
    assert float(exposure.group(1)) <= 2.0
    assert f"`systemd-analyze security` rates it {exposure.group(1)}," in README


def test_the_systemd_config_validates_with_the_sample_environment(tmp_path: Path) -> None:
    folder = tmp_path / "etc-cloud-monitor"
    folder.mkdir()
    shutil.copy(DEPLOY / "systemd" / "monitor.yaml", folder / "monitor.yaml")
    shutil.copytree(ROOT / "rules", folder / "rules")
    sample = {}
    for line in (DEPLOY / "systemd" / "monitor.env").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            assert re.fullmatch(r"[A-Z_][A-Z0-9_]*", name), line
            sample[name] = value
    done = run([sys.executable, "-m", "monitor", "validate", "--config", str(folder / "monitor.yaml")],
               env={**os.environ, **sample}, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


README = (ROOT / "README.md").read_text()
DEPLOY_DOCS = README[README.index("\n## Deploy\n"):README.index("\n## ", README.index("\n## Deploy\n") + 1)]


def sh_block(heading: str) -> str:
    part = DEPLOY_DOCS[DEPLOY_DOCS.index(f"### {heading}\n"):]
    return re.sub(r"\\\n\s*", " ", re.findall(r"```sh\n(.*?)```", part, re.DOTALL)[0])


def test_every_deploy_file_the_readme_names_exists() -> None:
    named = set(re.findall(r"deploy/[\w./-]+\w", DEPLOY_DOCS))
    assert len(named) >= 8
    assert [path for path in sorted(named) if not (ROOT / path).exists()] == []


def test_the_readme_deploys_gcp_with_settings_deploy_sh_reads() -> None:
    line = sh_block("Google Cloud Functions")
    assigned = re.findall(r"\b([A-Z_]+)=", line.split("deploy/gcp/deploy.sh")[0])
    assert assigned == ["PROJECT", "REGION", "BUCKETS", "CHAT_URLS"]
    script = DEPLOY_SH.read_text()
    assert all(f"${{{name}" in script for name in assigned)
    assert "NAME=${NAME:-cloud-monitor}" in script and "TOPIC=$NAME-events" in script
    assert "DEAD_TOPIC=$NAME-dead-letters" in script


def test_the_readmes_docker_run_matches_the_image() -> None:
    run_line = next(line for line in sh_block("Container").splitlines() if line.startswith("docker run"))
    parser = DockerfileParser(path=str(DEPLOY / "container" / "Dockerfile"))
    exposed = {item["value"] for item in parser.structure if item["instruction"] == "EXPOSE"}
    assert {port for _, port in re.findall(r"-p (\d+):(\d+)", run_line)} == set(" ".join(exposed).split())
    [volume] = re.findall(r"-v [\w-]+:(\S+)", run_line)
    assert f'VOLUME ["{volume}"]' in parser.content
    config = (DEPLOY / "container" / "monitor.yaml").read_text()
    for name in re.findall(r"-e (\w+)=", run_line):
        assert f"${{env:{name}}}" in config or f"urls_env: {name}" in config


def test_the_readmes_systemd_steps_put_the_files_where_the_unit_reads_them() -> None:
    steps = sh_block("systemd")
    unit = unit_settings((DEPLOY / "systemd" / "monitor.service").read_text())
    installed = dict(re.findall(r"install (?:-D )?-m 0\d{3} (deploy/\S+) (\S+)", steps))
    assert installed["deploy/systemd/monitor.service"] == "/etc/systemd/system/monitor.service"
    assert "-" + installed["deploy/systemd/monitor.env"] == unit["EnvironmentFile"][0]
    assert f"--config {installed['deploy/systemd/monitor.yaml']}" in unit["ExecStart"][0]
    assert unit["ExecStart"][0].startswith("/opt/cloud-monitor/bin/") and "venv /opt/cloud-monitor " in steps
    sysusers = (DEPLOY / "systemd" / "cloud-monitor.sysusers").read_text().splitlines()[-1].split()
    assert sysusers[:2] == ["u", unit["User"][0]]
    assert "enable --now monitor" in steps
