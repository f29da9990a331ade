"""Trigger.dev's nine management surfaces as capgate serves them together: the bundled runs document and the
eight small documents of tests/support/documents/trigger-dev, and a document of one route and one tool to
collide with them."""

from __future__ import annotations

from pathlib import Path

from capgate.document.bundled import bundled_documents
from capgate.document.load import load_document
from capgate.document.models import ExposesMcp

MANAGEMENT = Path(__file__).resolve().parent / "documents" / "trigger-dev"
NINE = ("trigger-dev-runs", str(MANAGEMENT))  # a bundled name and a folder, as a user names them
NAMESPACES = [
    "management-runs",
    "management-batches",
    "management-deployments",
    "management-envvars",
    "management-query",
    "management-queues",
    "management-schedules",
    "management-tasks",
    "management-waitpoints",
]


def tool_count(document: str | Path) -> int:
    """How many MCP tools a document declares."""
    spec = load_document(str(document)).document
    return sum(len(adapter.tools) for adapter in spec.capability.exposes if isinstance(adapter, ExposesMcp))


# Counted, not written down: the bundled runs document gains tools as capgate grows.
RUNS_TOOLS = tool_count(bundled_documents()["trigger-dev-runs"])
NINE_TOOLS = RUNS_TOOLS + sum(tool_count(path) for path in sorted(MANAGEMENT.glob("*.yaml")))


# The REST routes of the bundled runs document, with capgate's probes: what its OpenAPI and docs page list.
RUNS_ROUTES = [
    "GET /v1/api/v1/runs",
    "GET /v1/api/v1/runs/{runid}",
    "GET /v1/api/v3/runs/{runid}",
    "POST /v1/api/v1/runs/{runid}/cancel",
    "POST /v1/api/v2/runs/{runid}/cancel",
    "POST /v1/api/v1/runs/{runid}/replay",
    "POST /v1/api/v1/runs/{runid}/reschedule",
    "PUT /v1/api/v1/runs/{runid}/tags",
    "POST /v1/api/v1/runs/{runid}/tags",
    "POST /v1/api/v1/tasks/{taskid}/trigger",
    "GET /v1/api/v1/runs/{runid}/trace",
    "GET /v1/api/v1/runs/{runid}/events",
    "PUT /v1/api/v1/runs/{runid}/metadata",
    "GET /healthz",
    "GET /readyz",
]


def pointed_at(url: str) -> dict[str, str]:
    """Every namespace of the nine sent to `url`: one origin, as the key they share may go to one only."""
    return dict.fromkeys(NAMESPACES, url)


def base_uri_flags(url: str) -> list[str]:
    """`pointed_at(url)` as `--base-uri` flags."""
    return [flag for namespace in NAMESPACES for flag in ("--base-uri", f"{namespace}={url}")]


def one_route(
    namespace: str = "extra",
    *,
    tool: str = "extra-tool",
    route: str = "/v1/extra",
    method: str = "GET",
    base_uri: str = "https://api.trigger.dev",
    variable: str = "TRIGGER_DEV_API_KEY",
    key: str = "TRIGGER_DEV_API_KEY",
    consumes_extra: str = "",
    mcp_extra: str = "",
) -> str:
    """A document of one consumed operation, one REST route and one MCP tool, each named as asked; its key is
    `variable`, bound from the environment variable `key`; `mcp_extra` is YAML added to its MCP adapter."""
    return f"""naftiko: 1.0.0-alpha2
info:
  label: One route
binds:
- namespace: env
  keys:
    {variable}: {key}
capability:
  consumes:
  - type: http
    namespace: {namespace}
    baseUri: {base_uri}
    authentication:
      type: bearer
      token: '{{{{{variable}}}}}'
{consumes_extra}    resources:
    - name: thing
      path: /api/v1/thing
      operations:
      - name: readthing
        method: GET
  exposes:
  - type: rest
    namespace: {namespace}-rest
    port: 8081
    resources:
    - path: {route}
      operations:
      - method: {method}
        call: {namespace}.readthing
  - type: mcp
    namespace: {namespace}-mcp
    port: 9091
    tools:
    - name: {tool}
      description: Read the thing.
      call: {namespace}.readthing
{mcp_extra}"""


def one_prompt(name: str, content: str = "Look at the thing.") -> str:
    """`one_route`'s `mcp_extra` for an MCP adapter with one prompt, `name`, of one user message."""
    return f"    prompts:\n    - name: {name}\n      template:\n      - role: user\n        content: {content}\n"


def line_of(path: Path, fragment: str, after: str = "") -> int:
    """The line of `path` on which `fragment` first appears (after the first `after`)."""
    text = path.read_text()
    start = text.index(after) if after else 0
    return text[: text.index(fragment, start)].count("\n") + 1
