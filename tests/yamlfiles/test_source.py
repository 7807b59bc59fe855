from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.yamlfiles.source import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_NODES,
    Location,
    YamlErrors,
    load_yaml,
    load_yaml_file,
)


def test_positions_of_keys_and_values() -> None:
    doc = load_yaml("a: 1\nb:\n  - x: 2\n    y: [1, 2]\n", "f.yaml")
    assert doc.data == {"a": 1, "b": [{"x": 2, "y": [1, 2]}]}
    assert doc.locate(("b", 0, "y", 1)) == Location("f.yaml", 4, 12)
    assert doc.locate(("b", 0, "y"), key=True) == Location("f.yaml", 4, 5)
    assert str(doc.locate(("b", 0, "missing"))) == "f.yaml:3:5"


def test_every_duplicate_key_is_reported_at_once() -> None:
    with pytest.raises(YamlErrors) as caught:
        load_yaml("a: 1\na: 2\nb: {c: 1, c: 3}\n", "f.yaml")
    assert [str(e) for e in caught.value.errors] == [
        "f.yaml:2:1: duplicate key 'a' (first defined at line 1)",
        "f.yaml:3:11: duplicate key 'c' (first defined at line 3)",
    ]


def test_syntax_error_has_a_location() -> None:
    with pytest.raises(YamlErrors) as caught:
        load_yaml("a: [1\n", "f.yaml")
    assert str(caught.value) == "f.yaml:2:1: invalid YAML: expected ',' or ']', but got '<stream end>'"


def test_merge_keys_are_refused() -> None:
    with pytest.raises(YamlErrors, match=r"f\.yaml:2:9: YAML merge keys"):
        load_yaml("base: &b {x: 1}\nother: {<<: *b}\n", "f.yaml")


def test_empty_document_is_none() -> None:
    assert load_yaml("", "f.yaml").data is None


def errors_of(text: str) -> list[str]:
    with pytest.raises(YamlErrors) as caught:
        load_yaml(text, "f.yaml")
    return [str(e) for e in caught.value.errors]


def laughs(levels: int, width: int = 10) -> str:
    """A billion-laughs document: ``width ** levels`` strings once every alias is expanded."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("levels", [7, 9], ids=["10^7", "10^9"])
def test_an_alias_bomb_is_refused_at_the_alias_that_blows_up(levels: int) -> None:
    # root and l0..l3 are 12,345 nodes; each *l3 in l4 adds 11,111: its eighth alias crosses 100,000.
    assert errors_of(laughs(levels)) == [
        f"f.yaml:5:{10 + 5 * 7}: too many YAML nodes after alias expansion (limit {MAX_NODES})"]


def with_nodes(count: int) -> str:
    """A document of exactly ``count`` nodes (mapping, sequences and scalars), most of them through aliases."""
    block = 99  # `x` is a sequence of 99 scalars: 100 nodes, repeated by each alias
    aliases, rest = divmod(count - 1 - (block + 1) - 1, block + 1)
    return f"x: &x [{', '.join(['0'] * block)}]\ny: [{', '.join(['*x'] * aliases + ['0'] * rest)}]\n"


def test_the_node_limit_is_exact() -> None:
    assert load_yaml(with_nodes(MAX_NODES), "f.yaml").data["y"][-1] == 0
    # the node past the limit is the 99th plain 0 after the 998 aliases in `y`
    assert errors_of(with_nodes(MAX_NODES + 1)) == [
        f"f.yaml:2:{5 + 4 * 998 + 3 * 98}: too many YAML nodes (limit 100000)"]


def test_aliases_below_the_limit_are_expanded() -> None:
    doc = load_yaml("ports: &ports [22, 3389]\nkey: &k name\nrule: {ports: *ports, *k : x}\n", "f.yaml")
    assert doc.data["rule"] == {"ports": [22, 3389], "name": "x"}


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("a: &a [1, *a]\n", "f.yaml:1:11: recursive YAML alias: it repeats a node that contains it"),
        ("a: &a {b: {c: *a}}\nd: *a\n", "f.yaml:1:15: recursive YAML alias: it repeats a node that contains it"),
    ],
    ids=["sequence", "mapping"],
)
def test_a_recursive_alias_is_refused(text: str, error: str) -> None:
    assert errors_of(text) == [error]


def test_nesting_is_bounded_in_the_text() -> None:
    assert errors_of("a: " + "[" * 5000 + "]" * 5000 + "\n") == [
        f"f.yaml:1:{3 + MAX_DEPTH}: YAML nested too deeply (limit {MAX_DEPTH} levels)"]
    assert errors_of("a: " + "{b: " * 5000 + "1" + "}" * 5000 + "\n")[0].startswith("f.yaml:1:")
    assert load_yaml("a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n", "f.yaml").data is not None


def test_nesting_is_bounded_after_alias_expansion() -> None:
    chain = "".join(f"a{i}: &a{i} [{f'*a{i - 1}' if i else 'x'}]\n" for i in range(400))
    assert errors_of(chain) == [  # at the outermost alias: *a98 in a99, the 100th line
        f"f.yaml:100:12: YAML nested too deeply after alias expansion (limit {MAX_DEPTH} levels)"]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("a: !!python/object:os.system x\n", "1:4: unsupported YAML tag '!!python/object:os.system'"),
        ("a: !!python/name:os.system\n", "1:4: unsupported YAML tag '!!python/name:os.system'"),
        ("a: !!python/object/apply:os.system {args: [ls]}\n", "1:4: unsupported YAML tag '!!python/object/apply:"
                                                             "os.system'"),
        ("a: !!python/object/new:os.system [ls]\n", "1:4: unsupported YAML tag '!!python/object/new:os.system'"),
        ("? !!python/name:os.system\n: 1\n", "1:3: unsupported YAML tag '!!python/name:os.system'"),
        ("a: !!set {x, y}\n", "1:4: unsupported YAML tag '!!set'"),
        ("a: !local x\n", "1:4: unsupported YAML tag '!local'"),
        ("a: !!int twelve\n", "1:4: not a valid !!int value"),
        ("a: !!timestamp yesterday\n", "1:4: not a valid !!timestamp value"),
    ],
    ids=["object", "name", "apply-mapping", "new-sequence", "key", "set", "local", "bad-int", "bad-timestamp"],
)
def test_tags_that_build_no_plain_value_are_located_errors(text: str, error: str) -> None:
    assert errors_of(text) == [f"f.yaml:{error}"]


def test_every_tag_error_in_a_file_is_reported_at_once() -> None:
    assert errors_of("a: !!python/tuple [1]\nb: [ok, !x y]\nc: {d: !!python/none ''}\n") == [
        "f.yaml:1:4: unsupported YAML tag '!!python/tuple'",
        "f.yaml:2:9: unsupported YAML tag '!x'",
        "f.yaml:3:8: unsupported YAML tag '!!python/none'",
    ]


def test_plain_types_and_explicit_plain_tags_still_load() -> None:
    doc = load_yaml("a: [1, 2.5, true, ~, x, '=', =, !!str 5, !!float 1]\n", "f.yaml")
    assert doc.data == {"a": [1, 2.5, True, None, "x", "=", "=", "5", 1.0]}


def test_a_control_character_is_a_located_error() -> None:
    assert errors_of("a: 1\nb: x\x07y\n") == ["f.yaml:2:5: character U+0007 is not allowed in YAML"]


def test_invalid_utf8_is_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_bytes("a: 1\nb: café \xff\n".encode("utf-8", "surrogateescape").replace(b"\xc3\xbf", b"\xff"))
    with pytest.raises(YamlErrors) as caught:
        load_yaml_file(path)
    assert str(caught.value) == f"{path}:2:9: invalid UTF-8 (byte 0xff); save the file as UTF-8"


def test_a_file_past_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_bytes(b"# padding\n" * (MAX_FILE_BYTES // 10 + 1))
    with pytest.raises(YamlErrors) as caught:
        load_yaml_file(path)
    assert str(caught.value) == f"{path}:1:1: file is larger than {MAX_FILE_BYTES} bytes, the limit for YAML files"
    path.write_bytes(b"# padding\n" * (MAX_FILE_BYTES // 10) + b"a: 1\n")
    assert load_yaml_file(path).data == {"a": 1}


def test_several_documents_in_one_file_say_so() -> None:
    assert errors_of("a: 1\n---\nb: 2\n") == [
        "f.yaml:2:1: invalid YAML: expected a single document in the stream, but found another document"]


YAML_PIECES = st.sampled_from([
    "a", ": ", "- ", "\n", "  ", "[", "]", "{", "}", ", ", "&x ", "*x", "&y ", "*y", "!!python/object:os.system ",
    "!!set ", "!t ", "<<: ", "'", '"', "? ", "|", "#", "---\n", "1", "=", "\t", "\x07", "é", "~",
])


@settings(max_examples=400, deadline=None)
@given(st.lists(YAML_PIECES, max_size=40).map("".join))
def test_any_text_loads_or_gives_located_errors(text: str) -> None:
    try:
        load_yaml(text, "f.yaml")
    except YamlErrors as exc:
        assert exc.errors
        assert all(error.location.file == "f.yaml" and error.location.line >= 1 for error in exc.errors)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_load_or_give_located_errors(tmp_path_factory: pytest.TempPathFactory, content: bytes) -> None:
    path = tmp_path_factory.mktemp("bytes") / "f.yaml"
    path.write_bytes(content)
    try:
        load_yaml_file(path)
    except YamlErrors as exc:
        assert all(str(error).startswith(f"{path}:") for error in exc.errors)
