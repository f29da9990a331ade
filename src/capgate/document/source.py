"""Parse YAML into plain Python values while remembering the source line of every node."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from capgate.core.errors import DocumentError, Problem

Path = tuple[str | int, ...]


@dataclass
class SourceMap:
    """Maps a path inside the document (keys and list indexes) to its 1-based source line."""

    file: str
    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Path) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None

    def problem(self, path: Path, message: str, severity: str = "error") -> Problem:
        return Problem(self.file, self.line_of(path), format_path(path), message, severity)


def format_path(path: Path) -> str:
    """('capability', 'exposes', 1, 'port') -> 'capability.exposes[1].port'."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def load_yaml(text: str, file: str) -> tuple[Any, SourceMap]:
    """Parse `text`; raise DocumentError with file:line on a syntax error."""
    source = SourceMap(file)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        reason = exc.problem or exc.context or "invalid YAML"
        raise DocumentError([Problem(file, line, "", f"YAML syntax error: {reason}")]) from None
    if node is None:
        raise DocumentError([Problem(file, 1, "", "the document is empty")])
    return _construct(node, (), source), source


def _construct(node: yaml.Node, path: Path, source: SourceMap, loader: yaml.SafeLoader | None = None) -> Any:
    loader = loader or yaml.SafeLoader("")
    source.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(_construct(key_node, (), SourceMap(source.file), loader))
            if key in result:  # yaml.safe_load would silently keep the last one
                first = source.lines[(*path, key)]
                raise DocumentError(
                    [
                        Problem(
                            source.file,
                            key_node.start_mark.line + 1,
                            format_path((*path, key)),
                            f"duplicate key (first given on line {first}); give each key once",
                        )
                    ]
                )
            result[key] = _construct(value_node, (*path, key), source, loader)
            source.lines[(*path, key)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*path, index), source, loader) for index, item in enumerate(node.value)]
    value = loader.construct_object(node, deep=True)  # the same tags yaml.safe_load resolves
    if hasattr(value, "isoformat"):  # dates stay text, as the format compares them as strings
        return str(node.value)
    return value
