"""Arguments are bounded in size whatever the document says: by its maxItems and maxLength where it states
them, by capgate's defaults (1000 items, 65536 characters) where it does not, inside undescribed parts too."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from capgate.consumes.validation import Invalid, compile_schema
from capgate.core.bounds import DEFAULT_MAX_ITEMS, DEFAULT_MAX_LENGTH
from capgate.gateway.safeguards import Hardening
from tests.support.gateway import RUN, gateway_config, running_gateway
from tests.support.http import rest_call
from tests.support.upstream import RecordingUpstream

pytestmark = pytest.mark.anyio

TOO_MANY = ["t"] * (DEFAULT_MAX_ITEMS + 1)
TOO_LONG = "x" * (DEFAULT_MAX_LENGTH + 1)


@pytest.mark.parametrize(
    "schema,value,where",
    [
        ({"type": "array"}, TOO_MANY, ""),
        ({"type": "string"}, TOO_LONG, ""),
        ({"type": ["string", "null"]}, TOO_LONG, ""),
        ({"type": "object"}, {"tags": TOO_MANY}, ".tags"),
        ({"type": "object", "properties": {"a": {"type": "integer"}}}, {"a": 1, "b": [{"c": TOO_LONG}]}, ".b[0].c"),
        ({"type": "array", "maxItems": 5000}, [TOO_MANY], "[0]"),
        ({"description": "anything"}, {"deep": {"list": TOO_MANY}}, ".deep.list"),
    ],
)
def test_what_the_schema_does_not_bound_capgate_does(schema: dict[str, Any], value: Any, where: str) -> None:
    with pytest.raises(Invalid) as refused:
        compile_schema(schema)(value)
    assert refused.value.path == where and "capgate's bound where the document states none" in refused.value.reason


def test_the_documents_own_bounds_win_either_way() -> None:
    assert len(compile_schema({"type": "array", "maxItems": 5000})(TOO_MANY)) == DEFAULT_MAX_ITEMS + 1
    assert compile_schema({"type": "string", "maxLength": 100_000})(TOO_LONG) == TOO_LONG
    with pytest.raises(Invalid, match="at most 2 items"):
        compile_schema({"type": "array", "maxItems": 2})(["a", "b", "c"])
    at_the_bound = {"tags": ["t"] * DEFAULT_MAX_ITEMS, "note": "x" * DEFAULT_MAX_LENGTH}
    assert compile_schema({"type": "object"})(at_the_bound) == at_the_bound


async def test_a_100000_item_tags_array_is_not_forwarded_on_either_adapter(upstream: RecordingUpstream) -> None:
    """The seed document types the tags call's body as any object: capgate's bound is all there is."""
    tags = [f"t{index}" for index in range(100_000)]
    config = gateway_config(
        "trigger-dev-runs-seed", upstream.url, hardening=Hardening(audit_log=None, max_body_bytes=4 * 1024 * 1024)
    )
    with running_gateway(config) as gateway:
        async with Client(gateway.mcp) as client:
            result = await client.call_tool("add-tags-run", {"runId": RUN, "body": {"tags": tags}})
        status, _, content = await rest_call(gateway.rest, "PUT", f"/v1/api/v1/runs/{RUN}/tags", body={"tags": tags})
    assert result.is_error and "body.tags: must have at most 1000 items (got 100000)" in result.content[0].text
    assert status == 400 and b"body.tags" in content
    assert upstream.requests == []
