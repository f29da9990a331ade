"""`capgate validate --strict`: what the official 1.0.0-alpha2 JSON Schema would reject, as warnings.

capgate reads documents leniently, as the reference engine does, so documents written for it (and the
generated ones capgate bundles) serve fine while `naftiko validate` refuses them. These hand-written checks
follow the schema's objects (reference: naftiko/framework v1.0.0-alpha2, naftiko-schema.json): fields an
object does not allow (the schema's `additionalProperties: false`), required fields, identifier patterns,
and object or array outputs without `properties` or `items`. Each is reported as file:line, like every
other problem, with what to do about it.

A documented capgate extension (EXTENSIONS, docs/format.md) is something the schema rejects on purpose: a
warning on each use would be noise nobody should act on, hiding the warnings that matter. Its uses are
counted instead, and `validate` names each extension once.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from capgate.core.errors import Problem
from capgate.document.fields import SCHEMA_KEYWORDS
from capgate.document.source import Path, SourceMap

VERSION = "1.0.0-alpha2"
KEBAB = re.compile(r"^[a-zA-Z0-9-]+$")  # IdentifierKebab: namespaces and names
EXTENDED = re.compile(r"^[a-zA-Z0-9-_*]+$")  # IdentifierExtended: parameter names
VARIABLE = re.compile(r"^[A-Z][A-Z0-9_]*$")  # BindingVariableName
CALL = re.compile(r"^[a-zA-Z0-9-]+\.[a-zA-Z0-9-]+$")  # namespace.operation
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EXPOSED_TYPES = ("string", "number", "integer", "boolean", "array", "object")

# Object -> (fields it allows, fields it requires).
SHAPES: dict[str, tuple[set[str], set[str]]] = {
    "document": ({"naftiko", "info", "consumes", "binds", "capability"}, {"naftiko"}),
    "info": ({"label", "description", "tags", "created", "modified", "stakeholders"}, {"label", "description"}),
    "bind": ({"namespace", "keys", "description", "location"}, {"namespace", "keys"}),
    "capability": ({"exposes", "consumes", "binds", "aggregates"}, set()),
    "consumes": (
        {"type", "namespace", "baseUri", "description", "inputParameters", "authentication", "resources"},
        {"type", "namespace", "baseUri", "resources"},
    ),
    "consumed resource": (
        {"name", "path", "operations", "label", "description", "inputParameters"},
        {"name", "path", "operations"},
    ),
    "consumed operation": (
        {
            "name",
            "method",
            "label",
            "description",
            "inputParameters",
            "outputParameters",
            "body",
            "outputSchema",
            "outputRawFormat",
        },
        {"name", "method"},
    ),
    "consumed input parameter": ({"name", "in", "value"}, {"name", "in"}),
    "consumed output parameter": ({"name", "type", "value"}, {"name", "type", "value"}),
    "rest adapter": (
        {"type", "port", "namespace", "address", "authentication", "resources"},
        {"type", "port", "namespace"},
    ),
    "exposed resource": (
        {"path", "name", "label", "description", "inputParameters", "operations", "forward"},
        {"path"},
    ),
    "exposed operation": (
        {
            "method",
            "name",
            "label",
            "description",
            "inputParameters",
            "outputParameters",
            "call",
            "with",
            "steps",
            "mappings",
            "ref",
        },
        {"method"},
    ),
    "exposed input parameter": (
        {"name", "in", "type", "description", "pattern", "value"},
        {"name", "in", "type", "description"},
    ),
    "mcp adapter": (
        {
            "type",
            "namespace",
            "tools",
            "transport",
            "port",
            "address",
            "description",
            "authentication",
            "resources",
            "prompts",
        },
        {"type", "namespace", "tools"},
    ),
    "tool": (
        {
            "name",
            "label",
            "description",
            "inputParameters",
            "hints",
            "call",
            "with",
            "steps",
            "mappings",
            "ref",
            "outputParameters",
        },
        {"name", "description"},
    ),
    "tool input parameter": ({"name", "type", "description", "required"}, {"name", "type", "description"}),
    "hints": ({"readOnly", "destructive", "idempotent", "openWorld"}, set()),
    "output parameter": ({"name", "type", "mapping", "value", "properties", "items", "const", "description"}, {"type"}),
}
BRACKETED = re.compile(r"[\w.-]+(\[[\w.-]+\])+")  # deepObject-style query names: filter[createdAt][from]
WHOLE = frozenset({"$", "$."})  # an object output's mapping that means the whole body
PARAMETERS = frozenset({"consumed input parameter", "exposed input parameter", "tool input parameter"})


@dataclass(frozen=True)
class Extension:
    """A capgate extension of the format: where it appears (SHAPES kinds, or "parameter name"), what it adds."""

    name: str  # as `validate --strict` names it
    kinds: frozenset[str]
    matches: Callable[[str], object]  # truthy for a field (or, for "parameter name", a name) that is this extension


# One line per extension, as docs/format.md ("capgate's extensions") lists them.
EXTENSIONS = (
    Extension("JSON-Schema keywords on parameters", PARAMETERS, SCHEMA_KEYWORDS.__contains__),
    Extension("query names with brackets (filter[status])", frozenset({"parameter name"}), BRACKETED.fullmatch),
    Extension("`idempotent` on consumed operations", frozenset({"consumed operation"}), {"idempotent"}.__contains__),
    Extension("`timeouts`", frozenset({"consumes", "consumed operation"}), {"timeouts"}.__contains__),
    Extension("`rateLimit`", frozenset({"consumes"}), {"rateLimit"}.__contains__),
    Extension("`retryHeader`", frozenset({"consumes"}), {"retryHeader"}.__contains__),
    Extension("`passBackHeaders`", frozenset({"consumes"}), {"passBackHeaders"}.__contains__),
    Extension("`pagination`", frozenset({"consumed operation"}), {"pagination"}.__contains__),
    Extension("`link` on output objects", frozenset({"output parameter"}), {"link"}.__contains__),
    Extension("`text` on tool outputs", frozenset({"output parameter"}), {"text"}.__contains__),
    Extension("`wait` on tools", frozenset({"tool"}), {"wait"}.__contains__),
    # An object of any shape (a run's payload) has no alpha2 form; the whole body has one: no outputParameters.
    Extension(
        "object outputs of any shape (mapping: $.payload)", frozenset({"object output"}), lambda m: m not in WHOLE
    ),
)

# What to do about a field the schema does not allow, where there is more to say than "remove it".
FIXES = {
    ("rest adapter", "description"): "move it to `info.description`, which capgate's OpenAPI description also reads",
}


@dataclass
class Alpha2Report:
    """What `--strict` found: warnings with what to do, and the capgate extensions used (name -> uses)."""

    problems: list[Problem]
    extensions: Counter[str] = field(default_factory=Counter)


AUTHENTICATION = {
    "bearer": {"type", "token"},
    "apikey": {"type", "key", "value", "placement"},
    "basic": {"type", "username", "password"},
    "digest": {"type", "username", "password"},
}


def alpha2_report(data: Any, source: SourceMap) -> Alpha2Report:
    """Every difference from the alpha2 schema that is not a capgate extension, as warnings in line order."""
    checker = _Checker(source)
    problems = list(checker.document(data)) if isinstance(data, dict) else []
    return Alpha2Report(sorted(problems, key=lambda problem: problem.line or 0), checker.extensions)


class _Checker:
    def __init__(self, source: SourceMap) -> None:
        self.source = source
        self.extensions: Counter[str] = Counter()

    def warn(self, path: Path, message: str) -> Problem:
        return self.source.problem(path, f"alpha2 schema: {message}", "warning")

    def extension(self, kind: str, key: str) -> bool:
        """True, and counted, when `key` in a `kind` is a documented capgate extension."""
        for extension in EXTENSIONS:
            if kind in extension.kinds and extension.matches(key):
                self.extensions[extension.name] += 1
                return True
        return False

    def shape(self, kind: str, node: Any, path: Path) -> Iterator[Problem]:
        if not isinstance(node, dict):
            return
        allowed, required = SHAPES[kind]
        for key in node:
            if key not in allowed and not self.extension(kind, key):
                fix = FIXES.get((kind, key), "remove it if the document must also pass `naftiko validate`")
                yield self.warn((*path, key), f"a {kind} has no field {key!r}; {fix}")
        for key in sorted(required - set(node)):
            yield self.warn(path, f"a {kind} requires {key!r}; add it")

    def pattern(
        self, node: Any, key: str, pattern: re.Pattern[str], path: Path, what: str, kind: str = ""
    ) -> Iterator[Problem]:
        value = node.get(key) if isinstance(node, dict) else None
        if isinstance(value, str) and not pattern.match(value) and not self.extension(kind, value):
            yield self.warn((*path, key), f"{what} {value!r} does not match {pattern.pattern}; rename it to match")

    def document(self, data: dict[str, Any]) -> Iterator[Problem]:
        yield from self.shape("document", data, ())
        if data.get("naftiko") != VERSION:
            yield self.warn(("naftiko",), f"the version must be {VERSION!r}; set `naftiko: {VERSION}`")
        yield from self.shape("info", data.get("info"), ("info",))
        for key in ("created", "modified"):
            value = (data.get("info") or {}).get(key)
            if value is not None and not DATE.match(str(value)):
                yield self.warn(("info", key), "dates are YYYY-MM-DD; write it so, quoted ('2026-01-02')")
        yield from self.binds(data.get("binds"), ("binds",))
        capability = data.get("capability")
        if isinstance(capability, dict):
            yield from self.shape("capability", capability, ("capability",))
            yield from self.binds(capability.get("binds"), ("capability", "binds"))
            for index, consumes in _items(capability.get("consumes")):
                yield from self.consumes(consumes, ("capability", "consumes", index))
            for index, adapter in _items(capability.get("exposes")):
                yield from self.adapter(adapter, ("capability", "exposes", index))

    def binds(self, binds: Any, path: Path) -> Iterator[Problem]:
        for index, bind in _items(binds):
            yield from self.shape("bind", bind, (*path, index))
            yield from self.pattern(bind, "namespace", KEBAB, (*path, index), "namespace")
            for variable in (bind.get("keys") or {}) if isinstance(bind.get("keys"), dict) else {}:
                if not VARIABLE.match(str(variable)):
                    yield self.warn(
                        (*path, index, "keys", variable), f"variable {variable!r} does not match {VARIABLE.pattern}"
                    )

    def consumes(self, consumes: dict[str, Any], path: Path) -> Iterator[Problem]:
        if "location" in consumes:  # an imported namespace: only a reference to another file
            return
        yield from self.shape("consumes", consumes, path)
        yield from self.pattern(consumes, "namespace", KEBAB, path, "namespace")
        auth = consumes.get("authentication")
        if isinstance(auth, dict) and auth.get("type") in AUTHENTICATION:
            for key in sorted(set(auth) - AUTHENTICATION[auth["type"]]):
                yield self.warn(
                    (*path, "authentication", key), f"{auth['type']} authentication has no field {key!r}; remove it"
                )
        yield from self.parameters(consumes, path, "consumed input parameter")
        for r, resource in _items(consumes.get("resources")):
            where = (*path, "resources", r)
            yield from self.shape("consumed resource", resource, where)
            yield from self.pattern(resource, "name", KEBAB, where, "resource name")
            yield from self.parameters(resource, where, "consumed input parameter")
            for o, operation in _items(resource.get("operations")):
                at = (*where, "operations", o)
                yield from self.shape("consumed operation", operation, at)
                yield from self.pattern(operation, "name", KEBAB, at, "operation name")
                yield from self.parameters(operation, at, "consumed input parameter")
                for p, output in _items(operation.get("outputParameters")):
                    yield from self.shape("consumed output parameter", output, (*at, "outputParameters", p))

    def adapter(self, adapter: dict[str, Any], path: Path) -> Iterator[Problem]:
        kind = adapter.get("type")
        if kind not in ("rest", "mcp"):
            return  # skill and control adapters are not served by capgate; their own checks report them
        yield from self.shape(f"{kind} adapter", adapter, path)
        yield from self.pattern(adapter, "namespace", KEBAB, path, "namespace")
        if kind == "mcp":
            if adapter.get("transport") == "stdio" and "port" in adapter:
                yield self.warn((*path, "port"), "an MCP adapter with transport stdio has no port; remove it")
            for t, tool in _items(adapter.get("tools")):
                where = (*path, "tools", t)
                yield from self.shape("tool", tool, where)
                yield from self.pattern(tool, "name", KEBAB, where, "tool name")
                yield from self.shape("hints", tool.get("hints"), (*where, "hints"))
                yield from self.callable(tool, where, "tool input parameter")
            return
        for r, resource in _items(adapter.get("resources")):
            where = (*path, "resources", r)
            yield from self.shape("exposed resource", resource, where)
            yield from self.parameters(resource, where, "exposed input parameter")
            for o, operation in _items(resource.get("operations")):
                at = (*where, "operations", o)
                yield from self.shape("exposed operation", operation, at)
                yield from self.pattern(operation, "name", KEBAB, at, "operation name")
                yield from self.callable(operation, at, "exposed input parameter")

    def callable(self, node: dict[str, Any], path: Path, parameter_kind: str) -> Iterator[Problem]:
        """What exposed operations and tools share: a call reference, inputs, outputs."""
        yield from self.pattern(node, "call", CALL, path, "call")
        yield from self.parameters(node, path, parameter_kind)
        for p, output in _items(node.get("outputParameters")):
            yield from self.output(output, (*path, "outputParameters", p))

    def parameters(self, node: dict[str, Any], path: Path, kind: str) -> Iterator[Problem]:
        for index, parameter in _items(node.get("inputParameters")):
            where = (*path, "inputParameters", index)
            yield from self.shape(kind, parameter, where)
            yield from self.pattern(parameter, "name", EXTENDED, where, "parameter name", "parameter name")
            kind_of_value = parameter.get("type")
            if kind != "consumed input parameter" and kind_of_value is not None and kind_of_value not in EXPOSED_TYPES:
                yield self.warn(
                    (*where, "type"),
                    f"type {kind_of_value!r} is not one of {', '.join(EXPOSED_TYPES)}; use one of them",
                )

    def output(self, output: dict[str, Any], path: Path) -> Iterator[Problem]:
        yield from self.shape("output parameter", output, path)
        if "value" in output:
            return
        whole = str(output.get("mapping") or "$")  # what an object output without `properties` stands for
        if (
            output.get("type") == "object"
            and not output.get("properties")
            and not self.extension("object output", whole)
        ):
            yield self.warn(
                path,
                "an object output needs `properties`; to pass the whole body through, leave `outputParameters` "
                "out (capgate reads `mapping: $.` without `properties` as the whole body too; the reference "
                "engine answers `{}`)",
            )
        if output.get("type") == "array" and not output.get("items"):
            yield self.warn(path, "an array output needs `items`; describe one item there")
        for name, child in (output.get("properties") or {}).items():
            if isinstance(child, dict):
                yield from self.output(child, (*path, "properties", name))
        if isinstance(output.get("items"), dict):
            yield from self.output(output["items"], (*path, "items"))


def _items(nodes: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    for index, node in enumerate(nodes if isinstance(nodes, list) else []):
        if isinstance(node, dict):
            yield index, node
