"""Answers in other formats read as JSON, in the shapes the format's engine gives them; hostile ones refused."""

from __future__ import annotations

import pytest

from capgate.consumes.formats import FormatError, to_json


def test_xml_without_its_root_repeated_elements_as_lists_attributes_as_fields() -> None:
    xml = b'<vessels><vessel code="A"><name>One</name></vessel><vessel code="B"><name>Two</name></vessel></vessels>'
    assert to_json(xml, "xml") == {"vessel": [{"code": "A", "name": "One"}, {"code": "B", "name": "Two"}]}


def test_xml_with_entities_is_refused_not_expanded() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>'
    with pytest.raises(FormatError, match="DTD"):
        to_json(bomb, "xml")


def test_broken_answers_say_which_format_they_are_not() -> None:
    with pytest.raises(FormatError, match="not valid xml"):
        to_json(b"<open>", "xml")
    with pytest.raises(FormatError, match="not decoded by capgate"):
        to_json(b"\x00\x01", "avro")


def test_delimited_rows_by_their_header() -> None:
    assert to_json(b"id|name\n1|Ada\n2|Grace\n", "psv") == [{"id": "1", "name": "Ada"}, {"id": "2", "name": "Grace"}]
    assert to_json(b"id\tname\n1\tAda\n", "tsv") == [{"id": "1", "name": "Ada"}]


def test_html_tables_picked_by_a_selector() -> None:
    html = (
        b"<table class='a'><tr><th>K</th></tr><tr><td>ignored</td></tr></table>"
        b"<div id='main'><table><thead><tr><th>Name</th><th>Qty</th></tr></thead>"
        b"<tbody><tr><td> Bolt </td><td>3</td></tr><tr><td>Nut</td></tr></tbody></table></div>"
    )
    assert to_json(html, "html", "#main") == {"tables": [[{"Name": "Bolt", "Qty": "3"}, {"Name": "Nut", "Qty": ""}]]}
    assert len(to_json(html, "html")["tables"]) == 2


def test_markdown_front_matter_tables_and_sections_under_a_prefix() -> None:
    markdown = b"---\ntitle: Notes\n---\n# Intro\nHello **world**.\n\n# API\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    assert to_json(markdown, "markdown", "API") == {
        "frontMatter": {"title": "Notes"},
        "tables": [[{"a": "1", "b": "2"}]],
        "sections": [{"heading": "API", "level": 1, "content": ""}],
    }
