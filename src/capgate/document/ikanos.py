"""The Ikanos dialect — `ikanos: 1.0.0-beta3 | beta4 | beta5`, the Naftiko format's successor — read into the one model.

Ikanos writes what the Naftiko dialect lists as keyed maps (`tools: {get-ship: {...}}` for `tools: [{name:
get-ship, ...}]`), says `display` for `label`, `flows` for an aggregate's `functions`, `target` for a step
mapping's `targetName`, and imports any of `consumes`, `exposes`, `aggregates` and `binds` from another file
(`- import: registry, from: ./shared/registry.yml`, optionally `as: alias`; `from` is read from the importing
document's folder, or is a `file://` URI; the imported file lists them at its top level). Here each of those is
rewritten as the Naftiko dialect writes it, with the source lines carried over to the rewritten paths, and
then settled as that dialect is (`capgate.document.alpha`): after this module nothing knows which dialect a
document was written in.

An orchestrated output's `items` is, in Ikanos, the array element's fields keyed by name; it is read as an
object item with those `properties`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from pydantic import BaseModel, TypeAdapter, ValidationError

from capgate.core.errors import DocumentError, Problem
from capgate.document import alpha
from capgate.document.models import Aggregate, Bind, ConsumesHttp, Exposes
from capgate.document.source import Path as NodePath
from capgate.document.source import SourceMap, load_yaml

ROOT_KEY = "ikanos"
VERSIONS = ("1.0.0-beta3", "1.0.0-beta4", "1.0.0-beta5")

# Fields written as keyed maps whose entries are named items of a list in the one model.
KEYED = frozenset(
    {"resources", "operations", "inputParameters", "outputParameters", "steps", "tools", "prompts", "arguments"}
    | {"skills", "flows"}
)
RENAMED: dict[str, str] = {"display": "label", "flows": "functions", "target": "targetName"}
# Maps whose keys are names or values, not fields: copied as written (their values still walked where they hold
# objects of the format: an output's `properties`).
VERBATIM = frozenset({"with", "keys", "metadata", "responses", "body", "template", "observability", "management"})
_BINARY = (
    "binary content (`outputRawFormat: binary`, `outputMediaType`, `maxBinarySize`) is not served by capgate, "
    "which answers JSON and text; serve this capability with the Ikanos engine"
)
# Ikanos constructs capgate does not serve: refused where they are written, saying why.
_UNSERVED = {
    "tunnel": "a reverse tunnel (`tunnel`, OpenZiti) is not opened by capgate, which reaches upstreams over "
    "HTTP(S) only; give the namespace a baseUri capgate can reach",
    "maxBinarySize": _BINARY,
    "outputMediaType": _BINARY,
}
_SECTIONS: dict[str, TypeAdapter[Any]] = {  # what each importable section's entries are, to read an imported one
    "consumes": TypeAdapter(ConsumesHttp),
    "exposes": TypeAdapter(Exposes),
    "aggregates": TypeAdapter(Aggregate),
    "binds": TypeAdapter(Bind),
}


@dataclass
class _Rewrite:
    """One file's values rewritten in the Naftiko dialect's shape, and the lines of the rewritten paths."""

    source: SourceMap
    lines: dict[NodePath, int] = field(default_factory=dict)
    written: dict[NodePath, NodePath] = field(default_factory=dict)  # rewritten path -> the path as written
    unserved: list[Problem] = field(default_factory=list)

    def node(self, value: Any, old: NodePath, new: NodePath) -> Any:
        self._line(old, new)
        if isinstance(value, list):
            return [self.node(item, (*old, index), (*new, index)) for index, item in enumerate(value)]
        if not isinstance(value, dict):
            return value
        rewritten: dict[str, Any] = {}
        for key, child in value.items():
            name = RENAMED.get(str(key), str(key))
            if name in _UNSERVED:
                self.unserved.append(self.source.problem((*old, key), _UNSERVED[name]))
            if key in KEYED and isinstance(child, dict):
                rewritten[name] = self._keyed(child, (*old, key), (*new, name))
            elif key in VERBATIM:
                self._line((*old, key), (*new, name))
                rewritten[name] = child
                self._copy_lines((*old, key), (*new, name))
            elif key == "properties" and isinstance(child, dict):
                self._line((*old, key), (*new, name))
                rewritten[name] = {k: self.node(v, (*old, key, k), (*new, name, k)) for k, v in child.items()}
            else:
                rewritten[name] = self.node(child, (*old, key), (*new, name))
        items = rewritten.get("items")
        if rewritten.get("type") == "array" and isinstance(items, dict) and _keyed_fields(items):
            rewritten["items"] = {"type": "object", "properties": items}  # an orchestrated array's element fields
        return rewritten

    def _keyed(self, entries: dict[str, Any], old: NodePath, new: NodePath) -> list[Any]:
        self._line(old, new)
        listed = []
        for index, (name, entry) in enumerate(entries.items()):
            item = self.node(entry, (*old, name), (*new, index))
            listed.append({"name": name, **item} if isinstance(item, dict) else item)
            self._line((*old, name), (*new, index, "name"))
        return listed

    def _line(self, old: NodePath, new: NodePath) -> None:
        if old != new:
            self.written[new] = old
        line = self.source.lines.get(old)
        if line is not None:
            self.lines[new] = line

    def _copy_lines(self, old: NodePath, new: NodePath) -> None:
        for path, line in self.source.lines.items():
            if path[: len(old)] == old and len(path) > len(old):
                self.lines[(*new, *path[len(old) :])] = line


def _keyed_fields(items: dict[str, Any]) -> bool:
    """Whether an array's `items` is Ikanos's keyed element fields rather than one output parameter."""
    return bool(items) and all(isinstance(child, dict) for child in items.values())  # a parameter's `type` is text


def read_ikanos(
    data: dict[str, Any], source: SourceMap, problem_of: alpha.ProblemOf
) -> tuple[dict[str, Any], SourceMap, list[Problem]]:
    """`data` as the model reads it (keyed maps listed, imports resolved, spellings settled), the source map of
    what it became, and the problems found doing so."""
    version = str(data.get(ROOT_KEY))
    problems: list[Problem] = []
    if version not in VERSIONS:
        message = f"version {version!r} is untested (capgate reads ikanos {', '.join(VERSIONS)})"
        problems.append(source.problem((ROOT_KEY,), message, "warning"))
    rewrite = _Rewrite(source)
    read = rewrite.node({key: value for key, value in data.items() if key != ROOT_KEY}, (), ())
    read["dialect"] = f"ikanos {version}"
    mapped = SourceMap(source.file, rewrite.lines, rewrite.written)
    problems += rewrite.unserved
    folder = Path(source.file).parent
    for where, section, entries in _sections(read):
        resolved = []
        for index, entry in enumerate(entries):
            at = (*where, index)
            if isinstance(entry, dict) and "from" in entry and "import" in entry:
                imported = _imported(entry, read["dialect"], section, at, folder, mapped, problem_of, problems)
                resolved.append(imported if imported is not None else entry)
                continue
            if section == "consumes":
                problems += alpha.base_uri_problems(entry, at, mapped, f"ikanos {version}")
            resolved.append(alpha.settled(entry))
        _place(read, where, resolved)
    return read, mapped, problems


def _sections(read: dict[str, Any]) -> Iterator[tuple[NodePath, str, list[Any]]]:
    """Every importable list of the document: under `capability`, and at the top level (`binds`)."""
    capability = read.get("capability")
    for section in _SECTIONS:
        if isinstance(capability, dict) and isinstance(capability.get(section), list):
            yield ("capability", section), section, capability[section]
        if isinstance(read.get(section), list):
            yield (section,), section, read[section]


def _place(read: dict[str, Any], where: NodePath, entries: list[Any]) -> None:
    node: Any = read
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = entries


def _imported(
    entry: dict[str, Any],
    dialect: str,
    section: str,
    where: NodePath,
    folder: Path,
    source: SourceMap,
    problem_of: alpha.ProblemOf,
    problems: list[Problem],
) -> BaseModel | None:
    """The entry an import names, read from its file; None (and a problem) when it cannot be."""
    location, namespace = str(entry["from"]), str(entry["import"])
    path = _location(location, folder)
    if not path.is_file():
        problems.append(source.problem((*where, "from"), f"import source file not found: {path}"))
        return None
    try:
        data, file_source = load_yaml(path.read_text(encoding="utf-8"), str(path))
    except DocumentError as exc:
        problems += exc.problems
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(source.problem((*where, "from"), f"cannot read {path}: {exc}"))
        return None
    listed = data.get(section) if isinstance(data, dict) else None
    if not isinstance(listed, list) or not listed:
        problems.append(source.problem((*where, "from"), f"{path} has no top-level `{section}` list to import from"))
        return None
    rewrite = _Rewrite(file_source)
    entries = rewrite.node(listed, (section,), (section,))
    problems += rewrite.unserved
    imported_source = SourceMap(str(path), rewrite.lines, rewrite.written)
    for index, candidate in enumerate(entries):
        if not isinstance(candidate, dict) or candidate.get("namespace") != namespace:
            continue
        if "from" in candidate and "import" in candidate:
            problems.append(
                imported_source.problem(
                    (section, index), "an imported file may not import in turn (Ikanos imports are one level deep)"
                )
            )
            return None
        at = (section, index)
        if section == "consumes":
            problems += alpha.base_uri_problems(candidate, at, imported_source, dialect)
        try:
            found: BaseModel = _SECTIONS[section].validate_python(alpha.settled(candidate))
        except ValidationError as exc:
            problems += [problem_of(error, candidate, imported_source) for error in exc.errors()]
            return None
        alias = entry.get("as")
        return found.model_copy(update={"namespace": str(alias)}) if alias else found
    known = ", ".join(str(c.get("namespace")) for c in entries if isinstance(c, dict)) or "none"
    problems.append(
        source.problem((*where, "import"), f"namespace {namespace!r} not found in {path} (it declares: {known})")
    )
    return None


def _location(location: str, folder: Path) -> Path:
    """Where an import's `from` points: a path from the document's folder, or a `file://` URI (`file:///./x` from
    the folder too)."""
    if location.startswith("file://"):
        path = unquote(urlparse(location).path)
        return (folder / path[3:]).resolve() if path.startswith("/./") else Path(path).resolve()
    return (folder / location).resolve()
