"""The seven runs endpoints. Each takes the request, the emulator and the path parameter, and returns the
response the live route would: its own 401 text, its own 404 body, its own body-parsing rules.

Routing, method quirks and CORS are `trigger_emulator.routes`' business; the rules themselves live in
`trigger_emulator.actions`.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from trigger_emulator import actions, zod
from trigger_emulator.auth import AuthError
from trigger_emulator.dates import now_ms
from trigger_emulator.emulator import Emulator
from trigger_emulator.ids import encode_cursor
from trigger_emulator.incoming import Incoming
from trigger_emulator.listing import QueryError, parse_list_query
from trigger_emulator.models import Environment, Run
from trigger_emulator.presenters import list_item, retrieve_body
from trigger_emulator.responses import error, json_response, unexpected_server_error
from trigger_emulator.statuses import API_VERSION_HEADER, uses_current_names
from trigger_emulator.trigger import BodyError, new_run, validate

MAX_PAYLOAD_BYTES = 3 * 1024 * 1024  # TASK_PAYLOAD_MAXIMUM_SIZE
_RESCHEDULE_401 = "Invalid or missing API Key"
_TAGS_401 = "Invalid or Missing API Key"
_MAX_JS_DATE_MS = 8.64e15


def _current(request: Incoming) -> bool:
    return uses_current_names(request.headers.get(API_VERSION_HEADER))


def _authenticate(emulator: Emulator, request: Incoming, legacy_message: str | None = None) -> Environment:
    """The caller's environment; legacy routes swap the apiBuilder's message for their own."""
    try:
        return emulator.keys.authenticate(request.headers)
    except AuthError as exc:
        if legacy_message is None:
            raise
        raise AuthError(legacy_message) from exc


def _cursor(run: Run) -> str:
    return encode_cursor(run.created_at, run.id)


def list_runs(request: Incoming, emulator: Emulator, _: str) -> Response:
    """`GET /api/v1/runs`."""
    env = _authenticate(emulator, request)
    try:
        query = parse_list_query(request.query, now_ms())
    except QueryError as exc:
        return json_response({"error": "Query Error", "details": exc.issues}, 400)
    rows = emulator.store.list_runs(env.id, query.where, query.page)
    more = len(rows) > query.page.size
    rows = rows[: query.page.size]
    pagination: dict[str, str] = {}
    if query.page.backward:  # rows come oldest first; `next` always leads back to older runs
        if rows:
            pagination["next"] = _cursor(rows[0])
        if more:
            pagination["previous"] = _cursor(rows[-1])
    else:
        if more:
            pagination["next"] = _cursor(rows[-1])
        if query.page.cursor_run_id is not None and rows:
            pagination["previous"] = _cursor(rows[0])
    current = _current(request)
    data = [list_item(run, env, current=current) for run in rows]
    return json_response({"data": data, "pagination": pagination})


def retrieve_run(request: Incoming, emulator: Emulator, run_id: str) -> Response:
    """`GET /api/v3/runs/{runId}`."""
    env = _authenticate(emulator, request)
    run = emulator.store.find_run(env.id, run_id)
    if run is None:
        retry = "true" if emulator.config.retry_not_found else "false"
        return error("Not found", 404, {"x-should-retry": retry})
    return json_response(retrieve_body(run, emulator.store, current=_current(request)))


def cancel_run(request: Incoming, emulator: Emulator, run_id: str) -> Response:
    """`POST /api/v2/runs/{runId}/cancel` (any action method): idempotent, cascades to child runs."""
    env = _authenticate(emulator, request)
    try:
        run = actions.cancel(emulator.store, env, run_id, now_ms())
    except actions.RunNotFound:
        return error("Resource not found", 404)
    return json_response({"id": run.friendly_id})


def replay_run(request: Incoming, emulator: Emulator, run_id: str) -> Response:
    """`POST /api/v1/runs/{runId}/replay`."""
    env = _authenticate(emulator, request)
    source = request.headers.get("x-trigger-source") or "api"
    try:
        run = actions.replay(emulator.store, env, run_id, now_ms(), emulator.rng, source)
    except actions.RunNotFound:
        return error("Resource not found", 404)
    return json_response({"id": run.friendly_id})


def _reschedule_delay(body: Any) -> str | int | None:
    """`RescheduleRunRequestBody`: a string, or anything `new Date(x)` makes a valid date of (as epoch ms)."""
    if not isinstance(body, dict) or "delay" not in body:
        return None
    delay = body["delay"]
    if isinstance(delay, str):
        return delay
    if delay is None or isinstance(delay, bool):
        return int(delay or 0)
    if isinstance(delay, int | float) and abs(delay) <= _MAX_JS_DATE_MS:
        return int(delay)  # a date JavaScript accepts; `resolve_delay` refuses the ones it cannot write
    return None


def reschedule_run(request: Incoming, emulator: Emulator, run_id: str) -> Response:
    """`POST /api/v1/runs/{runId}/reschedule` (a legacy hand-written route)."""
    env = _authenticate(emulator, request, _RESCHEDULE_401)
    try:
        body = orjson.loads(request.body)
    except orjson.JSONDecodeError:
        return unexpected_server_error()  # `request.json()` throws outside the route's try
    delay = _reschedule_delay(body)
    if delay is None:
        return error("Invalid request body", 400)
    now = now_ms()
    try:
        run = actions.reschedule(emulator.store, env, run_id, delay, now)
    except actions.RunNotFound:
        return error("Run not found", 404)
    except actions.NotDelayed:
        return error("Cannot reschedule a run that is not delayed", 400)
    except actions.InvalidDelay as exc:
        return error(str(exc), 400)
    return json_response(retrieve_body(run, emulator.store, current=_current(request)))


def _tag_issues(body: Any) -> list[zod.Issue]:
    """Zod issues for `AddTagsRequestBody` (`{tags: string | string[]}`, each at most 128 characters)."""
    if not isinstance(body, dict):
        return [zod.invalid_type([], "object", zod.received(body))]
    tags = body.get("tags")
    if not isinstance(tags, str | list) or (isinstance(tags, list) and not all(isinstance(t, str) for t in tags)):
        return [zod.invalid_union(["tags"])]
    values = [tags] if isinstance(tags, str) else tags
    message = "Tags must be less than 128 characters"
    return [
        zod.too_big(["tags"] if isinstance(tags, str) else ["tags", index], 128, kind="string", message=message)
        for index, tag in enumerate(values)
        if len(tag) > 128
    ]


def add_tags(request: Incoming, emulator: Emulator, run_id: str) -> Response:
    """`POST /api/v1/runs/{runId}/tags` (a legacy hand-written route)."""
    env = _authenticate(emulator, request, _TAGS_401)
    try:
        body = orjson.loads(request.body)
        issues = _tag_issues(body)
        if issues:
            return json_response({"error": "Invalid request body", "issues": issues}, 400)
        tags = [body["tags"]] if isinstance(body["tags"], str) else body["tags"]
        message = actions.add_tags(emulator.store, env, run_id, tags, now_ms())
    except actions.RunNotFound:
        return error("Run not found", 404)
    except actions.TooManyTags as exc:
        return error(str(exc), 422)
    except Exception:  # the live route's catch-all, which also catches invalid JSON
        return error("Something went wrong, please try again.", 500)
    return json_response({"message": message})


def trigger_task(request: Incoming, emulator: Emulator, task_id: str) -> Response:
    """`POST /api/v1/tasks/{taskId}/trigger` (any action method)."""
    env = _authenticate(emulator, request)
    length = request.headers.get("content-length")
    if not length or not length.isdigit() or int(length) > MAX_PAYLOAD_BYTES:
        return error("Request body too large", 413)
    if not request.body:
        return error("Request body is empty", 400)
    try:
        body = orjson.loads(request.body)
    except orjson.JSONDecodeError:
        body = None
    if body is None or (isinstance(body, str | int | float) and not body):  # JS-falsy JSON counts as invalid
        return error("Invalid JSON", 400)
    try:
        options = validate(body)
    except BodyError as exc:
        return error(str(exc), 400)
    store = emulator.store
    request_key = request.headers.get("x-trigger-request-idempotency-key")
    if request_key:
        cached = store.request_run(env.id, request_key)
        run = store.get_run(cached) if cached else None
        if run is not None:
            return json_response({"id": run.friendly_id, "isCached": False})
    now = now_ms()
    spec = new_run(task_id, body, options, request.headers, now)
    try:
        run, cached_run = actions.trigger(store, env, spec, now, emulator.rng)
    except actions.TooManyTags as exc:
        return error(str(exc), 422)
    if request_key:
        store.remember_request(env.id, request_key, run.id)
    return json_response({"id": run.friendly_id, "isCached": cached_run})
