"""Output mappings: `$` passes bytes through; JSONPaths project."""

from __future__ import annotations

import orjson

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
