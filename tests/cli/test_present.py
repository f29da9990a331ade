"""How `capgate call` shows JSON on a terminal: pure functions, no terminal needed."""

from __future__ import annotations

import pytest

from capgate.cli.call import parse_value
from capgate.cli.present import columns, duration, render
from capgate.cli.terminal import table


def plain(text: str, colour: str) -> str:
    return text


def test_an_object_reads_as_aligned_key_value_lines_cut_to_the_width() -> None:
    run = {
        "id": "run_1",
        "status": "COMPLETED",
        "isTest": False,
        "startedAt": "2026-11-28T20:36:30.995Z",
        "payload": {"to": "a@example.com", "body": "x" * 100},
        "tags": ["a", "b"],
        "ttl": None,
    }
    assert render(run, width=40, paint=plain).splitlines() == [
        "id         run_1",
        "status     COMPLETED",
        "isTest     no",
        "startedAt  2026-11-28 20:36:30",
        'payload    {"to":"a@example.com","body"…',
        "tags       a, b",
        "ttl",
    ]


def test_objects_without_well_known_fields_show_their_first_simple_fields() -> None:
    items = [{"key": "A", "nested": {"x": 1}, "count": 2, "labels": ["p", "q"]}]
    assert columns(items) == ["key", "count", "labels"]
    assert render({"data": items}, width=None, paint=plain).splitlines() == ["key  count  labels", "A    2      p, q"]
    assert render({"data": []}, width=None, paint=plain) == "(no items)"


def test_a_table_narrows_its_widest_column_to_fit() -> None:
    text = table(["id", "description"], [["run_1", "a long description that does not fit"]], width=30)
    assert text.splitlines() == ["id     description", "run_1  a long description tha…"]
    assert max(len(line) for line in text.splitlines()) <= 30


@pytest.mark.parametrize(
    ("milliseconds", "shown"), [(0, "0ms"), (999, "999ms"), (1234, "1.2s"), (125_000, "2m 05s"), (7_380_000, "2h 03m")]
)
def test_durations_read_as_a_person_says_them(milliseconds: int, shown: str) -> None:
    assert duration(milliseconds) == shown


@pytest.mark.parametrize(
    ("text", "schema", "value"),
    [
        ("5", {"type": "integer"}, 5),
        ("true", {"type": "boolean"}, True),
        ('{"tags": ["a"]}', {"type": "object"}, {"tags": ["a"]}),
        ("FAILED,CRASHED", {"type": "array"}, "FAILED,CRASHED"),  # the schema's array coercion splits it
        ("123", {"type": "string"}, "123"),  # a cursor that looks like a number stays text
    ],
)
def test_call_values_are_json_when_they_look_like_json_except_for_string_inputs(
    text: str, schema: dict[str, str], value: object
) -> None:
    assert parse_value(text, schema) == value


def test_a_table_leaves_out_columns_from_the_right_but_never_cuts_an_identifier() -> None:
    rows = [["run_cm0abcdefghijklmnopqrstuvw", "COMPLETED", "a description longer than the room that is left"]]
    text = table(["id", "status", "description"], rows, width=41, whole=[0], hidden_hint="--wide shows them")
    assert text.splitlines() == [
        "id".ljust(30) + "  status",
        "run_cm0abcdefghijklmnopqrstuvw  COMPLETED",  # a status is too short to cut: whole, or left out
        "(not shown: description; --wide shows them)",
    ]
    text = table(["id", "status"], rows, width=20, whole=[0], hidden_hint="--wide shows them")
    assert text.splitlines()[1] == "run_cm0abcdefghijklmnopqrstuvw"  # wider than the window, and whole
