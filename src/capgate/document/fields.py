"""Unknown keys: a field the format does not have is named, with the nearest one it does have.

The known keys come from the models (`document/models.py`), so a field added there is known here with no
change, plus the format's fields capgate reads past without modelling them (`stakeholders`, a script step's
`dependencies`, an Ikanos operation's `responses`, …). Where the format forbids other keys (every object but
a parameter), an unknown key is an error: `baseUrl` for `baseUri` would otherwise be dropped, and the only
message would be that `baseUri` is required. A parameter may carry any JSON-Schema keyword (capgate
validates arguments with them), so there an unknown key is a warning: it is ignored.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Iterator
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from capgate.core.errors import Problem
from capgate.document import models
from capgate.document.source import Path, SourceMap, format_path

# Fields of the alpha2 schema that capgate does not model: known, so never taken for misspellings.
FORMAT_ONLY: dict[type[BaseModel], frozenset[str]] = {
    models.Document: frozenset({"consumes"}),
    models.Info: frozenset({"created", "modified", "stakeholders", "version"}),
    models.InboundAuthentication: frozenset({"tokenEndpoint", "tokenValidation"}),
    models.OutputParameter: frozenset({"const", "description", "values", "maxLength", "selector"}),
    models.ControlManagement: frozenset({"reload", "validate", "logs", "scripting"}),
    models.ScriptStep: frozenset({"dependencies", "with"}),
    models.ExposedOperation: frozenset({"responses"}),  # Ikanos: the OpenAPI response contract its export writes
}
# The JSON-Schema keywords a parameter may carry (draft 2020-12 validation and annotation vocabularies).
SCHEMA_KEYWORDS = frozenset(
    {
        "type", "enum", "const", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum",
        "maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "maxContains", "minContains",
        "items", "prefixItems", "contains", "maxProperties", "minProperties", "required", "dependentRequired",
        "properties", "patternProperties", "additionalProperties", "propertyNames", "allOf", "anyOf", "oneOf",
        "not", "if", "then", "else", "format", "title", "description", "default", "examples", "deprecated",
        "readOnly", "writeOnly", "contentEncoding", "contentMediaType", "nullable",
    }
)  # fmt: skip
OPEN_MODELS: dict[type[BaseModel], frozenset[str]] = {
    models.InputParameter: SCHEMA_KEYWORDS
}  # models whose extra keys are allowed, and which


def key_problems(data: Any, source: SourceMap, missing: frozenset[str] = frozenset()) -> tuple[list[Problem], set[str]]:
    """Every unknown key of the document, as errors (closed objects) or warnings (parameters), and which of the
    `missing` required fields (as `format_path` writes them) an unknown key beside them misspells."""
    explained: set[str] = set()
    return list(_Walk(source, missing, explained).model(models.Document, data, ())), explained


class _Walk:
    def __init__(self, source: SourceMap, missing: frozenset[str], explained: set[str]) -> None:
        self.source = source
        self.missing = missing
        self.explained = explained

    def model(self, model: type[BaseModel], node: Any, path: Path) -> Iterator[Problem]:
        if not isinstance(node, dict):
            return
        fields = model.model_fields
        by_key = {field.alias or name: name for name, field in fields.items()} | {name: name for name in fields}
        known = {field.alias or name for name, field in fields.items()} | FORMAT_ONLY.get(model, set())
        allowed = OPEN_MODELS.get(model)
        for key, value in node.items():
            if key in by_key:
                yield from self.value(fields[by_key[key]].annotation, value, (*path, key))
            elif key in known:
                continue  # an alpha2 field capgate does not read
            elif allowed is None:
                yield self.source.problem((*path, key), self.unknown(key, known, path))
            elif key not in allowed:
                message = f"{self.unknown(key, known | allowed, path)}; a parameter's other keys are JSON-Schema"
                yield self.source.problem((*path, key), f"{message} keywords, so capgate ignores this one", "warning")

    def unknown(self, key: str, known: set[str] | frozenset[str], path: Path) -> str:
        nearest = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
        if not nearest:
            return f"unknown field {key!r} (the fields here: {', '.join(sorted(known))})"
        if format_path((*path, nearest[0])) in self.missing:
            self.explained.add(format_path((*path, nearest[0])))
            return f"unknown field {key!r}; did you mean {nearest[0]!r}, which is required?"
        return f"unknown field {key!r}; did you mean {nearest[0]!r}?"

    def value(self, annotation: Any, value: Any, path: Path) -> Iterator[Problem]:
        """Follow a field's type into its value: a model, a list or mapping of models, a union chosen by `type`."""
        origin = get_origin(annotation)
        if origin is Annotated:
            yield from self.value(get_args(annotation)[0], value, path)
        elif origin in (Union, types.UnionType):
            model = _member_for(get_args(annotation), value)
            if model is not None:
                yield from self.model(model, value, path)
        elif origin is list and isinstance(value, list):
            for index, item in enumerate(value):
                yield from self.value(get_args(annotation)[0], item, (*path, index))
        elif origin is dict and isinstance(value, dict):
            for key, item in value.items():
                yield from self.value(get_args(annotation)[1], item, (*path, key))
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from self.model(annotation, value, path)


def _member_for(members: tuple[Any, ...], value: Any) -> type[BaseModel] | None:
    """The model of a union that `value` is: the only one, or the one whose `type` literal it names."""
    candidates = [member for member in members if isinstance(member, type) and issubclass(member, BaseModel)]
    if len(candidates) == 1:
        return candidates[0]
    kind = value.get("type") if isinstance(value, dict) else None
    for candidate in candidates:
        field = candidate.model_fields.get("type")
        if field is not None and get_origin(field.annotation) is Literal and kind in get_args(field.annotation):
            return candidate
    return None  # no member matches: the model's own error says which types there are
