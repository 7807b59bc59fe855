"""Loading monitor.yaml: ${env:...} substitution, errors that point at the text, paths from the config's folder."""

from __future__ import annotations

import os
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest

from monitor.config import DEFAULT_STATE, Config, ConfigError, load_config
from monitor.inputs.dynamodb_streams import DynamoDbStreamInput
from monitor.inputs.files import FileInput
from monitor.inputs.sqs import SqsInput

SQS_FROM_ENV = """\
inputs:
  - type: aws.sqs
    queue_url: ${env:QUEUE_URL}
    region: ${env:AWS_REGION:-eu-west-1}
    endpoint_url: http://${env:HOST:-127.0.0.1}:${env:PORT}/
"""


def write(folder: Path, text: str, name: str = "monitor.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("environ", "queue_url", "region", "endpoint_url"),
    [
        ({"QUEUE_URL": "https://q/1", "PORT": "4566"}, "https://q/1", "eu-west-1", "http://127.0.0.1:4566/"),
        ({"QUEUE_URL": "https://q/1", "PORT": "5000", "AWS_REGION": "us-east-2", "HOST": "moto"},
         "https://q/1", "us-east-2", "http://moto:5000/"),
        ({"QUEUE_URL": "", "PORT": "1", "AWS_REGION": ""}, "", "", "http://127.0.0.1:1/"),
    ],
    ids=["defaults", "all-set", "set-but-empty"],
)
def test_env_references_are_substituted(
    tmp_path: Path, environ: dict[str, str], queue_url: str, region: str, endpoint_url: str
) -> None:
    config = load_config(write(tmp_path, SQS_FROM_ENV), environ)
    assert config.inputs == [SqsInput(queue_url=queue_url, region=region, endpoint_url=endpoint_url)]


def test_empty_default_and_text_around_references(tmp_path: Path) -> None:
    text = "inputs:\n  - {type: file, path: '${env:DIR:-}events-${env:DAY}.jsonl'}\n"
    config = load_config(write(tmp_path, text), {"DAY": "2024-01-31"})
    assert config.inputs == [FileInput(path="events-2024-01-31.jsonl")]


def test_process_environment_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_TEST_QUEUE", "https://sqs.eu-west-1.amazonaws.com/1/q")
    text = "inputs:\n  - {type: aws.sqs, queue_url: '${env:MONITOR_TEST_QUEUE}'}\n"
    assert load_config(write(tmp_path, text)).inputs == [SqsInput(queue_url="https://sqs.eu-west-1.amazonaws.com/1/q")]


def test_every_missing_env_var_is_reported_with_its_location(tmp_path: Path) -> None:
    path = write(tmp_path, SQS_FROM_ENV + "  - type: file\n    path: ${env:EVENTS_FILE}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert [str(e) for e in caught.value.errors] == [
        f"{path}:3:16: environment variable QUEUE_URL is not set",
        f"{path}:5:19: environment variable PORT is not set",
        f"{path}:7:11: environment variable EVENTS_FILE is not set",
    ]


def test_substituted_values_are_not_scanned_again(tmp_path: Path) -> None:
    text = "inputs:\n  - type: aws.dynamodb_stream\n    stream_arn: ${env:ARN}\n    poll_interval_seconds: 2\n"
    config = load_config(write(tmp_path, text), {"ARN": "${env:SECRET}"})
    assert config.inputs == [DynamoDbStreamInput(stream_arn="${env:SECRET}", poll_interval_seconds=2)]


def test_unknown_keys_suggest_the_closest_known_one(tmp_path: Path) -> None:
    path = write(tmp_path, "stat: sqlite:///m.db\ninputs:\n  - type: aws.sqs\n    queue_url: q\n    regoin: x\n"
                           "  - type: aws.dynamodb_stream\n    stream_arn: a\n    strat: latest\n    zzz: 1\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert str(caught.value) == "\n".join([
        f"{path}:1:1: unknown key 'stat' in the top level (did you mean 'state'?)",
        f"{path}:5:5: unknown key 'regoin' in inputs[0] (did you mean 'region'?)",
        f"{path}:8:5: unknown key 'strat' in inputs[1] (did you mean 'start'?)",
        f"{path}:9:5: unknown key 'zzz' in inputs[1]",
    ])


def test_missing_required_key_and_bad_value(tmp_path: Path) -> None:
    path = write(tmp_path, "inputs:\n  - type: aws.sqs\n    wait_time_seconds: 30\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert [str(e) for e in caught.value.errors] == [
        f"{path}:2:5: missing required key 'queue_url' in inputs[0]",
        f"{path}:3:24: inputs[0].wait_time_seconds: Input should be less than or equal to 20",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n- b\n", "1:1: the config must be a mapping of keys to values"),
        ("inputs: [\n", "2:1: invalid YAML: expected the node content, but found '<stream end>'"),
        ("state: a\nstate: b\n", "2:1: duplicate key 'state' (first defined at line 1)"),
    ],
    ids=["not-a-mapping", "invalid-yaml", "duplicate-key"],
)
def test_malformed_files(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert str(caught.value) == f"{path}:{message}"


def test_a_named_file_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nowhere.yaml", {})
    assert str(caught.value) == f"{tmp_path / 'nowhere.yaml'}:1:1: config file not found"


def test_no_file_and_no_path_gives_the_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(None, {})
    assert (config.state, config.inputs, config.rules) == (DEFAULT_STATE, [], [])
    assert config.state_url() == DEFAULT_STATE  # relative to the working folder when there is no file


def test_monitor_yaml_in_the_working_folder_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "state: sqlite:///here.db\n")
    monkeypatch.chdir(tmp_path)
    assert load_config(None, {}).state_url() == "sqlite:///here.db"


def test_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "# nothing yet\n"), {}).inputs == []


def test_relative_paths_are_taken_from_the_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "etc" / "monitor"
    folder.mkdir(parents=True)
    path = write(folder, "state: sqlite:///state/monitor.db\nrules: [rules/, /opt/rules]\n"
                         "inputs:\n  - {type: file, path: in/events.jsonl}\n  - {type: file, path: '-'}\n")
    monkeypatch.chdir(tmp_path)
    config = load_config(path, {})
    assert [config.resolve(i.path) for i in config.inputs if isinstance(i, FileInput)] == [
        f"{folder}/in/events.jsonl", "-"]
    assert [config.resolve(p) for p in config.rules] == [f"{folder}/rules", "/opt/rules"]
    assert config.state_url() == f"sqlite:///{folder}/state/monitor.db"


def test_config_path_given_relative_to_the_working_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "conf").mkdir()
    write(tmp_path / "conf", "state: sqlite:///m.db\ninputs: [{type: file, path: ../data/e.json}]\n")
    monkeypatch.chdir(tmp_path)
    config = load_config("conf/monitor.yaml", {})
    assert config.state_url() == "sqlite:///conf/m.db"
    assert config.resolve("../data/e.json") == "data/e.json"
    assert os.path.abspath(config.resolve("../data/e.json")) == str(tmp_path / "data" / "e.json")


@pytest.mark.parametrize(
    ("state", "url"),
    [
        ("sqlite:////var/lib/monitor/m.db", "sqlite:////var/lib/monitor/m.db"),
        ("sqlite://:memory:", "sqlite://:memory:"),
        ("redis://localhost:6379/0", "redis://localhost:6379/0"),
    ],
    ids=["absolute-sqlite", "memory", "other-scheme"],
)
def test_state_urls_that_are_not_relative_paths_are_kept(state: str, url: str) -> None:
    assert Config(state=state, base_dir="/etc/monitor").state_url() == url


# Billion laughs: each line repeats the one before ten times; the 8th *d in e crosses 100,000 nodes.
LAUGHS = ("a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{before}'] * 10)}]\n" for before, name in pairwise("abcdefg"))).encode()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"state: !!python/object/apply:os.system [touch /tmp/owned]\n",
         "1:8: unsupported YAML tag '!!python/object/apply:os.system'"),
        (b"inputs:\n  - {type: file, path: caf\xe9.json}\n", "2:27: invalid UTF-8 (byte 0xe9); save the file as UTF-8"),
        (LAUGHS,
         "5:36: too many YAML nodes after alias expansion (limit 100000)"),
    ],
    ids=["python-tag", "invalid-utf8", "alias-bomb"],
)
def test_hostile_config_files_give_located_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert str(caught.value) == f"{path}:{message}"


def test_substituted_secrets_stay_out_of_errors(tmp_path: Path) -> None:
    text = ("inputs:\n  - {type: http, port: '${env:TOKEN}', shared_secret: '${env:TOKEN}', max_body_bytes: 0}\n"
            "  - {type: aws.sqs, queue_url: '${env:TOKEN}', wait_time_seconds: '${env:TOKEN}'}\n"
            "  - {type: '${env:TOKEN}'}\n"
            "destinations:\n  chat: {urls: ['${env:TOKEN}'], format: '${env:TOKEN}'}\n")
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, {"TOKEN": "s3cr3t-t0ken"})
    assert len(caught.value.errors) == 5
    assert "s3cr3t-t0ken" not in str(caught.value)
    assert f"{path}:4:5: inputs[2]: unknown type '${{env:TOKEN}}'; known: file," in str(caught.value)


def test_a_functions_config_leaves_the_inputs_and_outputs_out_and_never_imports_them(tmp_path: Path) -> None:
    path = write(tmp_path, "state: sqlite:///x.db\ninputs: [{type: aws.sqs, queue_url: q}, {type: nonsense}]\n"
                           "outputs: [{name: a, type: http, url: 'http://127.0.0.1:1/'}]\n")
    code = ("import sys\n"
            "from monitor.config import load_config\n"
            f"config = load_config({str(path)!r}, plugins=False)\n"
            "loaded = [m for m in sys.modules if m.startswith(('monitor.inputs.', 'monitor.outputs'))]\n"
            "print(config.inputs, config.outputs, loaded)\n")
    said = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert said == "[] [] []"
    with pytest.raises(ConfigError, match="nonsense"):  # the daemon's reading checks them
        load_config(path)


def test_config_alone_refuses_input_settings_it_cannot_check() -> None:
    with pytest.raises(ValueError, match=r"checked by monitor.config.checked_model\(\)"):
        Config.model_validate({"inputs": [{"type": "file", "path": "x"}]})
    assert Config(inputs=[FileInput(path="x")]).inputs == [FileInput(path="x")]
