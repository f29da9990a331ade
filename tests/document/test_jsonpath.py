"""JSONPath getters of output mappings: member paths walked directly, the rest through jsonpath-ng, the same
answers either way."""

from __future__ import annotations

import pytest

from capgate.document.jsonpath import ABSENT, compile_path, is_valid

BODY = {
    "data": [{"id": "run_a", "tags": ["x"]}, {"id": "run_b", "tags": []}],
    "pagination": {"next": "abc", "previous": None},
    "odd key": {"a.b": 1},
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("$", BODY),
        ("$.pagination.next", "abc"),
        ("$.pagination.previous", None),  # null is a value, not an absence
        ("$.pagination.missing", ABSENT),
        ("$.data[1].id", "run_b"),
        ("$.data[2].id", ABSENT),
        ("$['odd key']['a.b']", 1),
        ('$["odd key"]', {"a.b": 1}),
        ("$.data.id", ABSENT),  # a list has no keys
        ("$.data[*].id", ["run_a", "run_b"]),
        ("$.data[*]", BODY["data"]),
        ("$.pagination.*", ["abc", None]),
        ("$.data[*].nothing", []),
        ("$.data[?(@.id == 'run_b')].id", ["run_b"]),  # a filter: jsonpath-ng
        ("$..id", ["run_a", "run_b"]),  # recursive descent: jsonpath-ng
    ],
)
def test_a_path_finds_one_value_or_for_a_wildcard_every_match(expression: str, expected: object) -> None:
    assert compile_path(expression)(BODY) == expected


def test_a_single_match_of_a_wildcard_is_still_a_list() -> None:
    assert compile_path("$.data[*]")({"data": [{"id": "only"}]}) == [{"id": "only"}]


def test_paths_over_values_that_are_not_containers_find_nothing() -> None:
    for value in (None, 3, "text", [1, 2]):
        assert compile_path("$.a.b")(value) is ABSENT
    assert compile_path("$.error.message")({"error": {"message": "boom"}}) == "boom"
    assert compile_path("$.error.message")({"error": "boom"}) is ABSENT


def test_validity_is_what_compiles() -> None:
    assert is_valid("$.data[*].id") and is_valid("$..id")
    assert not is_valid("$.data[") and not is_valid("data[[")
