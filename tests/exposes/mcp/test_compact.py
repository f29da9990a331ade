"""The compact text of a mapped result, laid out as a `text` declaration says, without a server."""

from __future__ import annotations

from capgate.document.models import TextLayout
from capgate.exposes.mcp.compact import Layout

SPANS = {
    "events": [
        {"spanId": "a1", "message": "Attempt 1", "exceptions": [{"type": "RangeError", "message": "too big"}]},
        {"spanId": "b2", "message": "started", "exceptions": []},
        {"spanId": "c3", "message": "twice", "exceptions": [{"message": "one, then"}, {"type": "E", "message": "two"}]},
        {"spanId": "d4", "message": "no list"},
    ]
}


def test_a_field_through_an_array_lists_what_each_element_holds_there() -> None:
    layout = Layout.compile(TextLayout(items="events", fields=["spanId", "exceptions.type", "exceptions.message"]))
    assert layout.render(SPANS) == [
        "4 events (spanId exceptions.type exceptions.message):",
        'a1 RangeError "too big"',
        "b2 - -",
        'c3 E "one, then,two"',  # each element's value, joined; the one without a type adds none
        "d4 - -",
    ]


def test_one_object_through_an_array_is_one_line_and_a_line_break_stays_quoted() -> None:
    run = {"id": "run_1", "attempts": [{"error": {"stack": "Error: x\n  at f"}}, {"error": {"stack": "Error: y"}}]}
    layout = Layout.compile(TextLayout(fields=["id", "attempts.error.stack", "attempts.missing"]))
    # a field no element has is absent, as a missing field of one object is: left out
    assert layout.render(run) == ["id: run_1", 'attempts.error.stack: "Error: x\\n  at f, Error: y"']


def test_a_nested_list_is_spread_into_the_one_list() -> None:
    runs = {"runs": [{"tags": ["a", "b"]}, {"tags": ["c"]}, {"tags": "not a list"}, "not an object"]}
    assert Layout.compile(TextLayout(fields=["runs.tags"])).render(runs) == ["runs.tags: a, b, c, not a list"]
