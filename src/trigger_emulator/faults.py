"""Injected faults for reliability tests: latency, error statuses, dropped connections, malformed bodies
and rate-limit exhaustion, each for the next N matching requests or a (seeded) fraction of them.

A fault spec is the JSON posted to `POST /_emulator/faults` (see `trigger_emulator.controls`):
`kind` plus optional `count`, `fraction`, `seed`, `method`, `path` (a glob such as `/api/v3/runs/*`) and the
kind's own settings: `latency_ms`; `status`, `body`, `headers`; `malformed` (`truncate` or `garbage`).
"""

from __future__ import annotations

import fnmatch
import itertools
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response

from trigger_emulator.responses import JSON_TYPE, TEXT_TYPE, json_response

KINDS = ("latency", "error", "drop", "malformed", "rate_limit")
MALFORMED = ("truncate", "garbage")


class FaultSpecError(ValueError):
    """A fault spec that cannot be used; the message says which field is wrong."""


@dataclass
class Fault:
    """One armed fault and how many more requests it may hit (`remaining` None = until reset)."""

    id: str
    kind: str
    remaining: int | None
    fraction: float
    seed: int | None
    method: str | None
    path: str | None
    latency_ms: int = 0
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    malformed: str = "truncate"
    injected: int = 0
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    def matches(self, method: str, path: str) -> bool:
        """Whether a request with this method and path is one this fault is about."""
        if self.method is not None and self.method != method:
            return False
        return self.path is None or fnmatch.fnmatchcase(path, self.path)

    def fire(self) -> bool:
        """Decide (and count) whether this matching request gets the fault."""
        if self.remaining == 0 or self._rng.random() >= self.fraction:
            return False
        self.injected += 1
        if self.remaining is not None:
            self.remaining -= 1
        return True

    def describe(self) -> dict[str, Any]:
        """The fault as the control API shows it."""
        shown = {key: value for key, value in vars(self).items() if not key.startswith("_")}
        return {key: value for key, value in shown.items() if value is not None}

    def error_response(self) -> Response:
        """The response an `error` fault sends instead of the real one."""
        if isinstance(self.body, str):
            response = Response(self.body, self.status, media_type=TEXT_TYPE)
        else:
            response = json_response({"error": "Injected fault"} if self.body is None else self.body, self.status)
        response.headers.update(self.headers)
        return response


def _number(spec: Mapping[str, Any], key: str, default: float, *, low: float, high: float | None = None) -> float:
    value = spec.get(key, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or value < low or (high and value > high):
        limit = f"between {low} and {high}" if high else f"at least {low}"
        raise FaultSpecError(f"fault field {key!r} must be a number {limit}, got {value!r}")
    return value


def parse_fault(spec: Any, fault_id: str) -> Fault:
    """Build a fault from its JSON spec; raises `FaultSpecError` naming the bad field."""
    if not isinstance(spec, dict):
        raise FaultSpecError('a fault spec is a JSON object, e.g. {"kind": "error", "status": 503}')
    kind = spec.get("kind")
    if kind not in KINDS:
        raise FaultSpecError(f"fault field 'kind' must be one of {', '.join(KINDS)}, got {kind!r}")
    fraction = _number(spec, "fraction", 1.0, low=0.0, high=1.0)
    count = spec.get("count", None if "fraction" in spec else 1)
    if count is not None:
        count = int(_number(spec, "count", 1, low=1))
    seed = spec.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise FaultSpecError(f"fault field 'seed' must be an integer, got {seed!r}")
    for key in ("method", "path"):
        if spec.get(key) is not None and not isinstance(spec[key], str):
            raise FaultSpecError(f"fault field {key!r} must be a string, got {spec[key]!r}")
    headers = spec.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise FaultSpecError("fault field 'headers' must be an object of strings")
    malformed = spec.get("malformed", "truncate")
    if malformed not in MALFORMED:
        raise FaultSpecError(f"fault field 'malformed' must be one of {', '.join(MALFORMED)}, got {malformed!r}")
    return Fault(
        id=fault_id,
        kind=kind,
        remaining=count,
        fraction=fraction,
        seed=seed,
        method=spec["method"].upper() if spec.get("method") else None,
        path=spec.get("path"),
        latency_ms=int(_number(spec, "latency_ms", 1000, low=0)),
        status=int(_number(spec, "status", 500, low=100, high=599)),
        body=spec.get("body"),
        headers=headers,
        malformed=malformed,
        _rng=random.Random(seed),
    )


def malform(response: Response, how: str) -> Response:
    """The same response with a broken body: JSON cut in half, or bytes that are not JSON at all."""
    body = bytes(response.body)
    broken = body[: max(1, len(body) // 2)] if how == "truncate" else b"<html><body>upstream garbage</body></html"
    result = Response(broken, response.status_code, media_type=response.media_type or JSON_TYPE)
    for name, value in response.headers.items():
        if name not in ("content-length", "content-type"):
            result.headers.append(name, value)
    return result


class Faults:
    """The armed faults, in the order they were added; the first one that fires wins."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(self, spec: Any) -> Fault:
        """Arm a fault from its spec."""
        fault = parse_fault(spec, f"fault_{next(self._ids)}")
        self._faults.append(fault)
        return fault

    def pick(self, method: str, path: str) -> Fault | None:
        """The fault to apply to this request, if any; spent faults are dropped."""
        chosen = next((f for f in self._faults if f.matches(method, path) and f.fire()), None)
        self._faults = [f for f in self._faults if f.remaining != 0]
        return chosen

    def describe(self) -> list[dict[str, Any]]:
        """Every armed fault, as the control API shows it."""
        return [fault.describe() for fault in self._faults]

    def clear(self) -> None:
        """Disarm everything."""
        self._faults.clear()
