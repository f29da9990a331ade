"""Find, read, parse and check a capability document."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from capgate.core.errors import DocumentError, Problem
from capgate.document import alpha, ikanos
from capgate.document.aggregates import resolve_refs
from capgate.document.bundled import resolve_source
from capgate.document.check import check
from capgate.document.fields import key_problems
from capgate.document.models import Document
from capgate.document.source import SourceMap, load_yaml, read_source

# The dialects capgate reads, as `Document.dialect` names them: a version outside them is the document's own
# text, which output redacts like any other (it may quote a secret); these never are.
KNOWN_DIALECTS = frozenset(
    f"{dialect.ROOT_KEY} {version}" for dialect in (alpha, ikanos) for version in dialect.VERSIONS
)


@dataclass(frozen=True)
class LoadedDocument:
    """A parsed document with the source map its problems are reported against."""

    document: Document
    source: SourceMap
    data: Any  # the plain values the model was read from, for checks that look at what was written
    warnings: list[Problem] = field(default_factory=list)  # found while parsing: the dialect's, unknown parameter keys


def parse_document(text: str, file: str) -> LoadedDocument:
    """Parse YAML text into typed models; every problem is reported with its line."""
    data, source = load_yaml(text, file)
    if not isinstance(data, dict):
        raise DocumentError([source.problem((), "a capability document must be a mapping at the top level")])
    # The dialect's loader turns what was written into what the model reads (imports resolved, spellings
    # settled, and for Ikanos keyed maps listed, with `source` mapping the listed paths to their lines); every
    # check below sees the model's shape, whatever the dialect.
    if alpha.ROOT_KEY in data and ikanos.ROOT_KEY in data:
        message = "a document is either Naftiko or Ikanos: keep one of `naftiko:` and `ikanos:`"
        raise DocumentError([source.problem((ikanos.ROOT_KEY,), message)])
    if alpha.ROOT_KEY in data:
        dialect = f"{alpha.ROOT_KEY} {data[alpha.ROOT_KEY]}"
        read, dialect_problems = alpha.read_alpha(data, source, _problem_from)
    elif ikanos.ROOT_KEY in data:
        dialect = f"{ikanos.ROOT_KEY} {data[ikanos.ROOT_KEY]}"
        read, source, dialect_problems = ikanos.read_ikanos(data, source, _problem_from)
    else:
        message = (
            f"no `{alpha.ROOT_KEY}:` or `{ikanos.ROOT_KEY}:` version at the top level: capgate reads Naftiko "
            "(0.5, 1.0.0-alpha1, 1.0.0-alpha2) and Ikanos (1.0.0-beta3 to beta5) documents"
        )
        raise DocumentError([source.problem((), message)])
    try:
        return _model(data, read, source, dialect_problems)
    except DocumentError as exc:
        exc.dialect = dialect
        raise


def _model(data: Any, read: dict[str, Any], source: SourceMap, dialect_problems: list[Problem]) -> LoadedDocument:
    """The model of what a dialect's loader read; DocumentError with every problem that stops it."""
    if any(problem.severity == "error" for problem in dialect_problems):
        raise DocumentError(dialect_problems)
    model_problems: list[Problem] = []
    try:
        document = Document.model_validate(read)
    except ValidationError as exc:
        model_problems = [_problem_from(error, read, source) for error in exc.errors()]
    missing = frozenset(problem.path for problem in model_problems if problem.message == "is required")
    unknown, misspelled = key_problems(read, source, missing)
    errors = [problem for problem in unknown if problem.severity == "error"]
    errors += [problem for problem in model_problems if problem.path not in misspelled]
    if errors:
        raise DocumentError(sorted(errors, key=lambda problem: problem.line or 0))
    document, unresolved = resolve_refs(document, source)
    if unresolved:
        raise DocumentError(unresolved)
    warnings = [*dialect_problems, *(problem for problem in unknown if problem.severity != "error")]
    return LoadedDocument(document, source, data, warnings)


def read_document(name_or_path: str) -> LoadedDocument:
    """Read and parse a document (bundled name or path), without the cross-field checks."""
    path = resolve_source(name_or_path)
    return parse_document(read_source(path), str(path))


def load_document(name_or_path: str) -> LoadedDocument:
    """Load and check a document (bundled name or path); raise DocumentError listing every error."""
    loaded = read_document(name_or_path)
    errors = [problem for problem in check(loaded.document, loaded.source) if problem.severity == "error"]
    if errors:
        raise DocumentError(errors)
    return loaded


def _problem_from(error: Any, data: Any, source: SourceMap) -> Problem:
    """A pydantic validation error as a problem located in the document."""
    # Pydantic's loc includes union tags ('mcp') that are not keys of the document: keep only real steps.
    path: list[str | int] = []
    node = data
    for part in error["loc"]:
        in_mapping = isinstance(node, dict) and part in node
        if in_mapping or (isinstance(node, list) and isinstance(part, int) and part < len(node)):
            node = node[part]
            path.append(part)
    message = _MESSAGES.get(error["type"], error["msg"])
    if error["type"] == "missing":
        path.append(str(error["loc"][-1]))
        message = "is required"
    elif error["type"] == "union_tag_invalid":
        path.append("type")
        message = f"type {error['ctx']['tag']!r} is not supported (capgate serves {error['ctx']['expected_tags']})"
    elif error["type"] == "literal_error":
        message = f"{error['input']!r} is not supported here (expected {error['ctx']['expected']})"
    return source.problem(tuple(path), message)


_MESSAGES = {
    "int_parsing": "must be a whole number",
    "bool_parsing": "must be true or false",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
}
