"""`capgate validate` on every document of the suite: accepted where the reference engine loads it, refused
for the engine's reason where its own tests expect a refusal; and no file of the data goes unlisted."""

from __future__ import annotations

import pytest

from capgate.core.errors import DocumentError
from capgate.document.load import load_document
from tests.conformance.suite import DATA, DATA_FILES, DOCUMENTS, IMPORTED, Entry, path
from tests.support.cli import capgate


@pytest.mark.parametrize("entry", DOCUMENTS, ids=[entry.path for entry in DOCUMENTS])
def test_each_document_loads_or_is_refused_for_the_engines_reason(entry: Entry) -> None:
    if entry.refused is None and entry.gap is None:
        loaded = load_document(str(path(entry.path)))
        assert loaded.document.dialect == f"naftiko {entry.path.split('/')[0].removeprefix('v')}"
        return
    with pytest.raises(DocumentError) as raised:
        load_document(str(path(entry.path)))
    reason = entry.refused or entry.gap
    assert reason is not None
    assert any(reason in problem.message for problem in raised.value.problems), raised.value


def test_the_command_says_the_same_with_file_and_line() -> None:
    refused = next(entry for entry in DOCUMENTS if entry.refused and "trailing slash" in entry.refused)
    result = capgate("validate", str(path(refused.path)))
    assert result.returncode == 1
    line = path(refused.path).read_text().splitlines().index('      baseUri: "https://api.example.com/v1/"') + 1
    assert f"{path(refused.path)}:{line}: capability.consumes[0].baseUri: baseUri must not end with" in result.stdout


def test_every_file_of_the_data_is_listed() -> None:
    listed = {entry.path for entry in DOCUMENTS} | set(IMPORTED) | set(DATA_FILES)
    present = {str(file.relative_to(DATA)) for file in DATA.rglob("*") if file.is_file() and file.parent != DATA}
    assert present == listed


def test_an_imported_namespace_is_read_from_the_documents_folder() -> None:
    loaded = load_document(str(path("v1.0.0-alpha2/src/main/resources/tutorial/step-5-shipyard-multi-source.yml")))
    consumes = {c.namespace: c for c in loaded.document.capability.consumes}
    assert sorted(consumes) == ["legacy", "registry"]
    assert consumes["legacy"].resources[0].operations[0].output_raw_format == "xml"
    assert consumes["registry"].authentication is not None and consumes["registry"].authentication.token == (
        "{{REGISTRY_TOKEN}}"
    )
