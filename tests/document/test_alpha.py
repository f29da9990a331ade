"""The Naftiko dialect's loader: imports of consumes from other files, the version's base URI rule, spellings."""

from __future__ import annotations

from pathlib import Path

import pytest

from capgate.core.errors import DocumentError
from capgate.document.load import load_document
from capgate.document.source import MAX_DOCUMENT_BYTES

DOCUMENT = """\
naftiko: "{version}"
capability:
  consumes:
  - import: registry
    location: ./shared/consumes.yaml
{alias}  exposes:
  - type: mcp
    namespace: tools
    port: 3001
    tools:
    - name: list-ships
      description: List the ships.
      call: {call}.list-ships
"""
SHARED = """\
naftiko: "1.0.0-alpha2"
consumes:
- namespace: registry
  type: http
  baseUri: "{base}"
  resources:
  - name: ships
    path: /ships
    operations:
    - name: list-ships
      method: {method}
"""


def written(
    tmp_path: Path,
    *,
    version: str = "1.0.0-alpha2",
    alias: str = "",
    base: str = "https://r.example",
    method: str = "GET",
) -> Path:
    (tmp_path / "shared").mkdir(exist_ok=True)
    (tmp_path / "shared" / "consumes.yaml").write_text(SHARED.format(base=base, method=method))
    call = alias.strip().removeprefix("as: ") if alias else "registry"
    path = tmp_path / "doc.yaml"
    path.write_text(DOCUMENT.format(version=version, alias=f"    {alias}\n" if alias else "", call=call))
    return path


def test_an_import_is_read_from_the_documents_folder_whatever_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir("/")
    loaded = load_document(str(written(tmp_path)))
    assert [c.namespace for c in loaded.document.capability.consumes] == ["registry"]
    assert loaded.document.capability.consumes[0].base_uri == "https://r.example"


def test_as_renames_the_imported_namespace(tmp_path: Path) -> None:
    loaded = load_document(str(written(tmp_path, alias="as: ships-api")))
    assert [c.namespace for c in loaded.document.capability.consumes] == ["ships-api"]


def test_a_problem_in_the_imported_file_is_reported_at_its_own_line(tmp_path: Path) -> None:
    path = written(tmp_path, method="[GET")
    with pytest.raises(DocumentError) as raised:
        load_document(str(path))
    (problem,) = raised.value.problems
    assert problem.file == str(tmp_path / "shared" / "consumes.yaml") and problem.line is not None


def test_a_missing_file_or_namespace_says_what_was_looked_for(tmp_path: Path) -> None:
    path = written(tmp_path)
    (tmp_path / "shared" / "consumes.yaml").write_text(
        SHARED.format(base="https://r", method="GET").replace("namespace: registry", "namespace: other")
    )
    with pytest.raises(DocumentError, match="namespace 'registry' not found in .*consumes.yaml .it declares: other."):
        load_document(str(path))
    (tmp_path / "shared" / "consumes.yaml").unlink()
    with pytest.raises(
        DocumentError, match="doc.yaml:5: capability.consumes.0..location: import source file not found"
    ):
        load_document(str(path))


def test_an_imported_file_is_read_within_the_documents_own_bound(tmp_path: Path) -> None:
    path = written(tmp_path)
    shared = tmp_path / "shared" / "consumes.yaml"
    shared.write_text(shared.read_text() + "# " + "x" * (MAX_DOCUMENT_BYTES + 1) + "\n")
    with pytest.raises(DocumentError, match="consumes.yaml: .*the file is larger than 4 MiB"):
        load_document(str(path))


def test_a_trailing_slash_is_refused_by_alpha2_and_accepted_by_alpha1(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="baseUri must not end with a trailing slash"):
        load_document(str(written(tmp_path, base="https://r.example/v1/")))
    alpha1 = load_document(str(written(tmp_path, version="1.0.0-alpha1", base="https://r.example/v1/")))
    assert alpha1.document.dialect == "naftiko 1.0.0-alpha1"


def test_a_document_without_a_version_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "doc.yaml"
    path.write_text("capability:\n  exposes: []\n")
    with pytest.raises(DocumentError, match="no `naftiko:` or `ikanos:` version at the top level"):
        load_document(str(path))


def test_a_name_with_spaces_is_bracketed_and_a_filter_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "doc.yaml"
    path.write_text(
        "naftiko: 1.0.0-alpha1\ncapability:\n  exposes:\n  - type: mcp\n    namespace: n\n    port: 1\n"
        "    tools:\n    - name: t\n      description: d\n      outputParameters:\n      - type: object\n"
        "        properties:\n          due: {type: string, mapping: $.properties.Due Date.date}\n"
        "          first: {type: string, mapping: \"$.events[?(@.name == 'x')].id\"}\n"
    )
    output = load_document(str(path)).document.capability.exposes[0].tools[0].output_parameters[0]  # type: ignore[union-attr]
    assert output.properties is not None
    assert output.properties["due"].mapping == "$.properties['Due Date'].date"
    assert output.properties["first"].mapping == "$.events[?(@.name == 'x')].id"
