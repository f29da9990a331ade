"""The runs endpoints. Each takes the request, the emulator and the path parameter, and returns the response
the live route would: its own 401 text, its own 404 body, its own body-parsing rules.

Routing, method quirks and CORS are `trigger_emulator.routes`' business; the rules themselves live in
`trigger_emulator.actions`.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from trigger_emulator import actions, metadata, zod
from trigger_emulator.auth import AuthError
from trigger_emulator.dates import now_ms
from trigger_emulator.emulator import Emulator
from trigger_emulator.ids import encode_cursor
from trigger_emulator.incoming import Incoming
from trigger_emulator.listing import QueryError, parse_list_query
from trigger_emulator.models import Environment, Run
from trigger_emulator.presenters import list_item, retrieve_body
from trigger_emulator.replay import read_overrides
from trigger_emulator.responses import error, json_response, unexpected_server_error
from trigger_emulator.statuses import API_VERSION_HEADER, uses_current_names
from trigger_emulator.trace_bodies import TraceQueryError, events_body, page_body, parse_trace_query, tree_body
from trigger_emulator.traces import run_span_id, run_spans, trace_id, trace_spans
from trigger_emulator.trigger import BodyError, allowed_source, header_issues, new_run, validate

MAX_PAYLOAD_BYTES = 3 * 1024 * 1024  # TASK_PAYLOAD_MAXIMUM_SIZE
MAX_METADATA_BODY_BYTES = 2 * 1024 * 1024  # the metadata route's maxContentLength
_RESCHEDULE_401 = "Invalid or missing API Key"
_MISSING_KEY_401 = "Invalid or Missing API Key"  # tags, and the metadata loader
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


def _not_found(emulator: Emulator) -> Response:
    """A loader's 404; the live routes say `x-should-retry: true` (see `--retry-not-found`)."""
    retry = "true" if emulator.config.retry_not_found else "false"
    return error("Not found", 404, {"x-should-retry": retry})


def retrieve_run(request: Incoming, emulator: Emulator, run_id: str) -> Response:
    """`GET /api/v3/runs/{runId}`."""
    env = _authenticate(emulator, request)
    run = emulator.store.find_run(env.id, run_id)
    if run is None:
        return _not_found(emulator)
    return json_response(retrieve_body(run, emulator.store, current=_current(request)))


def run_trace(request: Incoming, emulator: Emulator, run_id: str) -> Response:
    """`GET /api/v1/runs/{runId}/trace`: the whole tree, or one page of flat spans with `page[size|after]`."""
    env = _authenticate(emulator, request)
    try:
        page = parse_trace_query(request.query)
    except TraceQueryError as exc:
        return json_response({"error": "Query Error", "details": exc.issues}, 400)
    run = emulator.store.find_run(env.id, run_id)
    if run is None:
        return _not_found(emulator)
    spans = trace_spans(emulator.store, run, now_ms())
    if page is not None:
        return json_response(page_body(spans, page))
    return json_response(tree_body(spans, run_span_id(run), trace_id(run)))


def run_events(request: Incoming, emulator: Emulator, run_id: str) -> Response:
    """`GET /api/v1/runs/{runId}/events`: the run's own spans and log lines."""
    env = _authenticate(emulator, request)
    run = emulator.store.find_run(env.id, run_id)
    if run is None:
        return _not_found(emulator)
    return json_response(events_body(run_spans(run, now_ms()), run.friendly_id))


def cancel_run(request: Incoming, emulator: Emulator, run_id: str) -> Response:
    """`POST /api/v2/runs/{runId}/cancel` (any action method): idempotent, cascades to child runs."""
    env = _authenticate(emulator, request)
    try:
        run = actions.cancel(emulator.store, env, run_id, now_ms())
    except actions.RunNotFound:
        return error("Resource not found", 404)
    return json_response({"id": run.friendly_id})


def replay_run(request: Incoming, emulator: Emulator, run_id: str) -> Response:
    """`POST /api/v1/runs/{runId}/replay`, with an optional body of overrides."""
    env = _authenticate(emulator, request)
    if emulator.store.find_run(env.id, run_id) is None:  # the route builder looks the run up first
        return error("Resource not found", 404)
    now = now_ms()
    try:
        overrides = read_overrides(request.body, now)
    except BodyError as exc:
        return error(str(exc), 400)
    source = allowed_source(request.headers.get("x-trigger-source"))
    try:
        run = actions.replay(emulator.store, env, run_id, now, emulator.rng, source, overrides)
    except actions.RunNotFound:
        return error("Run not found", 404)
    except (actions.ReplayRefused, actions.TooManyTags) as exc:  # the route turns what the trigger throws into 400
        return error(str(exc), 400)
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
    env = _authenticate(emulator, request, _MISSING_KEY_401)
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


def _too_large(request: Incoming, max_bytes: int) -> Response | None:
    """The apiBuilder's `maxContentLength`: a content length must be sent, and be within the limit."""
    length = request.headers.get("content-length")
    if not length or not length.isdigit() or int(length) > max_bytes:
        return error("Request body too large", 413)
    return None


def _json_body(request: Incoming) -> Any | Response:
    """The apiBuilder's body rules: not empty, and JSON that is not falsy."""
    if not request.body:
        return error("Request body is empty", 400)
    try:
        body = orjson.loads(request.body)
    except orjson.JSONDecodeError:
        body = None
    if body is None or (isinstance(body, str | int | float) and not body):  # JS-falsy JSON counts as invalid
        return error("Invalid JSON", 400)
    return body


def trigger_task(request: Incoming, emulator: Emulator, task_id: str) -> Response:
    """`POST /api/v1/tasks/{taskId}/trigger` (any action method)."""
    env = _authenticate(emulator, request)
    if (refused := _too_large(request, MAX_PAYLOAD_BYTES)) is not None:
        return refused
    issues = header_issues(request.headers)
    if issues:
        return json_response({"error": "Headers Error", "details": issues}, 400)
    body = _json_body(request)
    if isinstance(body, Response):
        return body
    try:
        options = validate(body)
    except BodyError as exc:
        return error(str(exc), 400)
    store = emulator.store
    request_key = request.headers.get("x-trigger-request-idempotency-key")
    scoped_key = orjson.dumps([request_key, env.id, task_id]).decode() if request_key else None
    if scoped_key:  # the first answer to this request, for this environment and task
        cached = store.request_run(env.id, scoped_key)
        run = store.get_run(cached) if cached else None
        if run is not None:
            return json_response({"id": run.friendly_id, "isCached": False})
    now = now_ms()
    spec = new_run(task_id, body, options, request.headers, now)
    try:
        run, cached_run = actions.trigger(store, env, spec, now, emulator.rng)
    except actions.TooManyTags as exc:
        return error(str(exc), 422)
    if scoped_key:
        store.remember_request(env.id, scoped_key, run.id)
    return json_response({"id": run.friendly_id, "isCached": cached_run})


def get_metadata(request: Incoming, emulator: Emulator, run_id: str) -> Response:
    """`GET /api/v1/runs/{runId}/metadata` (a hand-written loader): the stored packet, as text."""
    env = _authenticate(emulator, request, _MISSING_KEY_401)
    run = emulator.store.find_run(env.id, run_id)
    if run is None:
        return error("Run not found", 404)
    packet = None if run.metadata is None else orjson.dumps(run.metadata).decode()
    return json_response({"metadata": packet, "metadataType": "application/json"})


def update_metadata(request: Incoming, emulator: Emulator, run_id: str) -> Response:
    """`PUT /api/v1/runs/{runId}/metadata`: replace the metadata, or apply change operations to it."""
    env = _authenticate(emulator, request)
    if (refused := _too_large(request, MAX_METADATA_BODY_BYTES)) is not None:
        return refused
    body = _json_body(request)
    if isinstance(body, Response):
        return body
    issues = metadata.body_issues(body)
    if issues:
        return error(zod.validation_message(issues), 400)
    try:
        result = actions.update_metadata(emulator.store, env, run_id, body, now_ms())
    except actions.RunNotFound:
        return error("Task Run not found", 404)
    except actions.MetadataLocked as exc:
        return error(str(exc), 422)
    except metadata.MetadataTooLarge as exc:
        return error(str(exc), 413)
    return json_response({"metadata": result})
