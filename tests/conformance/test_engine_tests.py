"""The suite's test documents served, each checked for what the reference engine's own test of it expects
upstream (naftiko/framework v1.0.0-alpha2, src/test/java: the test named above each case)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from mcp import Client

from tests.conformance.ikanos_suite import ENGINE, VERSIONS
from tests.conformance.ikanos_suite import path as ikanos_path
from tests.conformance.serving import RoutedUpstream, Served, routed_upstream, serving
from tests.conformance.suite import TESTS1, TESTS2, path
from tests.support.http import rest_call

pytestmark = pytest.mark.anyio


@pytest.fixture
def upstream() -> Iterator[RoutedUpstream]:
    with routed_upstream() as upstream:
        yield upstream


Doc = Callable[[str], str]  # a test document's name -> its path, in the dialect the test runs with


ROOTS = {"naftiko-alpha2": path(TESTS2), **{f"ikanos-{v[-5:]}": ikanos_path(f"{v}/{ENGINE}") for v in VERSIONS}}


@pytest.fixture(params=list(ROOTS.values()), ids=list(ROOTS))
def doc(request: pytest.FixtureRequest) -> Doc:
    """Each engine test runs on the alpha2 document and on its Ikanos twins (the same test of naftiko/ikanos at
    beta3, beta4 and beta5)."""
    root: Path = request.param
    return lambda name: str(root / name)


async def tool_call(served: Served, namespace: str, tool: str, arguments: dict[str, Any]) -> Any:
    async with Client(served.urls[namespace]) as client:
        return await client.call_tool(tool, arguments)


async def test_http_body_templating(upstream: RoutedUpstream, doc: Doc) -> None:
    """HttpBodyIntegrationTest: inputs read by JSONPath from the caller's body fill the upstream body."""
    with serving(doc("http/http-body-capability.yaml"), upstream.url) as served:
        status, _, _ = await rest_call(
            served.urls["test-http-body"], "POST", "/users", body={"user": {"id": "123", "name": "Alice"}}
        )
    assert status == 200
    sent = upstream.last
    assert (sent.method, sent.path, sent.body) == ("POST", "/create", b'{"id":"123","name":"Alice"}\n')
    assert sent.headers["content-type"] == "application/json"


async def test_headers_and_query_from_a_value_template(upstream: RoutedUpstream, doc: Doc) -> None:
    """HeaderQueryIntegrationTest: `q: {{userId}}` carries the body's value, unquoted; X-API-Key is fixed."""
    with serving(doc("http/http-header-query-capability.yaml"), upstream.url) as served:
        await rest_call(served.urls["test-http"], "POST", "/search", body={"user": {"id": "999"}})
    sent = upstream.last
    assert (sent.path, sent.query, sent.headers["x-api-key"]) == ("/items", "q=999", "ABC123")


async def test_forward_sets_the_namespaces_fixed_headers(upstream: RoutedUpstream, doc: Doc) -> None:
    """ForwardValueFieldTest / ForwardHeaderIntegrationTest: a forwarded request carries the namespace's values."""
    with serving(doc("http/http-forward-value-capability.yaml"), upstream.url) as served:
        status, _, body = await rest_call(
            served.urls["sample"],
            "GET",
            "/forward/pages/42",
            query="expand=true",
            headers={"Authorization": "Bearer the-callers-own", "X-Trace": "abc"},
        )
    assert status == 200 and orjson.loads(body)["echo"]["path"] == "/pages/42"
    sent = upstream.last
    assert sent.query == "expand=true"
    assert (sent.headers["x-api-version"], sent.headers["x-api-key"]) == ("2026-03-03", "secret-key-123")
    assert "authorization" not in sent.headers and "x-trace" not in sent.headers  # not trusted: not copied


async def test_forward_copies_only_trusted_headers_and_authenticates(upstream: RoutedUpstream, doc: Doc) -> None:
    """register.capability.yml: Notion-Version is trusted, the namespace's basic authentication is added."""
    with serving(doc("register.capability.yml"), upstream.url) as served:
        await rest_call(
            served.urls["documentation"],
            "GET",
            "/notion/users/me",
            headers={"Notion-Version": "2025-09-03", "X-Other": "dropped"},
        )
    sent = upstream.last
    assert (sent.path, sent.headers["notion-version"]) == ("/users/me", "2025-09-03")
    assert sent.headers["authorization"] == "Basic c2NvdHQ6dGlnZXI="  # scott:tiger
    assert "x-other" not in sent.headers


async def test_forward_refuses_a_path_that_climbs_out(upstream: RoutedUpstream, doc: Doc) -> None:
    with serving(doc("register.capability.yml"), upstream.url) as served:
        status, _, _ = await rest_call(served.urls["documentation"], "GET", "/notion/a%2F..%2Fsecret")
    assert status == 400 and upstream.requests == []


async def test_a_with_template_fills_the_upstream_path(upstream: RoutedUpstream, doc: Doc) -> None:
    """ToolHandlerTest (#204): `imo_number: "{{imo}}"` resolves before the path is filled."""
    with serving(doc("mcp/mcp-tool-handler-with-mustache-capability.yaml"), upstream.url) as served:
        result = await tool_call(served, "shipyard-tools", "get-ship", {"imo": "IMO-9321483"})
    assert result.is_error is False
    assert upstream.last.path == "/ships/IMO-9321483"


async def test_a_steps_with_reference_in_the_tools_namespace(upstream: RoutedUpstream, doc: Doc) -> None:
    """StepWithNamespaceIntegrationTest (#290): `voyageId: shipyard-tools.voyageId` in a step's `with`."""
    upstream.route("GET", "/voyages/VOY-1", {"voyageId": "VOY-1", "status": "planned"})
    with serving(doc("mcp/mcp-step-with-namespace-capability.yaml"), upstream.url) as served:
        result = await tool_call(served, "shipyard-tools", "get-voyage-manifest", {"voyageId": "VOY-1"})
    assert orjson.loads(result.content[0].text) == {"voyageId": "VOY-1"}  # type: ignore[union-attr]
    assert upstream.last.path == "/voyages/VOY-1"


async def test_an_aggregate_functions_steps_read_its_own_namespace(upstream: RoutedUpstream, doc: Doc) -> None:
    """AggregateStepNamespaceIntegrationTest (#290): `voyage-id: shipyard.voyage-id` inside the function."""
    upstream.route("GET", "/voyages/VOY-7", {"voyageId": "VOY-7"})
    with serving(doc("aggregates/aggregate-step-with-namespace.yaml"), upstream.url) as served:
        result = await tool_call(served, "shipyard-mcp", "get-voyage-manifest", {"voyage-id": "VOY-7"})
    assert orjson.loads(result.content[0].text) == {"voyage-id": "VOY-7"}  # type: ignore[union-attr]


async def test_a_shared_mock_function_answers_both_adapters(upstream: RoutedUpstream, doc: Doc) -> None:
    """AggregateSharedMockIntegrationTest: one mock function, by MCP and by REST, nothing sent upstream."""
    with serving(doc("aggregates/aggregate-shared-mock.yaml"), upstream.url) as served:
        result = await tool_call(served, "greeting-mcp", "hello", {"name": "Ada"})
        status, _, body = await rest_call(served.urls["greeting-rest"], "GET", "/hello", query="name=Grace")
    expected = {"message": "Hello, Ada!", "source": "aggregate-mock"}
    assert orjson.loads(result.content[0].text) == expected  # type: ignore[union-attr]
    assert (status, orjson.loads(body)) == (200, {**expected, "message": "Hello, Grace!"})
    assert upstream.requests == []


async def test_hints_derived_from_semantics_and_overridden(upstream: RoutedUpstream, doc: Doc) -> None:
    """AggregateIntegrationTest / McpToolHintsIntegrationTest: safe gives read-only, stated hints win."""
    with serving(doc("aggregates/aggregate-hints-override.yaml"), upstream.url) as served:
        async with Client(served.urls["data-mcp"]) as client:
            tools = {tool.name: tool.annotations for tool in (await client.list_tools()).tools}
    assert tools["read-items"] is not None and tools["delete-item"] is not None
    assert (tools["read-items"].read_only_hint, tools["read-items"].destructive_hint) == (True, False)
    assert tools["read-items"].idempotent_hint is True
    assert (tools["delete-item"].read_only_hint, tools["delete-item"].destructive_hint) == (False, True)
    assert (tools["delete-item"].idempotent_hint, tools["delete-item"].open_world_hint) == (True, False)


async def test_a_ref_tool_inherits_the_functions_name_and_calls_its_operation(
    upstream: RoutedUpstream, doc: Doc
) -> None:
    """AggregateIntegrationTest: `ref` with no description takes the function's; a relative path is joined."""
    upstream.route("GET", "/forecast", {"forecast": "sunny"})
    with serving(doc("aggregates/aggregate-basic.yaml"), upstream.url) as served:
        async with Client(served.urls["forecast-mcp"]) as client:
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
            result = await client.call_tool("get-forecast-inherited", {"location": "Oslo"})
    assert tools["get-forecast-inherited"].description == "Fetch current weather forecast for a location."
    assert orjson.loads(result.content[0].text) == "sunny"  # type: ignore[union-attr]
    assert upstream.last.path == "/forecast"


async def test_a_fixed_body_and_a_header_go_upstream_and_outputs_map(upstream: RoutedUpstream, doc: Doc) -> None:
    """McpIntegrationTest: query-database posts its fixed filter to databases/test-db-id-123/query."""
    upstream.route(
        "POST",
        "/databases/test-db-id-123/query",
        {
            "results": [
                {
                    "properties": {
                        "Name": {"title": [{"text": {"content": "Ada"}}]},
                        "Status": {"select": {"name": "Committed"}},
                    }
                }
            ]
        },
    )
    with serving(doc("mcp/mcp-capability.yaml"), upstream.url) as served:
        result = await tool_call(served, "test-mcp", "query-database", {})
    assert orjson.loads(result.content[0].text) == [{"name": "Ada", "status": "Committed"}]  # type: ignore[union-attr]
    sent = upstream.last
    assert sent.json() == {"filter": {"property": "Status", "select": {"equals": "Committed"}}}
    assert sent.headers["content-type"] == "application/json"


async def test_nested_objects_without_a_mapping_of_their_own(upstream: RoutedUpstream, doc: Doc) -> None:
    """NestedObjectOutputMappingIntegrationTest: `specs` has properties and no mapping."""
    upstream.route(
        "GET",
        "/ships/IMO-1",
        {
            "imo_number": "IMO-1",
            "vessel_name": "A",
            "operational_status": "x",
            "year_built": 2001,
            "gross_tonnage": 10,
            "dimensions": {"length_overall": 5},
        },
    )
    with serving(doc("nested-object-output-capability.yaml"), upstream.url) as served:
        result = await tool_call(served, "test-tools", "get-ship", {"imo": "IMO-1"})
    assert orjson.loads(result.content[0].text) == {  # type: ignore[union-attr]
        "imo": "IMO-1",
        "name": "A",
        "status": "x",
        "specs": {"yearBuilt": 2001, "tonnage": 10, "length": 5},
    }


SAMPLES = Path(path(f"{TESTS2}/schemas"))


@pytest.mark.parametrize(
    ("document", "route", "sample", "content_type", "expected"),
    [
        ("csv", "/csv/users", "sample-users.csv", "text/csv", "Alice Smith"),
        ("yaml", "/yaml/users", "sample-users.yaml", "application/yaml", "Alice Smith"),
        ("html", "/html/products", "sample-products.html", "text/html", "Widget"),
        ("markdown", "/markdown/features", "sample-readme.md", "text/markdown", "HTML support"),
    ],
)
async def test_answers_in_other_formats_are_mapped(
    upstream: RoutedUpstream, document: str, route: str, sample: str, content_type: str, expected: str, doc: Doc
) -> None:
    """CsvIntegrationTest, YamlIntegrationTest, HtmlIntegrationTest, MarkdownIntegrationTest."""
    spec = doc(f"formats/{document}-capability.yaml")
    consumed = {"csv": "/api/users", "yaml": "/api/users", "html": "/api/products", "markdown": "/api/readme"}
    upstream.route("GET", consumed[document], raw=(SAMPLES / sample).read_bytes(), content_type=content_type)
    with serving(spec, upstream.url) as served:
        status, _, body = await rest_call(served.urls[f"test-{document}"], "GET", route)
    mapped = orjson.loads(body)
    assert status == 200 and isinstance(mapped, list) and expected in orjson.dumps(mapped[0]).decode()


async def test_xml_is_read_as_its_engine_reads_it_without_the_root(upstream: RoutedUpstream, doc: Doc) -> None:
    """XmlIntegrationTest: the engine drops the root element, so the document's `$.root.user` finds nothing;
    the engine then answers the XML as it came, capgate the empty array the mapping declares (docs/format.md)."""
    upstream.route("GET", "/api/users", raw=(SAMPLES / "sample-users.xml").read_bytes(), content_type="application/xml")
    with serving(doc("formats/xml-capability.yaml"), upstream.url) as served:
        status, _, body = await rest_call(served.urls["test-xml"], "GET", "/xml/users")
    assert (status, body) == (200, b"[]")
    assert upstream.last.headers["user-agent"] == "Naftiko/1.0.0-alpha2"


async def test_xml_elements_map_when_the_path_leaves_out_the_root(upstream: RoutedUpstream, doc: Doc) -> None:
    """The tutorial's legacy dockyard (step 5) maps `$.vessel`: the root's children, as the engine reads XML."""
    xml = b"<users><user><id>1</id><name>Ada</name><email>a@x</email></user><user><id>2</id></user></users>"
    upstream.route("GET", "/api/users", raw=xml, content_type="application/xml")
    with serving(doc("formats/xml-capability.yaml"), upstream.url) as served:
        status, _, body = await rest_call(served.urls["test-xml"], "GET", "/xml/users")
    assert (status, orjson.loads(body)) == (200, [])  # `$.root.user`: there is no `root` below the root


async def test_alpha1_accepts_a_trailing_slash_and_joins_paths_once(upstream: RoutedUpstream) -> None:
    """alpha1's engine accepts `baseUri: http://localhost:8080/v1/` with `path: api/users`."""
    upstream.route("GET", "/api/users", raw=(SAMPLES / "sample-users.csv").read_bytes(), content_type="text/csv")
    with serving(str(path(f"{TESTS1}/csv-capability.yaml")), upstream.url) as served:
        status, _, body = await rest_call(served.urls["test-csv"], "GET", "/csv/users")
    assert status == 200 and orjson.loads(body)[0]["name"] == "Alice Smith"
    assert upstream.last.path == "/api/users"


async def test_resources_and_prompts(upstream: RoutedUpstream, doc: Doc) -> None:
    """ResourcesPromptsIntegrationTest: resources/list, templates, a read through the fixed query, prompts."""
    upstream.route("POST", "/databases/test-db-id-123/query", {"results": []})
    upstream.route("POST", "/databases/u-42/query", {"results": [{"id": "u-42"}]})
    with serving(doc("mcp/mcp-resources-prompts-capability.yaml"), upstream.url) as served:
        async with Client(served.urls["test-mcp-resources-prompts"]) as client:
            listed = (await client.list_resources()).resources
            templates = (await client.list_resource_templates()).resource_templates
            schema = await client.read_resource("data://databases/pre-release/schema")
            profile = await client.read_resource("data://users/u-42/profile")
            prompts = (await client.list_prompts()).prompts
            outreach = await client.get_prompt(
                "participant-outreach", {"participant_name": "Alice", "product_name": "Naftiko"}
            )
            summary = await client.get_prompt("summary-prompt", {"data": "item1, item2", "format": "{{data}}"})
    assert [(r.name, r.title, str(r.uri), r.mime_type) for r in listed] == [
        ("database-schema", "Database Schema", "data://databases/pre-release/schema", "application/json")
    ]
    assert [(t.name, t.title, t.uri_template) for t in templates] == [
        ("user-profile", "User Profile", "data://users/{userId}/profile")
    ]
    assert orjson.loads(schema.contents[0].text) == {"results": []}  # type: ignore[union-attr]
    assert orjson.loads(profile.contents[0].text) == {"results": [{"id": "u-42"}]}  # type: ignore[union-attr]
    assert [r.path for r in upstream.requests] == ["/databases/test-db-id-123/query", "/databases/u-42/query"]
    assert [(p.name, p.title, [(a.name, a.required) for a in p.arguments or []]) for p in prompts] == [
        ("participant-outreach", "Participant Outreach", [("participant_name", True), ("product_name", True)]),
        ("summary-prompt", "Summary Prompt", [("data", True), ("format", False)]),
    ]
    assert [(m.role, m.content.text) for m in outreach.messages] == [  # type: ignore[union-attr]
        (
            "user",
            "Draft a personalized outreach email to Alice about the upcoming Naftiko pre-release. "
            "Be professional but friendly.",
        )
    ]
    # an argument's own placeholder is not read again
    assert summary.messages[0].content.text == "Summarize the following data in {{data}} format:\n\nitem1, item2"  # type: ignore[union-attr]
    assert [m.role for m in summary.messages] == ["user", "assistant", "user"]


async def test_a_prompt_missing_a_required_argument_is_refused(upstream: RoutedUpstream, doc: Doc) -> None:
    from mcp import MCPError

    with serving(doc("mcp/mcp-resources-prompts-capability.yaml"), upstream.url) as served:
        async with Client(served.urls["test-mcp-resources-prompts"]) as client:
            with pytest.raises(MCPError, match="needs the argument.s. product_name"):
                await client.get_prompt("participant-outreach", {"participant_name": "Alice"})


async def test_static_resources_are_the_files_of_a_directory(upstream: RoutedUpstream, tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide.md").write_text("# Guide\n")
    document = tmp_path / "static.yaml"
    document.write_text(
        "naftiko: 1.0.0-alpha2\ncapability:\n  exposes:\n  - type: mcp\n    namespace: files\n    port: 1\n"
        "    tools: []\n    resources:\n    - name: docs\n      uri: docs://guides\n      description: the guides\n"
        f"      location: file://{tmp_path / 'docs'}\n"
    )
    with serving(str(document), upstream.url) as served:
        async with Client(served.urls["files"]) as client:
            listed = (await client.list_resources()).resources
            read = await client.read_resource("docs://guides/guide.md")
            from mcp import MCPError

            with pytest.raises(MCPError, match="unsafe path segment"):
                await client.read_resource("docs://guides/../static.yaml")
    assert [(str(r.uri), r.mime_type) for r in listed] == [("docs://guides/guide.md", "text/markdown")]
    assert read.contents[0].text == "# Guide\n"  # type: ignore[union-attr]


async def test_a_stdio_document_is_served_on_stdin_and_stdout(upstream: RoutedUpstream, doc: Doc) -> None:
    """StdioIntegrationTest: mcp-stdio-capability.yaml's query-database over newline-delimited JSON-RPC."""
    import os
    import sys

    from mcp import StdioServerParameters

    upstream.route("POST", "/databases/test-db-id-123/query", {"results": []})
    parameters = StdioServerParameters(
        command=sys.executable,
        args=[
            "-m",
            "capgate.cli",
            "serve",
            doc("mcp/mcp-stdio-capability.yaml"),
            "--base-uri",
            f"mock-api={upstream.url}",
        ],
        env=dict(os.environ),
    )
    async with Client(parameters) as client:
        tools = (await client.list_tools()).tools
        result = await client.call_tool("query-database", {})
    assert [tool.name for tool in tools] == ["query-database"]
    assert result.is_error is False and orjson.loads(result.content[0].text) == []  # type: ignore[union-attr]
    assert upstream.last.path == "/databases/test-db-id-123/query"
