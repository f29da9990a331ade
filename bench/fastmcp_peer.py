"""The MCP peer: FastMCP `from_openapi` over the same six upstream routes, stateless with JSON responses.

Runs inside bench/work/fastmcp-venv (its own venv, so it never touches capgate's dependencies):
    bench/work/fastmcp-venv/bin/python bench/fastmcp_peer.py --upstream http://127.0.0.1:P --port Q
FastMCP turns the operationId `list-runs` into the tool name `list_runs`.
"""

from __future__ import annotations

import argparse
from typing import Any

RUN_ID = {"name": "runId", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^run_[a-z0-9]+$"}}
PAGE = {
    "type": "object",
    "properties": {"data": {"type": "array", "items": {"type": "object"}}, "pagination": {"type": "object"}},
}
RUN = {"type": "object", "properties": {"id": {"type": "string"}, "status": {"type": "string"}}}
ID = {"type": "object", "properties": {"id": {"type": "string"}}}


def _ok(schema: dict[str, Any]) -> dict[str, Any]:
    return {"200": {"description": "OK", "content": {"application/json": {"schema": schema}}}}


def _list_query() -> list[dict[str, Any]]:
    array = {"type": "array", "items": {"type": "string"}}
    names = [
        "filter[status]",
        "filter[taskIdentifier]",
        "filter[version]",
        "filter[tag]",
        "filter[queue]",
        "filter[machine]",
        "filter[region]",
    ]
    params: list[dict[str, Any]] = [
        {"name": n, "in": "query", "schema": array, "style": "form", "explode": False} for n in names
    ]
    params += [
        {"name": "filter[isTest]", "in": "query", "schema": {"type": "boolean"}},
        {"name": "filter[createdAt][period]", "in": "query", "schema": {"type": "string"}},
        {"name": "page[size]", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
        {"name": "page[after]", "in": "query", "schema": {"type": "string"}},
        {"name": "page[before]", "in": "query", "schema": {"type": "string"}},
    ]
    return params


def openapi() -> dict[str, Any]:
    def body(schema: dict[str, Any]) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": schema}}}

    return {
        "openapi": "3.0.3",
        "info": {"title": "Trigger.dev runs", "version": "1"},
        "paths": {
            "/api/v1/runs": {
                "get": {
                    "operationId": "list-runs",
                    "summary": "List runs, newest first.",
                    "parameters": _list_query(),
                    "responses": _ok(PAGE),
                }
            },
            "/api/v3/runs/{runId}": {
                "get": {
                    "operationId": "retrieve-run",
                    "summary": "Retrieve a run.",
                    "parameters": [RUN_ID],
                    "responses": _ok(RUN),
                }
            },
            "/api/v2/runs/{runId}/cancel": {
                "post": {
                    "operationId": "cancel-run",
                    "summary": "Cancel a run.",
                    "parameters": [RUN_ID],
                    "responses": _ok(ID),
                }
            },
            "/api/v1/runs/{runId}/replay": {
                "post": {
                    "operationId": "replay-run",
                    "summary": "Replay a run.",
                    "parameters": [RUN_ID],
                    "responses": _ok(ID),
                }
            },
            "/api/v1/runs/{runId}/reschedule": {
                "post": {
                    "operationId": "reschedule-run",
                    "summary": "Reschedule a delayed run.",
                    "parameters": [RUN_ID],
                    "requestBody": body(
                        {"type": "object", "properties": {"delay": {"type": "string"}}, "required": ["delay"]}
                    ),
                    "responses": _ok(RUN),
                }
            },
            "/api/v1/runs/{runId}/tags": {
                "post": {
                    "operationId": "add-tags-run",
                    "summary": "Add tags to a run.",
                    "parameters": [RUN_ID],
                    "requestBody": body(
                        {
                            "type": "object",
                            "properties": {"tags": {"type": "array", "items": {"type": "string"}}},
                            "required": ["tags"],
                        }
                    ),
                    "responses": _ok({"type": "object", "properties": {"message": {"type": "string"}}}),
                }
            },
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", default="tr_dev_bench")
    options = parser.parse_args()

    import httpx2
    import uvicorn
    from fastmcp import FastMCP  # type: ignore[import-not-found]  # only in bench/work/fastmcp-venv

    client = httpx2.AsyncClient(
        base_url=options.upstream,
        headers={"Authorization": f"Bearer {options.key}", "x-trigger-api-version": "2025-07-16"},
        limits=httpx2.Limits(max_connections=512, max_keepalive_connections=512),
    )
    server = FastMCP.from_openapi(openapi_spec=openapi(), client=client, name="trigger-dev-runs")
    app = server.http_app(path="/mcp", stateless_http=True, json_response=True)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=options.port,
        loop="uvloop",
        http="httptools",
        workers=1,
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
