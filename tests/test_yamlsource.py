from __future__ import annotations

import pytest

from monitor.yamlsource import Location, YamlErrors, load_yaml


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
