"""Read a document's file and parse its YAML into plain Python values, remembering the source line of every node.

Documents may come from others (a shared file, a pull request), so reading is bounded before anything is built:
the file's size, how deep it nests, and how many nodes it expands to once aliases are followed (a "billion
laughs" document is a few hundred bytes that expand to billions of strings). The values are built straight from the
parser's events, without recursion, so a document nested 10 000 levels deep is refused with its line instead
of exhausting the stack. libyaml parses when PyYAML was built with it (it is, in PyYAML's wheels); the
pure-Python parser otherwise. docs/hardening.md has the measurements behind this choice and these bounds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any, NoReturn

import yaml

from capgate.core.errors import DocumentError, Problem

Path = tuple[str | int, ...]

MAX_DOCUMENT_BYTES = 4 * 1024 * 1024  # the default document is 19 KB
MAX_DEPTH = 64  # levels of mappings and lists; the default document nests 15
MAX_NODES = 100_000  # keys' values and items, each counted as often as an alias repeats it; the default has 1 030

_Parser = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # CSafeLoader exists only when libyaml is there


@dataclass
class SourceMap:
    """Maps a path inside the document (keys and list indexes) to its 1-based source line."""

    file: str
    lines: dict[Path, int] = field(default_factory=dict)
    # A dialect's loader that reshapes what it reads (Ikanos's keyed maps listed) maps the reshaped paths back to
    # the paths as written, so that a problem names the field where the author wrote it.
    written: dict[Path, Path] = field(default_factory=dict)

    def line_of(self, path: Path) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None

    def problem(self, path: Path, message: str, severity: str = "error") -> Problem:
        return Problem(self.file, self.line_of(path), format_path(self.as_written(path)), message, severity)

    def as_written(self, path: Path) -> Path:
        """`path` as the document spells it: its nearest reshaped ancestor's written path, then the rest."""
        for end in range(len(path), 0, -1):
            written = self.written.get(tuple(path[:end]))
            if written is not None:
                return (*written, *path[end:])
        return path


def format_path(path: Path) -> str:
    """('capability', 'exposes', 1, 'port') -> 'capability.exposes[1].port'."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def read_source(path: FilePath) -> str:
    """The text of the document at `path`: at most MAX_DOCUMENT_BYTES of UTF-8 (a leading BOM is dropped)."""
    with path.open("rb") as stream:
        data = stream.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise _refused(
            str(path),
            None,
            f"the file is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB, which no capability document "
            "needs (capgate's own is 19 KB); is this the right file?",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        kind = "a binary file, not text" if b"\0" in data[:8192] else "not UTF-8 text"
        raise _refused(
            str(path),
            line,
            f"this is {kind}: byte 0x{data[exc.start]:02x} at column {column} is not UTF-8; a capability "
            "document is YAML saved as UTF-8 (is this the right file?)",
        ) from None
    return text.removeprefix("\ufeff")


def load_yaml(text: str, file: str) -> tuple[Any, SourceMap]:
    """Parse `text` into plain values and their lines; raise DocumentError with file:line on any fault."""
    builder = _Builder(file)
    quoted: yaml.ScalarEvent | None = None  # the last quoted value: an unclosed quote ends at the next one
    try:
        for event in yaml.parse(text, Loader=_Parser):
            if isinstance(event, yaml.ScalarEvent) and event.style in ("'", '"'):
                quoted = event
            builder.feed(event)
    except yaml.MarkedYAMLError as exc:
        if quoted is not None and _ran_into(quoted, exc):
            start, end = _line_of(quoted), quoted.end_mark.line + 1  # type: ignore[union-attr]
            raise _refused(
                file,
                start,
                f"YAML syntax error: the quoted value that starts on this line ends on line {end}, where it meets "
                f"the next quote; is its closing quote missing? ({_reason(exc)})",
            ) from None
        raise _refused(file, _fault_line(exc), f"YAML syntax error: {_reason(exc)}") from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, such as NUL
        line = text.count("\n", 0, exc.position) + 1
        character = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        raise _refused(file, line, f"YAML does not allow the character {character} here; remove it") from None
    if not builder.done:
        raise _refused(file, 1, "the document is empty")
    return builder.result, builder.source


def _ran_into(quoted: yaml.ScalarEvent, exc: yaml.MarkedYAMLError) -> bool:
    """Whether a parser error is where a quoted value spanning lines ended: the mark of a quote left open."""
    start, end, fault = quoted.start_mark, quoted.end_mark, exc.problem_mark
    return bool(
        start
        and end
        and fault
        and not isinstance(exc, yaml.scanner.ScannerError)
        and start.line < end.line == fault.line
    )


def _fault_line(exc: yaml.MarkedYAMLError) -> int | None:
    # A scanner error's context mark is where the token being read began (an unclosed quote: the quote), which
    # is where the fault starts; its problem mark is where the scanner gave up, often at the end of the file.
    # A parser error's problem mark is the token that does not fit; its context is the enclosing block.
    first, second = (
        (exc.context_mark, exc.problem_mark)
        if isinstance(exc, yaml.scanner.ScannerError)
        else (exc.problem_mark, exc.context_mark)
    )
    mark = first or second
    return mark.line + 1 if mark else None


def _reason(exc: yaml.MarkedYAMLError) -> str:
    problem = exc.problem or "invalid YAML"
    if exc.context and exc.context_mark and exc.problem_mark and exc.context_mark.line != exc.problem_mark.line:
        return f"{exc.context} (line {exc.context_mark.line + 1}): {problem} (line {exc.problem_mark.line + 1})"
    return f"{exc.context}: {problem}" if exc.context else problem


def _line_of(event: yaml.Event) -> int:
    return event.start_mark.line + 1 if event.start_mark else 1


def _refused(file: str, line: int | None, message: str) -> DocumentError:
    return DocumentError([Problem(file, line, "", message)])


@dataclass
class _Open:
    """A mapping or list being built: where it is, and (for a mapping) the key waiting for its value."""

    value: dict[str, Any] | list[Any]
    path: Path | None  # None inside a mapping key that is itself a mapping or list: no line is kept for it
    line: int
    nodes_before: int  # the node count when it opened: its size is the count when it closes, minus this
    anchor: str | None
    key: str = ""
    key_line: int = 0
    expecting_key: bool = True
    depth_inside: int = 0  # the deepest nesting below it, for an alias to it placed somewhere deep


@dataclass
class _Anchor:
    value: Any
    nodes: int
    depth: int


class _Builder:
    """Plain values from a stream of parser events, with an explicit stack instead of recursion."""

    def __init__(self, file: str) -> None:
        self.source = SourceMap(file)
        self.result: Any = None
        self.done = False
        self._stack: list[_Open] = []
        self._anchors: dict[str, _Anchor | None] = {}  # None: still open, so an alias to it would be recursive
        self._nodes = 0
        self._documents = 0
        self._scalars = yaml.SafeLoader("")  # resolves and constructs scalars exactly as yaml.safe_load does

    def feed(self, event: yaml.Event) -> None:
        if isinstance(event, yaml.ScalarEvent):
            self._count(1, 0, event)
            value = self._scalar(event)
            self._remember(event.anchor, value, 1, 0)
            self._deliver(value, _line_of(event))
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            self._count(1, 1, event)
            container: dict[str, Any] | list[Any] = {} if isinstance(event, yaml.MappingStartEvent) else []
            if event.anchor is not None:
                self._anchors[event.anchor] = None
            line = _line_of(event)
            self._stack.append(_Open(container, self._child_path(), line, self._nodes - 1, event.anchor))
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            closed = self._stack.pop()
            self._remember(closed.anchor, closed.value, self._nodes - closed.nodes_before, closed.depth_inside + 1)
            self._deliver(closed.value, closed.line, depth=closed.depth_inside + 1)
        elif isinstance(event, yaml.AliasEvent):
            self._alias(event)
        elif isinstance(event, yaml.DocumentStartEvent):
            self._documents += 1
            if self._documents > 1:
                self._fail(event, "the file holds more than one YAML document (a `---` line starts another); keep one")

    def _alias(self, event: yaml.AliasEvent) -> None:
        if event.anchor not in self._anchors:
            self._fail(event, f"the alias *{event.anchor} names no anchor defined before it (&{event.anchor})")
        anchor = self._anchors[event.anchor]
        if anchor is None:
            self._fail(event, f"the alias *{event.anchor} is inside its own anchor, so it would never end")
        self._count(anchor.nodes, anchor.depth, event)
        self._deliver(anchor.value, _line_of(event), depth=anchor.depth)

    def _count(self, nodes: int, depth: int, event: yaml.Event) -> None:
        self._nodes += nodes
        if self._nodes > MAX_NODES:
            self._fail(
                event,
                f"the document expands to more than {MAX_NODES:,} values"
                + (" once its aliases are followed" if isinstance(event, yaml.AliasEvent) else "")
                + "; a capability document has a few thousand (is this a YAML bomb?)",
            )
        if len(self._stack) + depth > MAX_DEPTH:
            self._fail(event, f"the document nests deeper than {MAX_DEPTH} levels of mappings and lists")

    def _scalar(self, event: yaml.ScalarEvent) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self._scalars.resolve(yaml.ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
        if tag == "tag:yaml.org,2002:str":
            return event.value
        if tag == "tag:yaml.org,2002:timestamp":  # dates stay text, as the format compares them as strings
            return event.value
        node = yaml.ScalarNode(tag, event.value, style=event.style)
        try:
            return self._scalars.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as exc:  # a tag safe_load refuses, such as !!python/object
            return self._fail(event, f"YAML error: {exc.problem}")
        except ValueError:  # an integer of more digits than Python converts (4300)
            return self._fail(
                event, "this number has thousands of digits, which no field takes; quote it if it is text"
            )
        finally:
            self._scalars.constructed_objects.pop(node, None)  # the constructor would keep every node otherwise

    def _remember(self, anchor: str | None, value: Any, nodes: int, depth: int) -> None:
        if anchor is not None:
            self._anchors[anchor] = _Anchor(value, nodes, depth)

    def _child_path(self) -> Path | None:
        """The path of the next value delivered to the innermost open node; None inside a mapping key."""
        if not self._stack:
            return ()
        top = self._stack[-1]
        if top.path is None:
            return None
        if isinstance(top.value, list):
            return (*top.path, len(top.value))
        return None if top.expecting_key else (*top.path, top.key)

    def _deliver(self, value: Any, line: int, *, depth: int = 0) -> None:
        if not self._stack:
            self.result, self.done = value, True
            self.source.lines[()] = line
            return
        top = self._stack[-1]
        top.depth_inside = max(top.depth_inside, depth)
        if isinstance(top.value, list):
            if top.path is not None:
                self.source.lines[(*top.path, len(top.value))] = line
            top.value.append(value)
        elif top.expecting_key:
            top.key, top.key_line, top.expecting_key = str(value), line, False
            if top.key in top.value:  # yaml.safe_load would silently keep the last one
                path = (*(top.path or ()), top.key)
                first = self.source.lines.get(path, top.line)
                raise DocumentError(
                    [
                        Problem(
                            self.source.file,
                            line,
                            format_path(path),
                            f"duplicate key (first given on line {first}); give each key once",
                        )
                    ]
                )
        else:
            top.value[top.key] = value
            if top.path is not None:  # a key's line: where a reader looks for it
                self.source.lines[(*top.path, top.key)] = top.key_line
            top.expecting_key = True

    def _fail(self, event: yaml.Event, message: str) -> NoReturn:
        raise _refused(self.source.file, _line_of(event), message)
