"""What `capgate validate` says about MCP result shapes: output mappings, `text`, `link`, MCP resources, and
tool names or counts that clients refuse. Each message names the field and what to write instead."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from capgate.core.errors import Problem
from capgate.document.bundled import bundled_documents
from capgate.document.check import check
from capgate.document.load import parse_document
from tests.support.cli import capgate, cli_env

DEFAULT = bundled_documents()["trigger-dev-runs"].read_text()


def problems(text: str) -> list[Problem]:
    loaded = parse_document(text, "doc.yaml")
    return check(loaded.document, loaded.source)


def changed(old: str, new: str, text: str = DEFAULT) -> str:
    assert text.count(old) >= 1, old
    return text.replace(old, new, 1)


def messages(text: str, severity: str = "error") -> list[str]:
    return [f"{p.path}: {p.message}" for p in problems(text) if p.severity == severity]


def test_the_default_document_is_clean() -> None:
    assert messages(DEFAULT) == []
    assert [p for p in problems(DEFAULT) if p.severity == "warning" and "binds" not in p.path] == []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "fields: [id, status, taskIdentifier, createdAt, finishedAt, tags]",
            "fields: [id, state]",
            "capability.exposes[1].tools[0].outputParameters[0].text.fields[1]: 'state' is not a field here",
        ),
        (
            "items: data\n          label: runs",
            "items: pagination\n          label: runs",
            "capability.exposes[1].tools[0].outputParameters[0].text.items: 'pagination' is not an array of objects",
        ),
        (
            "link: {resource: run, with: {runId: id}}\n              properties:",
            "link: {resource: runs, with: {runId: id}}\n              properties:",
            "capability.exposes[1].tools[0].outputParameters[0].properties.data.items.link.resource: 'runs' names "
            "no resource (known: run)",
        ),
        (
            "link: {resource: run, with: {runId: id}}\n              properties:",
            "link: {resource: run, with: {runId: identifier}}\n              properties:",
            "capability.exposes[1].tools[0].outputParameters[0].properties.data.items.link: the URI "
            "trigger://runs/{runId} needs {runId}, and the object has no field 'identifier'",
        ),
        (
            "link: {resource: run, with: {runId: id}}\n              properties:",
            "link: {resource: run, with: {id: id}}\n              properties:",
            "capability.exposes[1].tools[0].outputParameters[0].properties.data.items.link.with.id: "
            "trigger://runs/{runId} has no variable {id} to fill",
        ),
        (
            "        runId: '{{runId}}'",
            "        runId: '{{id}}'",
            "capability.exposes[1].resources[0].uri: {runId} feeds nothing: use it in `with`, as '{{runId}}'",
        ),
        (
            "                  id: {type: string, mapping: $.id}\n",
            "                  id: {type: string, mapping: '$.id['}\n",
            "capability.exposes[1].tools[0].outputParameters[0].properties.data.items.properties.id.mapping: "
            "'$.id[' is not a JSONPath",
        ),
        (
            "      uri: trigger://runs/{runId}",
            "      uri: trigger://runs/{runId}\n      location: srv/runs",
            "capability.exposes[1].resources[0].location: a static resource's location is a file:/// directory",
        ),
    ],
)
def test_a_result_shape_that_cannot_work_is_an_error(old: str, new: str, expected: str) -> None:
    found = messages(changed(old, new))
    assert any(message.startswith(expected) for message in found), found


def test_a_resource_that_calls_a_write_is_for_writers_only() -> None:
    text = changed(
        "      call: management-runs.getrunbyid\n      with:\n        runId: '{{runId}}'",
        "      call: management-runs.cancelrun\n      with:\n        runId: '{{runId}}'",
    )
    assert messages(text) == []
    assert (
        "capability.exposes[1].resources[0].call: management-runs.cancelrun is POST: only a caller who may write can "
        "read this resource (a read-scoped one is refused); point it at an operation that changes nothing (GET) to "
        "open it up"
    ) in messages(text, "warning")


def test_a_tool_input_named_verbose_clashes_with_capgates(tmp_path: Path) -> None:
    text = changed("        page[before]: tools.page[before]\n", "        page[before]: tools.verbose\n")
    assert messages(text) == [
        "capability.exposes[1].tools[0].with: capgate adds a `verbose` input to tools that map their output; "
        "rename the tool's own verbose"
    ]


def test_tool_names_and_counts_that_clients_refuse_are_warnings_without_strict(tmp_path: Path) -> None:
    long_name = "list-runs-" + "x" * 60
    text = changed("    - name: list-runs\n", f"    - name: {long_name}\n")
    text = changed("    - name: retrieve-run\n", "    - name: runs.retrieve\n", text)
    tools = text[text.index("    tools:\n") + len("    tools:\n") : text.index("    resources:\n    - name: run")]
    copies = "".join(  # each copy with YAML anchors of its own: an anchor may be defined once
        tools.replace("- name: ", f"- name: copy{n}-").replace("-result", f"-result-{n}") for n in range(7)
    )
    count = 8 * len(re.findall(r"^    - name: ", tools, re.MULTILINE))
    path = tmp_path / "doc.yaml"
    path.write_text(text.replace(tools, tools + copies))
    result = capgate("validate", str(path), env=cli_env(TRIGGER_DEV_API_KEY="set"))
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert f"capability.exposes[1].tools: warning: {count} tools: Cursor uses at most 40" in output
    assert (
        f"capability.exposes[1].tools[0].name: warning: the tool name is {len(long_name)} characters; clients that "
        "pass tools to the Anthropic or OpenAI APIs refuse names over 64: shorten it"
    ) in output
    assert "capability.exposes[1].tools[1].name: warning: clients that pass tools to the Anthropic or OpenAI APIs " in (
        output
    )


EVENTS_TEXT = "fields: [spanId, message, level, isError, exceptions.type, exceptions.message, exceptions.stacktrace]"
EVENTS_LINK = "              link: {resource: run}\n              properties:\n                spanId:"


def test_a_text_field_may_step_through_an_array_and_a_link_may_not() -> None:
    assert EVENTS_TEXT in DEFAULT, "get-run-events shows its spans' exceptions, an array in each"
    misspelt = messages(changed(EVENTS_TEXT, "fields: [spanId, exceptions.kind]"))
    assert [re.sub(r"tools\[\d+\]", "tools[…]", message) for message in misspelt] == [
        "capability.exposes[1].tools[…].outputParameters[0].text.fields[1]: 'exceptions.kind' is not a field here "
        "(fields: spanId, parentId, runId, message, startTime, duration, level, isError, isPartial, isCancelled, "
        "attemptNumber, exceptions)"
    ]
    through = EVENTS_LINK.replace("{resource: run}", "{resource: run, with: {runId: exceptions.type}}")
    [refused] = messages(changed(EVENTS_LINK, through))
    assert refused.endswith(
        "properties.events.items.link: the URI trigger://runs/{runId} needs {runId}, and the object has no field "
        "'exceptions.type'; map it in `link.with` (runId: <field>)"
    )
