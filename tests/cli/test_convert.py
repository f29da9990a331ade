"""`capgate convert` through its real entry point: the document on stdout or in --output, notes and the
summary on stderr, refusals that say what to do."""

from __future__ import annotations

from pathlib import Path

import yaml

from capgate.document.bundled import bundled_documents
from tests.support.cli import capgate
from tests.support.gateway import TEST_KEY


def test_the_default_document_is_written_as_ikanos_and_validates(tmp_path: Path) -> None:
    result = capgate("convert", "trigger-dev-runs")
    assert result.returncode == 0, result.stderr
    written = yaml.safe_load(result.stdout)
    assert written["ikanos"] == "1.0.0-beta5" and "naftiko" not in written
    assert isinstance(written["capability"]["exposes"][0]["resources"], dict)
    source = bundled_documents()["trigger-dev-runs"]
    assert result.stderr == f"{source} (naftiko 1.0.0-alpha2) written as ikanos 1.0.0-beta5\n"
    converted = tmp_path / "runs.ikanos.yml"
    converted.write_text(result.stdout)
    validated = capgate("validate", str(converted))
    assert validated.returncode == 0 and f"{converted} (ikanos 1.0.0-beta5): 0 errors" in validated.stderr


def test_back_to_naftiko_into_a_file_with_what_cannot_carry_over(tmp_path: Path) -> None:
    document = tmp_path / "photos.yml"
    document.write_text(
        'ikanos: "1.0.0-beta5"\n'
        "info: {display: Photos, description: Photo library, version: '2.1'}\n"
        "capability:\n"
        "  consumes:\n"
        "  - {namespace: photos, type: http, baseUri: 'https://photos.example.com',\n"
        "     resources: {photo: {path: '/photos/{{id}}', operations: {get-photo: {method: GET,\n"
        "       inputParameters: {id: {in: path}}}}}}}\n"
        "  exposes:\n"
        "  - type: mcp\n    port: 3001\n    namespace: photo-tools\n    tools:\n"
        "      get-photo:\n        description: A photo\n        inputParameters:\n"
        "          id: {type: string, description: The photo}\n"
        "        call: photos.get-photo\n        with: {id: photo-tools.id}\n"
    )
    output = tmp_path / "photos.alpha2.yml"
    result = capgate("convert", str(document), "--output", str(output))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert f"{document}: info.version: Ikanos only; left out" in result.stderr
    written = yaml.safe_load(output.read_text())
    tool = written["capability"]["exposes"][0]["tools"][0]
    assert (written["naftiko"], tool["name"], tool["inputParameters"][0]["name"]) == ("1.0.0-alpha2", "get-photo", "id")
    validated = capgate("validate", str(output))
    assert validated.returncode == 0 and "(naftiko 1.0.0-alpha2): 0 errors" in validated.stderr


def test_converting_to_the_dialect_it_is_written_in_says_so() -> None:
    result = capgate("convert", "trigger-dev-runs", "--to", "naftiko")
    assert result.returncode == 2
    assert "is already written in naftiko 1.0.0-alpha2; nothing to convert" in result.stderr
    assert result.stdout == ""


def test_a_document_with_errors_is_not_converted(tmp_path: Path) -> None:
    document = tmp_path / "broken.yml"
    document.write_text('ikanos: "1.0.0-beta5"\ncapability:\n  consumes:\n  - {namespace: x, type: http}\n')
    result = capgate("convert", str(document))
    assert result.returncode == 2
    assert f"{document}:4: capability.consumes[0].baseUri: is required" in result.stderr
    assert result.stdout == ""


def test_what_convert_says_on_stderr_shows_no_secret(tmp_path: Path) -> None:
    source = bundled_documents()["trigger-dev-runs"].read_text()
    document = tmp_path / "leaky.yaml"
    document.write_text(source.replace("naftiko: 1.0.0-alpha2", f"naftiko: {TEST_KEY}", 1))
    result = capgate("convert", str(document))
    assert result.returncode == 0, result.stderr
    assert "(naftiko [redacted]) written as ikanos 1.0.0-beta5" in result.stderr
    assert TEST_KEY not in result.stderr + result.stdout
