"""capgate's extensions of the format (rateLimit and its headers, retryHeader, passBackHeaders, pagination) are
checked when a document loads, and every problem is reported as file:line: path: message."""

from __future__ import annotations

from pathlib import Path

import pytest

from capgate.core.errors import DocumentError
from capgate.document.load import load_document
from capgate.document.member_paths import parse_member_path

NOTES = Path(__file__).resolve().parents[1] / "support" / "documents" / "notes-api.yaml"
CONSUMES = "capability.consumes[0]"
PAGINATION = f"{CONSUMES}.resources[0].operations[0].pagination"


def problems(tmp_path: Path, old: str, new: str) -> list[str]:
    text = NOTES.read_text()
    assert old in text, old
    path = tmp_path / "doc.yaml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(DocumentError) as raised:
        load_document(str(path))
    return [str(problem).replace(str(path), "doc.yaml") for problem in raised.value.problems]


def line_of(fragment: str) -> int:
    text = NOTES.read_text()
    return text[: text.index(fragment)].count("\n") + 1


def test_the_notes_document_loads() -> None:
    assert load_document(str(NOTES)).document.capability.consumes[0].retry_header == "x-notes-retry"


@pytest.mark.parametrize(
    "old,new,expected",
    [
        (
            "      refill: 10\n",
            "",
            f"{CONSUMES}.rateLimit: burst, refill and interval go together: give all three for a request budget, "
            "or none of them (headers alone say how the upstream reports its budget)",
        ),
        (
            "        resetFormat: delta-seconds",
            "        resetFormat: minutes",
            f"{CONSUMES}.rateLimit.headers.resetFormat: 'minutes' is not supported here (expected "
            "'epoch-seconds', 'epoch-milliseconds', 'delta-seconds' or 'http-date')",
        ),
        (
            "        reset: X-Quota-Reset\n",
            "",
            f"{CONSUMES}.rateLimit.headers.resetFormat: there is no `reset` header for it to describe",
        ),
        (
            "retryHeader: x-notes-retry",
            "retryHeader: 'x notes retry'",
            f"{CONSUMES}.retryHeader: 'x notes retry' is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)",
        ),
        (
            "x-request-id]",
            "Content-Encoding]",
            f"{CONSUMES}.passBackHeaders[3]: Content-Encoding describes the connection to the upstream, not its "
            "answer, and cannot be passed back (the gateway writes its own towards the caller)",
        ),
        (
            "next: $.meta.cursors.after",
            "next: $..after",
            f"{PAGINATION}.next: '$..after': cannot read '..after'; use .name, ['name'] or [index] steps, e.g. "
            "$.pagination.next (filters, wildcards and .. select many values and are not accepted)",
        ),
        (
            "nextInput: cursor",
            "nextInput: page[after]",
            f"{PAGINATION}.nextInput: 'page[after]' is not an input of list-notes (inputs: cursor, limit)",
        ),
        (
            "items: $.notes",
            "items: $.notes[0]",
            f"{PAGINATION}.items: '$.notes[0]': the items' place is named by member names only",
        ),
        (
            "nextInput: cursor\n",
            "nextInput: cursor\n          previous: $.meta.cursors.before\n",
            f"{PAGINATION}: previous and previousInput go together: give both or neither",
        ),
    ],
    ids=[
        "partial-budget",
        "reset-format",
        "format-without-reset",
        "header-name",
        "connection-field",
        "jsonpath",
        "next-input",
        "items-path",
        "previous-alone",
    ],
)
def test_a_bad_extension_is_a_problem_at_its_line(tmp_path: Path, old: str, new: str, expected: str) -> None:
    found = problems(tmp_path, old, new)
    assert len(found) == 1 and found[0].endswith(expected), found
    location, _, _ = found[0].partition(": ")
    assert location.startswith("doc.yaml:") and int(location.split(":")[1]) >= line_of("rateLimit:")


def test_member_paths_find_and_place() -> None:
    path = parse_member_path("$.meta['cursors'][0].after")
    assert path.steps == ("meta", "cursors", 0, "after")
    assert path.find({"meta": {"cursors": [{"after": "c2"}]}}) == "c2"
    assert path.find({"meta": {"cursors": []}}) is None and path.find("text") is None
    assert parse_member_path("$.data").place([1, 2]) == {"data": [1, 2]}
    assert parse_member_path("$.").steps == () and parse_member_path("$").place([1]) == [1]
    with pytest.raises(ValueError, match="must start with \\$"):
        parse_member_path("pagination.next")
