"""An upstream answer in another format (`outputRawFormat`) read as JSON, so output mappings apply to it.

The shapes are the reference engine's (its Converter): XML without its root element, repeated elements as
lists, attributes as fields, text-only elements as strings; CSV, TSV and PSV as a list of row objects keyed by
the header row; YAML as its data; HTML as `{"tables": [[row, ...], ...]}` from the `<table>`s that
`outputSchema` (a simple CSS selector) picks; Markdown as `{"frontMatter", "tables", "sections"}` with
`outputSchema` a heading prefix. Avro and Protobuf answers are not decoded: they pass through as bytes.

An upstream is not trusted: XML with a DTD (entity expansion) is refused rather than parsed.
"""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser
from typing import Any
from xml.etree import ElementTree

import orjson
import yaml

_DELIMITERS = {"csv": ",", "tsv": "\t", "psv": "|"}


class FormatError(ValueError):
    """The answer is not in the format its operation declares."""


def to_json(body: bytes, fmt: str, schema: str | None = None) -> Any:
    """The answer as JSON data; FormatError when it cannot be read as `fmt`."""
    text = body.decode("utf-8", errors="replace")
    try:
        if fmt == "json":
            return orjson.loads(body)
        if fmt == "xml":
            return _xml(text)
        if fmt == "yaml":
            return yaml.safe_load(text)
        if fmt in _DELIMITERS:
            return _delimited(text, _DELIMITERS[fmt])
        if fmt == "html":
            return {"tables": _html_tables(text, schema)}
        if fmt == "markdown":
            return _markdown(text, schema)
    except (orjson.JSONDecodeError, ElementTree.ParseError, yaml.YAMLError, csv.Error) as exc:
        raise FormatError(f"the answer is not valid {fmt}: {exc}") from None
    raise FormatError(f"{fmt} answers are not decoded by capgate")


def _xml(text: str) -> Any:
    if re.search(r"<!(DOCTYPE|ENTITY)", text, re.IGNORECASE):
        raise FormatError("the XML answer declares a DTD or entities; capgate does not expand them")
    return _element(ElementTree.fromstring(text))


def _element(element: ElementTree.Element) -> Any:
    children = list(element)
    text = (element.text or "").strip()
    if not children and not element.attrib:
        return text
    node: dict[str, Any] = dict(element.attrib)
    for child in children:
        value = _element(child)
        tag = child.tag.rpartition("}")[2]  # without its namespace
        if tag in node:
            previous = node[tag]
            node[tag] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            node[tag] = value
    if text:
        node[""] = text
    return node


def _delimited(text: str, delimiter: str) -> list[dict[str, str]]:
    rows = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    return [{key: value for key, value in row.items() if key is not None and value is not None} for row in rows]


class _Node:
    def __init__(self, tag: str, attrs: dict[str, str], parent: _Node | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[_Node | str] = []

    def text(self) -> str:
        parts = [child if isinstance(child, str) else child.text() for child in self.children]
        return " ".join(" ".join(parts).split())

    def descendants(self) -> list[_Node]:
        found = []
        for child in self.children:
            if isinstance(child, _Node):
                found += [child, *child.descendants()]
        return found

    def matches(self, selector: str) -> bool:
        tag, classes, ident = _compound(selector)
        own = self.attrs.get("class", "").split()
        return (
            (not tag or self.tag == tag)
            and all(c in own for c in classes)
            and (not ident or self.attrs.get("id") == ident)
        )


_VOID = frozenset({"br", "img", "hr", "input", "meta", "link", "col", "area", "base", "source", "wbr"})


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("", {}, None)
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = _Node(tag, {key: value or "" for key, value in attrs}, self.current)
        self.current.children.append(node)
        if tag not in _VOID:
            self.current = node

    def handle_endtag(self, tag: str) -> None:
        node: _Node | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def _compound(selector: str) -> tuple[str, list[str], str]:
    """`table.products` -> ("table", ["products"], ""); `#id` and `.a.b` too."""
    tag = re.match(r"^[a-zA-Z][a-zA-Z0-9-]*", selector)
    classes = re.findall(r"\.([\w-]+)", selector)
    ident = re.search(r"#([\w-]+)", selector)
    return (tag.group(0).lower() if tag else "", classes, ident.group(1) if ident else "")


def _html_tables(text: str, selector: str | None) -> list[list[dict[str, str]]]:
    tree = _Tree()
    tree.feed(text)
    tree.close()
    everything = tree.root.descendants()
    if selector and selector.strip():
        # A descendant selector (`section table`) is read by its last compound, as a simple selector.
        chosen = [node for node in everything if node.matches(selector.split()[-1])]
        tables = [table for node in chosen for table in ([node] if node.tag == "table" else _tables_in(node))]
    else:
        tables = [node for node in everything if node.tag == "table"]
    return [rows for rows in (_html_rows(table) for table in tables) if rows is not None]


def _tables_in(node: _Node) -> list[_Node]:
    return [child for child in node.descendants() if child.tag == "table"]


def _html_rows(table: _Node) -> list[dict[str, str]] | None:
    rows = [node for node in table.descendants() if node.tag == "tr"]
    header = next((row for row in rows if any(cell.tag == "th" for cell in _cells(row))), None)
    headers = [cell.text() for cell in _cells(header) if cell.tag == "th"] if header else []
    if not any(headers):
        return None
    body = []
    for row in rows:
        cells = _cells(row)
        if any(cell.tag == "th" for cell in cells) or not cells:
            continue
        values = [cell.text() for cell in cells if cell.tag == "td"]
        body.append({name: values[i] if i < len(values) else "" for i, name in enumerate(headers)})
    return body


def _cells(row: _Node | None) -> list[_Node]:
    return [child for child in (row.children if row else []) if isinstance(child, _Node) and child.tag in ("td", "th")]


_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_SEPARATOR = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")


def _markdown(text: str, section_filter: str | None) -> dict[str, Any]:
    text = text.replace("\r\n", "\n")
    front: Any = {}
    if text.startswith("---\n"):
        end = text.find("\n---\n", 4)
        if end > -1:
            front = yaml.safe_load(text[4:end]) or {}
            text = text[end + 5 :]
    reader = _MarkdownReader(section_filter)
    reader.read(text.split("\n"))
    return {
        "frontMatter": front if isinstance(front, dict) else {},
        "tables": reader.tables,
        "sections": reader.sections,
    }


class _MarkdownReader:
    """Headings, GFM tables and paragraphs, block by block: enough for the format's section and table shapes."""

    def __init__(self, section_filter: str | None) -> None:
        self.section_filter = section_filter
        self.tables: list[list[dict[str, str]]] = []
        self.sections: list[dict[str, Any]] = []
        self._heading: tuple[str, int] | None = None
        self._content: list[str] = []
        self._paragraph: list[str] = []

    def read(self, lines: list[str]) -> None:
        index = 0
        while index < len(lines):
            line = lines[index]
            heading = _HEADING.match(line)
            if heading:
                self._end_section()
                self._heading = (_inline(heading.group(2)), len(heading.group(1)))
            elif "|" in line and index + 1 < len(lines) and _SEPARATOR.match(lines[index + 1]):
                index = self._table(lines, index)
                continue
            elif line.strip():
                self._paragraph.append(_inline(line.strip()))
            else:
                self._end_paragraph()
            index += 1
        self._end_section()

    def _table(self, lines: list[str], index: int) -> int:
        """Read the table whose header is `lines[index]`; the index after it."""
        self._end_paragraph()
        headers = _row(lines[index])
        index += 2
        rows = []
        while index < len(lines) and "|" in lines[index] and lines[index].strip():
            values = _row(lines[index])
            rows.append({name: values[i] if i < len(values) else "" for i, name in enumerate(headers)})
            index += 1
        if any(headers):
            self.tables.append(rows)
        return index

    def _end_paragraph(self) -> None:
        if self._paragraph:
            self._content.append(" ".join(self._paragraph))
            self._paragraph.clear()

    def _end_section(self) -> None:
        self._end_paragraph()
        heading = self._heading
        if heading is not None and (not self.section_filter or heading[0].startswith(self.section_filter)):
            self.sections.append({"heading": heading[0], "level": heading[1], "content": "\n".join(self._content)})
        self._content.clear()


def _row(line: str) -> list[str]:
    cells = line.strip().strip("|").split("|")
    return [_inline(cell.strip()) for cell in cells]


def _inline(text: str) -> str:
    """Markdown inline text without its emphasis and code marks, as the text a reader sees."""
    return re.sub(r"(\*\*|__|\*|_|`)(.+?)\1", r"\2", text)
