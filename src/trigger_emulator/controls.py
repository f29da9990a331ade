"""The test-control API under `/_emulator/` (only with `test_controls=True`; otherwise those paths 404).

| method and path               | body / answer                                                              |
|-------------------------------|----------------------------------------------------------------------------|
| `POST /_emulator/faults`      | a fault spec (below) → 201 the armed fault, with its `id`                   |
| `GET /_emulator/faults`       | → `{"faults": [...]}`, each with `remaining` and `injected` counts          |
| `DELETE /_emulator/faults`    | → `{"cleared": n}`                                                          |
| `POST /_emulator/reset`       | disarm every fault and refill every rate-limit bucket → `{"reset": true}`   |
| `GET /_emulator/requests`     | → `{"requests": [{method, path, query, headers: [[name, value]...], body}]}`|
| `DELETE /_emulator/requests`  | → `{"cleared": n}`                                                          |
| `POST /_emulator/advance`     | optional `{"now": <epoch ms>}`; runs the simulation up to then → `{"changed": n}` |

A fault spec: `{"kind": "latency"|"error"|"drop"|"malformed"|"rate_limit", "count": N, "fraction": F,
"seed": S, "method": "GET", "path": "/api/v3/runs/*", ...}`. With neither `count` nor `fraction` it hits the
next matching request once; with only `fraction` it hits that share of matching requests (drawn from a
generator seeded with `seed`) until reset. Kind settings: `latency_ms` (default 1000, then the request is
served normally); `status` (default 500), `body` (JSON, or a string sent as text/plain) and `headers` for
`error`; `malformed`: `truncate` (the real JSON cut in half) or `garbage` (not JSON at all). `drop` closes the
connection without answering; `rate_limit` answers with the limiter's 429 and headers.
Requests to `/_emulator/` are neither logged nor subject to faults.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson
from starlette.responses import Response

from trigger_emulator.emulator import Emulator
from trigger_emulator.faults import FaultSpecError
from trigger_emulator.incoming import Incoming
from trigger_emulator.responses import error, json_response

PREFIX = "/_emulator/"


def _body(request: Incoming) -> object:
    return orjson.loads(request.body) if request.body.strip() else {}


def _add_fault(request: Incoming, emulator: Emulator) -> Response:
    return json_response(emulator.faults.add(_body(request)).describe(), 201)


def _list_faults(request: Incoming, emulator: Emulator) -> Response:
    return json_response({"faults": emulator.faults.describe()})


def _clear_faults(request: Incoming, emulator: Emulator) -> Response:
    count = len(emulator.faults.describe())
    emulator.faults.clear()
    return json_response({"cleared": count})


def _reset(request: Incoming, emulator: Emulator) -> Response:
    emulator.faults.clear()
    emulator.limiter.reset()
    return json_response({"reset": True})


def _list_requests(request: Incoming, emulator: Emulator) -> Response:
    return json_response({"requests": list(emulator.requests)})


def _clear_requests(request: Incoming, emulator: Emulator) -> Response:
    count = len(emulator.requests)
    emulator.requests.clear()
    return json_response({"cleared": count})


def _advance(request: Incoming, emulator: Emulator) -> Response:
    body = _body(request)
    now = body.get("now") if isinstance(body, dict) else None
    if now is not None and (not isinstance(now, int) or isinstance(now, bool)):
        return error("'now' must be an epoch time in milliseconds", 400)
    return json_response({"changed": emulator.advance(now)})


_CONTROLS: dict[tuple[str, str], Callable[[Incoming, Emulator], Response]] = {
    ("POST", "faults"): _add_fault,
    ("GET", "faults"): _list_faults,
    ("DELETE", "faults"): _clear_faults,
    ("POST", "reset"): _reset,
    ("GET", "requests"): _list_requests,
    ("DELETE", "requests"): _clear_requests,
    ("POST", "advance"): _advance,
}


def handle(request: Incoming, emulator: Emulator) -> Response:
    """Answer one test-control request."""
    control = _CONTROLS.get((request.method, request.raw_path.removeprefix(PREFIX).rstrip("/")))
    if control is None:
        return error(f"no test control at {request.method} {request.raw_path}; see docs/emulator.md", 404)
    try:
        return control(request, emulator)
    except orjson.JSONDecodeError:
        return error("the body must be JSON", 400)
    except FaultSpecError as exc:
        return error(str(exc), 400)
