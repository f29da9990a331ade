"""Templates filled per call: each value stays in its place, whatever the caller sends."""

from __future__ import annotations

import orjson

from capgate.consumes.rendering import render_data, render_json, render_text

VALUES = {"name": 'Ada "the first"\n', "ids": ["a", "b"], "n": 3, "flag": True, "ship": {"imo": "IMO-1"}}


def test_a_json_template_keeps_each_value_in_its_place() -> None:
    template = '{"name": "{{name}}", "ids": {{ids}}, "n": {{n}}, "flag": {{flag}}, "imo": "{{ship.imo}}", "x": {{x}}}'
    rendered = render_json(template, VALUES.get)
    assert orjson.loads(rendered) == {
        "name": 'Ada "the first"\n',
        "ids": ["a", "b"],
        "n": 3,
        "flag": True,
        "imo": "IMO-1",
        "x": None,
    }


def test_a_value_cannot_break_out_of_its_string() -> None:
    hostile = {"note": '", "admin": true, "x": "'}
    assert orjson.loads(render_json('{"note": "{{note}}"}', hostile.get)) == hostile


def test_escaped_quotes_in_the_template_do_not_confuse_the_string_state() -> None:
    assert render_json('{"a": "say \\"{{n}}\\"", "b": {{n}}}', VALUES.get) == '{"a": "say \\"3\\"", "b": 3}'


def test_text_templates_strict_and_lenient() -> None:
    assert render_text("q={{n}}&f={{flag}}&ids={{ids}}", VALUES.get) == 'q=3&f=true&ids=["a","b"]'
    assert render_text("{{missing}}-x", VALUES.get) == "-x"
    assert render_text("{{missing}}-x", VALUES.get, strict=True) is None


def test_structured_data_keeps_a_lone_placeholders_type() -> None:
    data = {"ids": "{{ids}}", "label": "n={{n}}", "nested": [{"ship": "{{ship}}"}], "fixed": 1}
    assert render_data(data, VALUES.get) == {
        "ids": ["a", "b"],
        "label": "n=3",
        "nested": [{"ship": {"imo": "IMO-1"}}],
        "fixed": 1,
    }
