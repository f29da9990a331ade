"""Property: an output mapping never raises, whatever JSON the upstream answers, for every kind of path (member
paths, trailing wildcards, and what goes to jsonpath-ng: filters, recursive descent); its answer is JSON and
validates against the schema the mapping advertises (or is null, when a root mapping finds nothing)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from capgate.document.models import OutputParameter
from capgate.exposes.output import apply_output, compile_output

# derandomize, no database: the same examples on every run and every machine, so that CI is stable
PROPERTY = settings(max_examples=200, deadline=None, derandomize=True, database=None)

keys = st.sampled_from(["data", "id", "status", "pagination", "next", "tags", "0", ""])
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=20,
)

MAPPINGS: list[dict[str, Any]] = [
    {"type": "string", "mapping": "$.id"},
    {"type": "string", "mapping": "$.data[0].id"},
    {"type": "array", "mapping": "$.data[*]", "items": {"type": "string", "mapping": "$.id"}},
    {"type": "array", "mapping": "$.data", "items": {"type": "object", "properties": {"s": {"mapping": "$.status"}}}},
    {"type": "array", "mapping": "$.tags", "items": {"type": "string"}},
    {"type": "array", "mapping": "$..id", "items": {"type": "string"}},
    {"type": "array", "mapping": "$.data[?(@.status == 'FAILED')]", "items": {"mapping": "$.id"}},
    {"type": "array", "mapping": "$.data[?(@.n > 2)]", "items": {"mapping": "$.id"}},
    {
        "type": "object",
        "mapping": "$.pagination",
        "properties": {"next": {"type": "string", "mapping": "$.next"}, "kind": {"value": "page"}},
    },
    {
        "type": "object",
        "properties": {
            "ids": {"type": "array", "mapping": "$.data[*]", "items": {"type": "string", "mapping": "$.id"}},
            "next": {"type": "string", "mapping": "$.pagination.next"},
            "count": {"type": "integer", "mapping": "$.data.length"},
        },
    },
]


@pytest.mark.parametrize("mapping", MAPPINGS, ids=[str(index) for index in range(len(MAPPINGS))])
@PROPERTY
@given(body=json_values)
@example(body={"data": [True]})  # `$.data[*]` finding one match that is not a list once raised TypeError
@example(body={"data": 7, "tags": {"a": 1}, "pagination": []})
def test_a_mapping_never_raises_on_any_json(mapping: dict[str, Any], body: Any) -> None:
    projection = compile_output([OutputParameter.model_validate(mapping)])
    assert projection is not None
    answer = orjson.loads(apply_output(projection, orjson.dumps(body)))  # JSON, whatever the body
    # A root mapping that finds nothing has no parent to be left out of: it answers null.
    assert answer is None or list(Draft202012Validator(projection.schema).iter_errors(answer)) == []


@PROPERTY
@given(items=st.lists(st.dictionaries(st.just("id"), st.text(max_size=5), min_size=1), max_size=4))
def test_an_array_mapping_gives_every_item_whatever_their_number(items: list[dict[str, str]]) -> None:
    """`$.data[*]` finds one match when the list has one item: still a list of one, not that item's keys."""
    projection = compile_output([OutputParameter.model_validate(MAPPINGS[2])])
    assert projection is not None
    assert orjson.loads(apply_output(projection, orjson.dumps({"data": items}))) == [item["id"] for item in items]
