"""What `capgate validate` says about a tool's `wait` (capgate extension). Each message names the field and what
to write instead."""

from __future__ import annotations

import pytest

from capgate.core.errors import DocumentError
from capgate.document.load import parse_document
from tests.document.test_output_checks import DEFAULT, changed, messages

WAIT = """      wait:  # capgate extension (docs/format.md): retrieve the run again until its status is final
        status: $.status
        until: [COMPLETED, FAILED, CANCELED, CRASHED, SYSTEM_FAILURE, EXPIRED, TIMED_OUT]
        interval: 1
        backoff: 1.5
        maxInterval: 5
        timeout: 30
        maxTimeout: 300
"""
WHERE = "capability.exposes[1].tools[2].wait"


def waiting(**fields: str) -> str:
    """The default document with wait-for-run's `wait` fields changed (`field: value` lines)."""
    text = WAIT
    for name, value in fields.items():
        start = text.index(f"        {name}:")
        text = text[:start] + f"        {name}: {value}\n" + text[text.index("\n", start) + 1 :]
    return changed(WAIT, text)


def test_the_default_documents_wait_is_clean() -> None:
    assert WAIT in DEFAULT and not [m for m in messages(DEFAULT, "warning") if ".wait" in m]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"status": "$..status"}, f"{WHERE}.status: '$..status': cannot read '..status'; use .name, ['name'] or"),
        ({"until": "[]"}, f"{WHERE}.until: names no value; list the values of `status` that end the wait"),
        ({"interval": "10"}, f"{WHERE}.interval: 10 s is longer than maxInterval (5 s)"),
        ({"timeout": "400"}, f"{WHERE}.timeout: 400 s is longer than maxTimeout (300 s)"),
        ({"maxTimeout": "7200"}, f"{WHERE}.maxTimeout: at most 3600 s: no client keeps a request open that long"),
        ({"backoff": "0.5"}, f"{WHERE}.backoff: Input should be greater than or equal to 1"),
    ],
)
def test_each_wrong_field_is_named(fields: dict[str, str], expected: str) -> None:
    found = messages(waiting(**fields)) if "backoff" not in fields else _load_errors(waiting(**fields))
    assert any(message.startswith(expected) for message in found), found


def _load_errors(text: str) -> list[str]:
    with pytest.raises(DocumentError) as raised:
        parse_document(text, "doc.yaml")
    return [f"{problem.path}: {problem.message}" for problem in raised.value.problems]


def test_a_long_default_is_a_warning() -> None:
    assert messages(waiting(timeout="60"), "warning") == [
        f"{WHERE}.timeout: a default wait over 30 s outlasts the request timeout of common clients (60 s); keep the "
        "default short and let callers ask for more with the `timeout` input"
    ]


def test_only_an_operation_that_changes_nothing_may_be_polled() -> None:
    text = changed(
        "      call: management-runs.getrunbyid\n      with:\n        runId: tools.runId\n" + WAIT,
        "      call: management-runs.cancelrun\n      with:\n        runId: tools.runId\n" + WAIT,
    )
    assert (
        f"{WHERE}: a wait calls management-runs.cancelrun again and again, and it is a POST: only an operation that "
        "changes nothing (GET) may be polled"
    ) in messages(text)


def test_capgates_timeout_input_cannot_be_the_documents_too() -> None:
    text = changed(
        "      with:\n        runId: tools.runId\n" + WAIT,
        "      with:\n        runId: tools.runId\n        x-trigger-source: tools.timeout\n" + WAIT,
    )
    assert (
        "capability.exposes[1].tools[2].with: capgate adds a `timeout` input to tools that wait; rename the tool's "
        "own timeout"
    ) in messages(text)
