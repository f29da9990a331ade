"""Output mappings: `$` passes bytes through; JSONPaths project."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from capgate.document.models import OutputParameter
from capgate.exposes.output import apply_output, compile_output

BODY = {
    "data": [{"id": "run_a", "status": "QUEUED"}, {"id": "run_b", "status": "FAILED"}],
    "pagination": {"next": "abc"},
}


def output(**fields: object) -> OutputParameter:
    return OutputParameter.model_validate(fields)


def test_whole_body_mappings_pass_through() -> None:
    assert compile_output([]) is None
    for mapping in ("$", "$."):
        assert compile_output([output(type="object", mapping=mapping)]) is None


def test_object_array_and_scalar_projections() -> None:
    projection = compile_output(
        [
            output(
                type="object",
                properties={
                    "ids": {"type": "array", "mapping": "$.data[*]", "items": {"type": "string", "mapping": "$.id"}},
                    "next": {"type": "string", "mapping": "$.pagination.next"},
                    "kind": {"type": "string", "value": "runs"},
                },
            )
        ]
    )
    assert projection is not None
    assert orjson.loads(apply_output(projection, orjson.dumps(BODY))) == {
        "ids": ["run_a", "run_b"],
        "next": "abc",
        "kind": "runs",
    }


def test_a_body_that_is_not_json_is_returned_as_it_came() -> None:
    projection = compile_output([output(type="string", mapping="$.id")])
    assert projection is not None
    assert apply_output(projection, b"<html>") == b"<html>"


RUN_MAPPING = output(
    type="object",
    properties={
        "data": {
            "type": "array",
            "mapping": "$.data",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string", "mapping": "$.id"},
                    "attempts": {"type": "integer", "mapping": "$.attempts"},
                    "cost": {"type": "number", "mapping": "$.cost"},
                    "isTest": {"type": "boolean", "mapping": "$.isTest"},
                    "tags": {"type": "array", "mapping": "$.tags", "items": {"type": "string"}},
                    "error": {
                        "type": "object",
                        "mapping": "$.error",
                        "properties": {"message": {"type": "string", "mapping": "$.message"}},
                    },
                    "payload": {"type": "object", "mapping": "$.payload"},
                    "anything": {"mapping": "$.anything"},
                },
            },
        },
        "next": {"type": "string", "mapping": "$.pagination.next", "description": "The next page's cursor."},
        "kind": {"type": "string", "value": "runs"},
    },
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=12,
)
RUN_LIKE = st.fixed_dictionaries(
    {},
    optional={
        key: JSON | st.just(value)
        for key, value in {
            "id": "run_a",
            "attempts": 2,
            "cost": 0.5,
            "isTest": True,
            "tags": ["a", "b"],
            "error": {"message": "boom"},
            "payload": {"x": 1},
            "anything": [1],
        }.items()
    },
)
BODIES = JSON | st.fixed_dictionaries(
    {}, optional={"data": st.lists(RUN_LIKE | JSON, max_size=4) | JSON, "pagination": JSON | st.just({"next": "c"})}
)


@given(BODIES)
@settings(max_examples=300, deadline=None)
def test_whatever_the_upstream_sends_the_projection_validates_against_its_schema(body: object) -> None:
    mapping = compile_output([RUN_MAPPING])
    assert mapping is not None
    validator = Draft202012Validator(mapping.schema)
    projected = mapping.project(body)
    assert list(validator.iter_errors(projected)) == [], (body, projected)


def test_the_schema_is_2020_12_and_says_what_is_always_there() -> None:
    mapping = compile_output([RUN_MAPPING])
    assert mapping is not None
    Draft202012Validator.check_schema(mapping.schema)
    schema = mapping.schema
    assert schema["required"] == ["data", "kind"]  # arrays and constants always; mapped values when present
    assert schema["additionalProperties"] is False
    assert schema["properties"]["next"] == {"type": "string", "description": "The next page's cursor."}
    item = schema["properties"]["data"]["items"]
    assert item["required"] == ["tags"]
    assert item["properties"]["anything"] == {}


def test_values_of_the_wrong_type_are_left_out_and_elements_that_do_not_fit_dropped() -> None:
    mapping = compile_output([RUN_MAPPING])
    assert mapping is not None
    body = {
        "data": [
            {"id": 7, "attempts": True, "cost": "1", "tags": ["a", 2, None], "error": "boom", "payload": [1]},
            "not a run",
        ],
        "pagination": {"next": None},
    }
    assert mapping.project(body) == {"data": [{"tags": ["a"]}], "kind": "runs"}
    assert mapping.project(["not", "an", "object"]) == {"data": [], "kind": "runs"}
