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


def test_strict_warns_about_what_the_alpha2_schema_rejects_in_the_seed_and_still_exits_0() -> None:
    result = capgate("validate", "--strict", "trigger-dev-runs-seed")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    text = SEED.read_text().splitlines()

    def at(pattern: str, message: str) -> None:
        hits = [line for line in lines if re.search(pattern, line) and message in line]
        assert hits, f"no warning matching {pattern} / {message}"
        file, line, _ = hits[0].split(":", 2)
        assert file == str(SEED)
        quoted = re.search(r"'([^']+)'", message)
        if quoted:  # the line named is the one that holds the field, or the name
            assert quoted.group(1) in text[int(line) - 1]

    at(
        r": capability\.consumes\[0\]\.resources\[0\]\.operations\[0\]\.inputParameters\[0\]\.type: warning: ",
        "alpha2 schema: a consumed input parameter has no field 'type'",
    )
    at(
        r"\.inputParameters\[0\]\.name: warning: ",
        "alpha2 schema: parameter name 'filter[status]' does not match ^[a-zA-Z0-9-_*]+$",
    )
    at(
        r": capability\.exposes\[0\]\.description: warning: ",
        "alpha2 schema: a rest adapter has no field 'description'",
    )
    at(
        r": capability\.exposes\[1\]\.tools\[0\]\.outputParameters\[0\]: warning: ",
        "alpha2 schema: an object output needs `properties`",
    )
    assert all(": warning: " in line for line in lines)
    assert re.search(r"0 error\(s\), \d+ warning\(s\)", result.stderr)


def test_strict_warnings_come_in_line_order_and_only_with_strict(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIGGER_DEV_API_KEY", "x")
    assert main(["validate", "trigger-dev-runs-seed"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["validate", "--strict", "trigger-dev-runs"]) == 0
    lines = [int(line.split(":")[1]) for line in capsys.readouterr().out.splitlines()]
    assert lines == sorted(lines) and lines


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
