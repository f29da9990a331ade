"""`capgate validate --strict`: what the official alpha2 schema would reject, as file:line warnings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from capgate.cli.program import main
from capgate.document.bundled import bundled_documents
from tests.support.cli import capgate

SEED = bundled_documents()["trigger-dev-runs-seed"]

# A document the alpha2 schema accepts as it is.
ALPHA2 = """\
naftiko: 1.0.0-alpha2
info:
  label: Echo
  description: A minimal capability.
  created: '2026-01-02'
binds:
- namespace: env
  keys:
    ECHO_TOKEN: ECHO_TOKEN
capability:
  consumes:
  - type: http
    namespace: echo
    baseUri: https://echo.example.com
    authentication:
      type: bearer
      token: '{{ECHO_TOKEN}}'
    resources:
    - name: items
      path: /items/{id}
      operations:
      - name: get-item
        method: GET
        inputParameters:
        - name: id
          in: path
  exposes:
  - type: rest
    namespace: echo-rest
    port: 8080
    resources:
    - path: /items/{id}
      operations:
      - method: GET
        call: echo.get-item
        with:
          id: echo-rest.id
        inputParameters:
        - name: id
          in: path
          type: string
          description: The item.
  - type: mcp
    namespace: echo-mcp
    port: 9090
    tools:
    - name: get-item
      description: Get an item.
      call: echo.get-item
      with:
        id: echo-mcp.id
      inputParameters:
      - name: id
        type: string
        description: The item.
      hints:
        readOnly: true
      outputParameters:
      - type: object
        mapping: $.
        properties:
          name:
            type: string
            mapping: $.name
"""


def test_strict_warns_about_the_seeds_real_alpha2_violations_with_what_to_do_and_names_its_extensions_once() -> None:
    result = capgate("validate", "--strict", "trigger-dev-runs-seed")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    text = SEED.read_text().splitlines()

    def at(pattern: str, message: str) -> int:
        hits = [line for line in lines if re.search(pattern, line) and message in line]
        assert hits, f"no warning matching {pattern} / {message}"
        file, line, _ = hits[0].split(":", 2)
        assert file == str(SEED)
        return int(line)

    line = at(
        r": capability\.exposes\[0\]\.description: warning: ",
        "alpha2 schema: a rest adapter has no field 'description'; move it to `info.description`",
    )
    assert text[line - 1].startswith("    description: REST adapter")
    line = at(
        r": capability\.exposes\[1\]\.tools\[0\]\.outputParameters\[0\]: warning: ",
        "alpha2 schema: an object output needs `properties`; to pass the whole body through, leave "
        "`outputParameters` out",
    )
    assert text[line - 1] == "      - type: object"
    assert len(lines) == 1 + 12  # the adapter's description, and 6 + 6 outputs without properties
    assert all(": warning: alpha2 schema: " in line for line in lines)
    # capgate's own extensions (JSON-Schema keywords on consumed parameters, bracketed query names) are not
    # warned about field by field: the summary names each once, with how often it is used.
    assert "has no field 'type'" not in result.stdout and "filter[status]" not in result.stdout
    summary = result.stderr.splitlines()
    assert summary[0] == f"{SEED} (naftiko 1.0.0-alpha2): 0 errors, 13 warnings"
    assert summary[1].startswith(f"{SEED}: uses 2 capgate extensions, which `naftiko validate` rejects and capgate")
    assert "JSON-Schema keywords on parameters (37 places)" in summary[1]
    assert "query names with brackets (filter[status]) (9 places)" in summary[1]


def test_the_default_document_has_no_strict_warning_and_names_its_extensions(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIGGER_DEV_API_KEY", "x")
    assert main(["validate", "--strict", "trigger-dev-runs"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    default = bundled_documents()["trigger-dev-runs"]
    assert captured.err.splitlines()[0] == f"{default} (naftiko 1.0.0-alpha2): 0 errors, 0 warnings"
    assert "uses 11 capgate extensions" in captured.err and "`wait` on tools (1 place)" in captured.err
    assert "`idempotent` on consumed operations (3 places)" in captured.err


def test_strict_warnings_come_in_line_order_and_only_with_strict(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIGGER_DEV_API_KEY", "x")
    assert main(["validate", "trigger-dev-runs-seed"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["validate", "--strict", "trigger-dev-runs-seed"]) == 0
    lines = [int(line.split(":")[1]) for line in capsys.readouterr().out.splitlines()]
    assert lines == sorted(lines) and len(lines) == 13


def test_an_extension_of_the_table_is_named_in_the_summary_not_warned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECHO_TOKEN", "x")
    document = tmp_path / "echo.yaml"
    document.write_text(
        ALPHA2.replace(
            "    baseUri: https://echo.example.com\n",
            "    baseUri: https://echo.example.com\n    timeouts: {total: 5}\n",
        )
    )
    assert main(["validate", "--strict", str(document)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "uses 1 capgate extension, " in captured.err and captured.err.rstrip().endswith(": `timeouts` (1 place)")


def test_a_document_the_alpha2_schema_accepts_gets_no_strict_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECHO_TOKEN", "x")
    document = tmp_path / "echo.yaml"
    document.write_text(ALPHA2)
    assert main(["validate", "--strict", str(document)]) == 0
    assert capsys.readouterr().out == ""
    document.write_text(
        ALPHA2.replace("  created: '2026-01-02'", "  created: 2 January").replace(
            "    namespace: echo-mcp\n", "    namespace: echo_mcp\n    transport: stdio\n"
        )
    )
    assert main(["validate", "--strict", str(document)]) == 0
    out = capsys.readouterr().out
    assert f"{document}:5: info.created: warning: alpha2 schema: dates are YYYY-MM-DD" in out
    assert "capability.exposes[1].namespace: warning: alpha2 schema: namespace 'echo_mcp' does not match" in out
    assert "capability.exposes[1].port: warning: alpha2 schema: an MCP adapter with transport stdio has no port" in out
