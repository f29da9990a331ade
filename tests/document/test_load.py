"""Documents load leniently, and every problem is reported as file:line: path: message."""

from __future__ import annotations

from pathlib import Path

import pytest

from capgate.core.errors import DocumentError
from capgate.document.bundled import bundled_documents
from capgate.document.load import load_document

SEED = Path(__file__).resolve().parents[3] / "shared" / "seed" / "management-runs.yaml"


def test_the_bundled_seed_is_the_seed_byte_for_byte() -> None:
    if not SEED.exists():
        pytest.skip("shared/seed is not beside this checkout")
    assert bundled_documents()["trigger-dev-runs-seed"].read_bytes() == SEED.read_bytes()


SEED_TOOLS = ["list-runs", "retrieve-run", "cancel-run", "replay-run", "reschedule-run", "add-tags-run"]
AGENT_TOOLS = ["trigger-task", "get-run-trace", "get-run-events", "update-run-metadata"]  # the default's additions
DEFAULT_TOOLS = [*SEED_TOOLS[:2], "wait-for-run", *SEED_TOOLS[2:], *AGENT_TOOLS]


@pytest.mark.parametrize(
    ("name", "tools"), [("trigger-dev-runs", DEFAULT_TOOLS), ("trigger-dev-runs-seed", SEED_TOOLS)]
)
def test_bundled_documents_load(name: str, tools: list[str]) -> None:
    loaded = load_document(name)
    assert [tool.name for tool in loaded.document.capability.exposes[1].tools] == tools  # type: ignore[union-attr]


def broken(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "doc.yaml"
    path.write_text(text)
    with pytest.raises(DocumentError) as raised:
        load_document(str(path))
    return [str(problem).replace(str(path), "doc.yaml") for problem in raised.value.problems]


def seed_with(old: str, new: str) -> str:
    text = bundled_documents()["trigger-dev-runs-seed"].read_text()
    assert old in text
    return text.replace(old, new, 1)


def line_of(text: str, fragment: str) -> int:
    return text[: text.index(fragment)].count("\n") + 1


def test_a_call_naming_no_operation(tmp_path: Path) -> None:
    text = seed_with("call: management-runs.replayrun", "call: management-runs.replay")
    problems = broken(tmp_path, text)
    line = line_of(text, "call: management-runs.replay\n")
    assert problems == [
        f"doc.yaml:{line}: capability.exposes[0].resources[3].operations[0].call: "
        "'management-runs.replay' names no consumed operation (known: management-runs.addtagstorun, "
        "management-runs.cancelrun, management-runs.getrunbyid, management-runs.listruns, "
        "management-runs.replayrun, management-runs.reschedulerun)"
    ]


def test_a_with_naming_an_unknown_input(tmp_path: Path) -> None:
    text = seed_with(
        "        runId: tools.runId\n        body: tools.body", "        runID2: tools.runId\n        body: tools.body"
    )
    problems = broken(tmp_path, text)
    assert len(problems) == 1
    assert problems[0].startswith(
        f"doc.yaml:{line_of(text, 'runID2')}: capability.exposes[1].tools[4].with.runID2: "
        "'runID2' is not an input of management-runs.reschedulerun"
    )


def test_a_missing_bind(tmp_path: Path) -> None:
    text = seed_with("token: '{{env.TRIGGER_DEV_API_KEY}}'", "token: '{{env.TRIGGER_KEY}}'")
    problems = broken(tmp_path, text)
    assert problems == [
        f"doc.yaml:{line_of(text, 'token:')}: capability.consumes[0].authentication.token: "
        "{{env.TRIGGER_KEY}} names no bind variable (declared: TRIGGER_DEV_API_KEY); "
        "add it under `binds[].keys`"
    ]


def test_a_duplicate_port(tmp_path: Path) -> None:
    text = seed_with("port: 9090", "port: 8080")
    problems = broken(tmp_path, text)
    first, second = line_of(text, "port: 8080"), text[: text.rindex("port: 8080")].count("\n") + 1
    assert problems == [
        f"doc.yaml:{first}: capability.exposes[0].port: port 8080 is used by more than one adapter",
        f"doc.yaml:{second}: capability.exposes[1].port: port 8080 is used by more than one adapter",
    ]


def test_a_yaml_syntax_error(tmp_path: Path) -> None:
    text = seed_with("    namespace: management-runs\n", "    namespace: [management-runs\n")
    problems = broken(tmp_path, text)
    assert len(problems) == 1 and problems[0].startswith("doc.yaml:")
    assert "YAML syntax error" in problems[0]


def test_a_wrong_type_and_a_missing_field(tmp_path: Path) -> None:
    text = seed_with("port: 8080", "port: eighty")
    text = text.replace("    baseUri: https://api.trigger.dev\n", "")
    problems = broken(tmp_path, text)
    assert f"doc.yaml:{line_of(text, '  - type: http')}: capability.consumes[0].baseUri: is required" in problems
    assert f"doc.yaml:{line_of(text, 'port: eighty')}: capability.exposes[0].port: must be a whole number" in problems


def test_a_duplicate_key(tmp_path: Path) -> None:
    text = seed_with("        description: List Runs\n", "        description: List Runs\n        description: again\n")
    problems = broken(tmp_path, text)
    first = line_of(text, "        description: List Runs")
    assert problems == [
        f"doc.yaml:{first + 1}: capability.consumes[0].resources[0].operations[0].description: "
        f"duplicate key (first given on line {first}); give each key once"
    ]


def test_an_unsupported_adapter_type(tmp_path: Path) -> None:
    text = seed_with("  - type: mcp\n", "  - type: grpc\n")
    problems = broken(tmp_path, text)
    assert problems == [
        f"doc.yaml:{line_of(text, '  - type: grpc')}: capability.exposes[1].type: type 'grpc' is "
        "not supported (capgate serves 'rest', 'mcp', 'skill', 'control')"
    ]


def test_not_a_file_nor_a_bundled_name() -> None:
    with pytest.raises(DocumentError) as raised:
        load_document("no-such-document")
    assert "not a bundled document (trigger-dev-runs, trigger-dev-runs-seed)" in str(raised.value)
