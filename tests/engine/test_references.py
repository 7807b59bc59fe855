from __future__ import annotations

import pytest

from monitor.engine.references import ReferenceError_, References

REFS = References(
    lists={"admin_ports": [22, 3389], "trusted": ["111111111111", "222222222222"]},
    macros={
        "aws_bucket": {"provider": ["aws"], "resource": {"kind": ["bucket"]}},
        "acl_call": {"$macro": "aws_bucket", "operation": ["PutBucketAcl"]},
        "self": {"$macro": "self"},
    },
)


def test_macro_is_merged_deeply() -> None:
    pattern = {"$macro": "aws_bucket", "resource": {"name": [{"prefix": "prod-"}]}}
    assert REFS.expand(pattern) == {
        "provider": ["aws"],
        "resource": {"kind": ["bucket"], "name": [{"prefix": "prod-"}]},
    }


def test_macros_nest_and_lists_expand_in_place() -> None:
    pattern = {"$macro": ["acl_call"], "account": [{"anything-but": [{"list": "trusted"}]}],
               "details": {"ports": [{"list": "admin_ports"}, 8080]}}
    assert REFS.expand(pattern) == {
        "provider": ["aws"], "resource": {"kind": ["bucket"]}, "operation": ["PutBucketAcl"],
        "account": [{"anything-but": ["111111111111", "222222222222"]}],
        "details": {"ports": [22, 3389, 8080]},
    }


@pytest.mark.parametrize(
    ("pattern", "message", "path"),
    [
        ({"$macro": "self"}, "macro 'self' refers to itself (self -> self)", ("$macro",)),
        ({"$macro": "aws_buckt"}, "unknown macro 'aws_buckt' (did you mean 'aws_bucket'?)", ("$macro",)),
        ({"a": [{"list": "nope"}]}, "unknown list 'nope'", ("a", 0, "list")),
        ({"$macro": "aws_bucket", "provider": ["gcp"]},
         "'provider' is given twice (by a macro and the pattern); keep one", ("provider",)),
    ],
)
def test_reference_errors_carry_their_path(pattern: dict[str, object], message: str, path: tuple[object, ...]) -> None:
    with pytest.raises(ReferenceError_) as caught:
        REFS.expand(pattern)
    assert str(caught.value) == message
    assert caught.value.path == path


def test_every_unknown_macro_of_a_list_is_reported_at_its_name() -> None:
    with pytest.raises(ReferenceError_) as caught:
        REFS.expand({"$macro": ["aws_bucket", "nope", "aws_buckt"]})
    assert caught.value.problems == [
        ("unknown macro 'nope'", ("$macro", 1)),
        ("unknown macro 'aws_buckt' (did you mean 'aws_bucket'?)", ("$macro", 2)),
    ]


@pytest.mark.parametrize(
    ("pattern", "message", "path"),
    [
        ({"$macro": {"aws_bucket": 1}}, "$macro takes a macro name or a list of names", ("$macro",)),
        ({"$macro": [["aws_bucket"]]}, "$macro takes a macro name or a list of names", ("$macro",)),
        ({"a": [{"list": ["nope"]}]}, "{list: NAME} takes the name of a list", ("a", 0, "list")),
    ],
    ids=["macro-mapping", "macro-nested-list", "list-of-lists"],
)
def test_references_that_are_not_names_are_errors(pattern: dict[str, object], message: str,
                                                  path: tuple[object, ...]) -> None:
    with pytest.raises(ReferenceError_) as caught:
        REFS.expand(pattern)
    assert (str(caught.value), caught.value.path) == (message, path)
