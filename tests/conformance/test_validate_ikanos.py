"""`capgate validate` on every Ikanos document of the suite (naftiko/ikanos at beta3, beta4 and beta5): accepted
where the engine loads it, refused for the engine's reason where its tests expect a refusal, and each read as
Ikanos; the imports of every section; and no file of the data left unlisted."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from capgate.core.errors import DocumentError
from capgate.document.load import load_document
from tests.conformance.ikanos_suite import DATA, DATA_FILES, DOCUMENTS, ENGINE, IMPORTED, path
from tests.conformance.suite import Entry
from tests.support.cli import capgate

IMPORTS = path(f"v1.0.0-beta5/{ENGINE}/imports")


@pytest.mark.parametrize("entry", DOCUMENTS, ids=[entry.path for entry in DOCUMENTS])
def test_each_document_loads_or_is_refused_for_the_engines_reason(entry: Entry) -> None:
    if entry.refused is None and entry.gap is None:
        loaded = load_document(str(path(entry.path)))
        declared = yaml.safe_load(path(entry.path).read_text())["ikanos"]  # beta4's e2e document says beta3
        assert loaded.document.dialect == f"ikanos {declared}"
        return
    with pytest.raises(DocumentError) as raised:
        load_document(str(path(entry.path)))
    reason = entry.refused or entry.gap
    assert reason is not None
    assert any(reason in problem.message for problem in raised.value.problems), raised.value


def test_every_file_of_the_data_is_listed() -> None:
    listed = {entry.path for entry in DOCUMENTS} | set(IMPORTED) | set(DATA_FILES)
    present = {str(file.relative_to(DATA)) for file in DATA.rglob("*") if file.is_file() and file.parent != DATA}
    assert present == listed


def test_validate_names_the_dialect_it_read_and_the_refusal_with_its_line() -> None:
    document = path(f"v1.0.0-beta5/{ENGINE}/baseuri-trailing-slash-capability.yaml")
    result = capgate("validate", str(document))
    assert result.returncode == 1
    line = document.read_text().splitlines().index('    baseUri: "https://api.example.com/v1/"') + 1
    assert f"{document}:{line}: capability.consumes[0].baseUri: baseUri must not end with" in result.stdout
    assert f"{document} (ikanos 1.0.0-beta5): 1 error" in result.stderr


def test_a_problem_in_a_keyed_map_is_reported_at_its_own_line(tmp_path: Path) -> None:
    document = tmp_path / "capability.yml"
    document.write_text(
        'ikanos: "1.0.0-beta5"\n'
        "capability:\n"
        "  consumes:\n"
        "  - {namespace: api, type: http, baseUri: 'https://api.example.com',\n"
        "     resources: {items: {path: /items, operations: {list-items: {method: GET}}}}}\n"
        "  exposes:\n"
        "  - type: mcp\n"
        "    port: 3001\n"
        "    namespace: tools\n"
        "    tools:\n"
        "      list-items:\n"
        "        description: List the items\n"
        "        call: api.list-items\n"
        "      broken:\n"
        "        description: Calls what is not there\n"
        "        call: api.no-such-operation\n"
    )
    result = capgate("validate", str(document))
    assert result.returncode == 1
    assert f"{document}:16: capability.exposes[0].tools.broken.call:" in result.stdout  # as written


def _importing(tmp_path: Path, section: str, source: Path, namespace: str, alias: str | None = None) -> Path:
    """A document that imports `namespace` of `section` from `source` (by a file:// URI), with a tool to use it."""
    entry = f"  - {{import: {namespace}, from: 'file://{source}'" + (f", as: {alias}" if alias else "") + "}\n"
    consumes = (
        f"  consumes:\n{entry}"
        if section == "consumes"
        else f"  consumes:\n  - {{import: weather-api, from: 'file://{IMPORTS}/consumes/shared.consumes.yml'}}\n"
    )
    aggregates = f"  aggregates:\n{entry}" if section == "aggregates" else ""
    ref = "ref: forecast.get-forecast" if section == "aggregates" else f"call: {alias or namespace}.get-forecast"
    document = tmp_path / "capability.yml"
    document.write_text(
        'ikanos: "1.0.0-beta5"\ncapability:\n'
        + consumes
        + aggregates
        + "  exposes:\n  - type: mcp\n    port: 3001\n    namespace: tools\n    tools:\n"
        + f"      forecast:\n        description: The forecast\n        {ref}\n"
    )
    return document


def test_consumes_are_imported_with_an_alias(tmp_path: Path) -> None:
    document = _importing(tmp_path, "consumes", IMPORTS / "consumes/shared.consumes.yml", "weather-api", "weather")
    consumes = load_document(str(document)).document.capability.consumes
    assert [(c.namespace, c.base_uri) for c in consumes] == [("weather", "https://api.weather.example.com")]
    assert consumes[0].resources[0].operations[0].name == "get-forecast"


def test_aggregates_are_imported(tmp_path: Path) -> None:
    document = _importing(tmp_path, "aggregates", IMPORTS / "aggregates/shared.aggregates.yml", "forecast")
    aggregates = load_document(str(document)).document.capability.aggregates
    assert [(a.namespace, a.label, [f.name for f in a.functions]) for a in aggregates] == [
        ("forecast", "Forecast Domain", ["get-forecast"])
    ]


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("invalid/empty-section.consumes.yml", "has no top-level `consumes` list to import from"),
        ("invalid/malformed.yml", "YAML syntax error"),
        ("consumes/no-such-file.yml", "import source file not found"),
        ("consumes/shared.consumes.yml", "namespace 'nowhere' not found in"),
    ],
)
def test_an_import_that_cannot_be_read_is_refused_saying_why(tmp_path: Path, source: str, reason: str) -> None:
    namespace = "nowhere" if source.endswith("shared.consumes.yml") else "weather-api"
    document = _importing(tmp_path, "consumes", IMPORTS / source, namespace)
    with pytest.raises(DocumentError) as raised:
        load_document(str(document))
    assert any(reason in problem.message for problem in raised.value.problems), raised.value


def test_an_operations_response_contract_loads_and_is_not_used(tmp_path: Path) -> None:
    """`responses` (Ikanos: the OpenAPI contract its export writes) is read past, as the engine serves it."""
    document = tmp_path / "capability.yml"
    document.write_text(
        'ikanos: "1.0.0-beta5"\n'
        "capability:\n"
        "  consumes:\n"
        "  - {namespace: api, type: http, baseUri: 'https://api.example.com',\n"
        "     resources: {items: {path: /items, operations: {list-items: {method: GET}}}}}\n"
        "  exposes:\n"
        "  - type: rest\n    port: 8080\n    namespace: items-rest\n    resources:\n"
        "      items:\n        path: /items\n        operations:\n          list:\n            method: GET\n"
        "            call: api.list-items\n"
        "            responses: {'200': {description: The items, content: {application/json: {}}}}\n"
    )
    loaded = load_document(str(document))
    operation = loaded.document.capability.exposes[0].resources[0].operations[0]  # type: ignore[union-attr]
    assert (operation.name, operation.call) == ("list", "api.list-items")
    assert loaded.warnings == []
