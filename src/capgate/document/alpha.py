"""The Naftiko dialect — `naftiko: 0.5 | 1.0.0-alpha1 | 1.0.0-alpha2` — read into the one model.

What is particular to this generation is settled here and nowhere else:
- `consumes` entries that import a namespace from another file (`import: registry, location: ./shared/x.yaml`,
  optionally `as: alias`) are replaced by the namespace they name, the location read, as the reference engine
  does, from the document's folder; problems in that file are reported at its own lines;
- 1.0.0-alpha2 refuses a `baseUri` that ends with `/` (its engine throws "baseUri must not end with a trailing
  slash"); 0.5 and alpha1 accept it, and the slash is dropped when paths are joined to it;
- an output parameter with a `name` whose `value` starts with `$` is a mapping (the consumed side's spelling),
  an `items` given as a list means its first entry, a mapping's member name with spaces (`$.a.Due Date`) is
  read as `$.a['Due Date']`, and a step without `type` is a call or a lookup by its fields, as the reference
  engine's deserializers and JSONPath reader read them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from capgate.core.errors import DocumentError, Problem
from capgate.document.jsonpath import is_valid
from capgate.document.models import ConsumesHttp
from capgate.document.source import SourceMap, load_yaml, read_source

ROOT_KEY = "naftiko"
VERSIONS = ("0.5", "1.0.0-alpha1", "1.0.0-alpha2")
_STRICT_BASE_URI = frozenset({"1.0.0-alpha2"})  # the versions whose engine refuses a trailing slash

_SPACED_NAME = re.compile(r"\.([^.\[\]]*\s[^.\[\]]*)")
ProblemOf = Callable[[Any, Any, SourceMap], Problem]  # a pydantic error -> a located problem (capgate.document.load)


def read_alpha(data: dict[str, Any], source: SourceMap, problem_of: ProblemOf) -> tuple[dict[str, Any], list[Problem]]:
    """`data` as the model reads it (imports resolved, spellings settled), and the problems found doing so."""
    version = str(data.get(ROOT_KEY))
    problems: list[Problem] = []
    if version not in VERSIONS:
        problems.append(
            source.problem(
                (ROOT_KEY,), f"version {version!r} is untested (capgate reads {', '.join(VERSIONS)})", "warning"
            )
        )
    read = {key: value for key, value in data.items() if key != ROOT_KEY}
    read["dialect"] = f"naftiko {version}"
    capability = read.get("capability")
    if isinstance(capability, dict):
        capability = settled(capability)
        consumes = capability.get("consumes")
        if isinstance(consumes, list):
            folder = Path(source.file).parent
            resolved = []
            for index, entry in enumerate(consumes):
                where = ("capability", "consumes", index)
                if isinstance(entry, dict) and "location" in entry and "import" in entry:
                    imported = _imported(entry, where, folder, source, version, problem_of, problems)
                    resolved.append(imported if imported is not None else entry)
                    continue
                if version in _STRICT_BASE_URI:
                    problems += base_uri_problems(entry, where, source, f"naftiko {version}")
                resolved.append(entry)
            capability["consumes"] = resolved
        read["capability"] = capability
    return read, problems


def _imported(
    entry: dict[str, Any],
    where: tuple[str | int, ...],
    folder: Path,
    source: SourceMap,
    version: str,
    problem_of: ProblemOf,
    problems: list[Problem],
) -> ConsumesHttp | None:
    """The namespace an import names, read from its file; None (and a problem) when it cannot be."""
    location, namespace = str(entry["location"]), str(entry["import"])
    path = (folder / location).resolve()
    if not path.is_file():
        problems.append(source.problem((*where, "location"), f"import source file not found: {path}"))
        return None
    try:
        data, imported_source = load_yaml(read_source(path), str(path))
    except DocumentError as exc:
        problems += exc.problems
        return None
    except OSError as exc:
        problems.append(source.problem((*where, "location"), f"cannot read {path}: {exc}"))
        return None
    listed = data.get("consumes") if isinstance(data, dict) else None
    if not isinstance(listed, list):
        problems.append(source.problem((*where, "location"), f"{path} has no top-level `consumes` list to import from"))
        return None
    for index, candidate in enumerate(listed):
        if isinstance(candidate, dict) and candidate.get("namespace") == namespace:
            at = ("consumes", index)
            if version in _STRICT_BASE_URI:
                problems += base_uri_problems(candidate, at, imported_source, f"naftiko {version}")
            try:
                found = ConsumesHttp.model_validate(settled(candidate))
            except ValidationError as exc:
                problems += [problem_of(error, candidate, imported_source) for error in exc.errors()]
                return None
            alias = entry.get("as")
            return found.model_copy(update={"namespace": str(alias)}) if alias else found
    known = ", ".join(str(c.get("namespace")) for c in listed if isinstance(c, dict)) or "none"
    problems.append(
        source.problem((*where, "import"), f"namespace {namespace!r} not found in {path} (it declares: {known})")
    )
    return None


def base_uri_problems(entry: Any, where: tuple[str | int, ...], source: SourceMap, dialect: str) -> list[Problem]:
    """A trailing `/` on a consumed `baseUri`, for the dialects whose engine refuses it (`dialect` says which)."""
    base_uri = entry.get("baseUri") if isinstance(entry, dict) else None
    if isinstance(base_uri, str) and base_uri.endswith("/"):
        return [
            source.problem(
                (*where, "baseUri"),
                f"baseUri must not end with a trailing slash ({dialect} refuses {base_uri!r}); remove the final '/'",
            )
        ]
    return []


def settled(node: Any) -> Any:
    """A copy of `node` with this dialect's spellings settled (see the module docstring)."""
    if isinstance(node, list):
        return [settled(item) for item in node]
    if not isinstance(node, dict):
        return node
    copy = {key: settled(value) for key, value in node.items()}
    outputs = copy.get("outputParameters")
    if isinstance(outputs, list):
        copy["outputParameters"] = [_output(output) for output in outputs]
    steps = copy.get("steps")
    if isinstance(steps, list):
        copy["steps"] = [_step(step) for step in steps]
    return copy


def _output(output: Any) -> Any:
    if not isinstance(output, dict):
        return output  # a lookup step's outputParameters are field names
    output = dict(output)
    value = output.get("value")
    if "name" in output and isinstance(value, str) and value.strip().startswith("$") and "mapping" not in output:
        output["mapping"] = output.pop("value")
    mapping = output.get("mapping")
    # `$.a.Participation Status.b` is no JSONPath; the engine retries such a path with the name bracketed.
    if isinstance(mapping, str) and " " in mapping and not is_valid(mapping):
        output["mapping"] = _SPACED_NAME.sub(lambda match: f"['{match.group(1)}']", mapping)
    items = output.get("items")
    if isinstance(items, list):
        output["items"] = items[0] if items else None
    if isinstance(output.get("items"), dict):
        output["items"] = _output(output["items"])
    properties = output.get("properties")
    if isinstance(properties, dict):
        output["properties"] = {name: _output(child) for name, child in properties.items()}
    return output


def _step(step: Any) -> Any:
    if isinstance(step, dict) and "type" not in step:
        kind = "lookup" if "index" in step else "call" if "call" in step else None
        return {**step, "type": kind} if kind else step
    return step
