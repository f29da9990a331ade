"""Run metadata: the `FlushedRunMetadata` body, and its change operations as `applyMetadataOperations` applies them.

Keys are top-level names, or JSON paths starting with `$.` (dotted names and `[n]` indexes; missing
objects on the way are created). A key naming `__proto__`, `constructor` or `prototype`, or a path naming
nothing below `$`, is refused by the schema, as in `@trigger.dev/core` 4.8.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

import orjson

from trigger_emulator import fields, zod

MAX_METADATA_BYTES = 262_144  # TASK_RUN_METADATA_MAXIMUM_SIZE
OPERATION_LISTS = ("operations", "parentOperations", "rootOperations")
_TYPES = ("update", "set", "delete", "append", "remove", "increment")
_DANGEROUS = frozenset({"__proto__", "constructor", "prototype"})
_PATH_PARTS = re.compile(r"(?:[^.\\]|\\.)+")
_SEGMENTS = re.compile(r"[^.\[\]]+|\[(\d+)\]")

Operation = Mapping[str, Any]


class MetadataTooLarge(Exception):
    """The new metadata is over the size limit; `str()` is the live 413 message."""


def _required(path: zod.Path, expected: str) -> zod.Issue:
    return {"code": "invalid_type", "expected": expected, "received": "undefined", "path": path, "message": "Required"}


def _key_issue(key: Any, path: zod.Path) -> zod.Issue | None:
    if key is None:
        return _required(path, "string")
    if (issue := fields.string(key, path)) is not None:
        return issue
    if not key.startswith("$."):  # a literal key is assigned directly: only `__proto__` can do harm
        dangerous = key == "__proto__"
    elif len(_PATH_PARTS.findall(key)) <= 1:
        return zod.custom(path, "A JSON path key must name a segment below $")
    else:
        dangerous = any(name in _DANGEROUS for name in re.split(r"[.\[\]'\"\\]+", key))
    if dangerous:
        return zod.custom(path, "Metadata key may not reference __proto__, constructor, or prototype")
    return None


def _operation_issues(operation: Any, path: zod.Path) -> list[zod.Issue]:
    if not isinstance(operation, dict):
        return [zod.invalid_type(path, "object", zod.received(operation))]
    kind = operation.get("type")
    if kind not in _TYPES:
        expected = " | ".join(f"'{name}'" for name in _TYPES)
        message = f"Invalid discriminator value. Expected {expected}"
        return [{"code": "invalid_union_discriminator", "options": list(_TYPES), "path": [*path, "type"],
                 "message": message}]  # fmt: skip
    issues: list[zod.Issue] = []
    if kind != "update" and (issue := _key_issue(operation.get("key"), [*path, "key"])) is not None:
        issues.append(issue)
    value, where = operation.get("value"), [*path, "value"]
    if kind == "update":
        issue = _required(where, "object") if "value" not in operation else fields.record(value, where)
    elif kind == "increment":
        issue = _required(where, "number") if "value" not in operation else fields.number(value, where)
    elif kind in ("set", "append", "remove"):
        issue = zod.invalid_union(where) if "value" not in operation else None
    else:
        issue = None
    return issues + ([issue] if issue else [])


def body_issues(body: Any) -> list[zod.Issue]:
    """zod issues of `UpdateMetadataRequestBody` (`{metadata?, operations?, parentOperations?, rootOperations?}`)."""
    if not isinstance(body, dict):
        return [zod.invalid_type([], "object", zod.received(body))]
    issues: list[zod.Issue] = []
    if "metadata" in body and (issue := fields.record(body["metadata"], ["metadata"])) is not None:
        issues.append(issue)
    for name in OPERATION_LISTS:
        if name not in body:
            continue
        operations = body[name]
        if not isinstance(operations, list):
            issues.append(zod.invalid_type([name], "array", zod.received(operations)))
            continue
        for index, operation in enumerate(operations):
            issues.extend(_operation_issues(operation, [name, index]))
    return issues


def _segments(key: str) -> list[str | int]:
    """`$.a.b[2]` as `["a", "b", 2]`."""
    return [int(match.group(1)) if match.group(1) else match.group(0) for match in _SEGMENTS.finditer(key[2:])]


def _equal(left: Any, right: Any) -> bool:
    """`dequal`: deep equality where `true` is not `1` (Python's `==` says it is)."""
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_equal(left[key], right[key]) for key in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(_equal(a, b) for a, b in zip(left, right, strict=True))
    return bool(type(left) is type(right) or (fields.is_number(left) and fields.is_number(right))) and left == right


def _get(document: Any, segments: list[str | int]) -> Any:
    for segment in segments:
        in_list = isinstance(segment, int) and isinstance(document, list) and segment < len(document)
        in_object = isinstance(segment, str) and isinstance(document, dict) and segment in document
        if not (in_list or in_object):
            return None
        document = document[segment]
    return document


def _set(document: dict[str, Any], segments: list[str | int], value: Any) -> None:
    target: Any = document
    for segment, following in zip(segments, segments[1:], strict=False):
        child = _get(target, [segment])
        if not isinstance(child, dict | list):
            child = [] if isinstance(following, int) else {}
            _put(target, segment, child)
        target = child
    _put(target, segments[-1], value)


def _put(container: Any, segment: str | int, value: Any) -> None:
    if isinstance(container, list) and isinstance(segment, int):
        container.extend([None] * (segment + 1 - len(container)))
        container[segment] = value
    elif isinstance(container, dict):
        container[str(segment)] = value


def _read(metadata: dict[str, Any], key: str) -> Any:
    return _get(metadata, _segments(key)) if key.startswith("$.") else metadata.get(key)


def _write(metadata: dict[str, Any], key: str, value: Any) -> None:
    if key.startswith("$."):
        _set(metadata, _segments(key), value)
    else:
        metadata[key] = value


def apply_operations(current: Mapping[str, Any], operations: list[Operation]) -> tuple[dict[str, Any], int]:
    """The metadata after the operations, and how many of them applied (a `remove` on a non-list does not)."""
    metadata = copy.deepcopy(dict(current))
    applied = 0
    for operation in operations:
        kind, key, value = operation["type"], operation.get("key", ""), operation.get("value", {})
        if kind == "update":
            metadata = copy.deepcopy(dict(value))
        elif kind == "set":
            _write(metadata, key, copy.deepcopy(value))
        elif kind == "delete":
            metadata.pop(key, None)  # a JSON-path key deletes nothing, as live
        elif kind == "append":
            existing = _read(metadata, key)
            items = [*existing] if isinstance(existing, list) else [] if existing is None else [existing]
            _write(metadata, key, [*items, copy.deepcopy(value)])
        elif kind == "remove":
            existing = _read(metadata, key)
            if not isinstance(existing, list):
                continue
            _write(metadata, key, [item for item in existing if not _equal(item, value)])
        elif kind == "increment":
            existing = _read(metadata, key)
            base = existing if fields.is_number(existing) else 0
            _write(metadata, key, base + value)
        applied += 1
    return metadata, applied


def checked_size(metadata: Mapping[str, Any]) -> Mapping[str, Any]:
    """The metadata, if its JSON fits the limit; otherwise `MetadataTooLarge`."""
    if len(orjson.dumps(metadata)) > MAX_METADATA_BYTES:
        raise MetadataTooLarge(f"Metadata exceeds maximum size of {MAX_METADATA_BYTES} bytes")
    return metadata
