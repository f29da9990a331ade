"""The REST facade: each resource of a `rest` adapter becomes a route that calls its operations' bindings."""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.convertors import Convertor
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.routing import compile_path as compile_route
from starlette.types import ASGIApp, Receive, Scope, Send

from capgate.consumes.forward import Forwarder
from capgate.core.errors import ArgumentError, AuditUnavailable, UpstreamError
from capgate.core.http import CLIENT_CLOSED_REQUEST, ROUTED_METHODS
from capgate.document.jsonpath import ABSENT, compile_path
from capgate.document.models import ExposedOperation, ExposedResource, ExposesRest
from capgate.document.references import braced_path, input_key, path_pieces, path_variables
from capgate.exposes.inbound.body import BodyLimits, BodyRefused, ClientGone, parse_json, read_body
from capgate.exposes.problem import problem
from capgate.exposes.runnable import Declared, Runnable, declared_inputs
from capgate.observe.exchange import exchange_of, start_call
from capgate.observe.records import Observers

CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
FORWARDED_PATH = "path"  # the resource path variable that takes the rest of the path, several segments


@dataclass(frozen=True)
class RestOperation:
    """One method of one exposed resource."""

    path: str
    method: str
    binding: Runnable
    resource: ExposedResource | None = None  # where its resource-level inputs are declared
    spec: ExposedOperation | None = None  # where its own inputs are declared


@dataclass(frozen=True)
class RestForward:
    """A resource that forwards everything under it to a consumed namespace."""

    path: str
    forwarder: Forwarder
    observers: Observers | None = None


@dataclass
class RestAdapter:
    """A `rest` adapter of the document and the operations it serves, in document order."""

    spec: ExposesRest
    operations: list[RestOperation]
    forwards: list[RestForward] | None = None


Endpoint = Callable[[Request], Awaitable[Response]]


def build_rest_app(
    operations: list[RestOperation],
    *,
    forwards: list[RestForward] | None = None,
    body_limits: BodyLimits | None = None,
) -> ASGIApp:
    """An ASGI app serving every exposed resource; routes and their variables are compiled here, once."""
    limits = body_limits or BodyLimits()
    by_path: dict[str, dict[str, RestOperation]] = {}
    for operation in operations:
        by_path.setdefault(braced_path(operation.path), {})[operation.method.upper()] = operation
    # Every method reaches the endpoint, which answers 405 itself with the resource's own Allow list.
    routes = [
        Route(path, _endpoint(path, methods, limits), methods=list(ROUTED_METHODS)) for path, methods in by_path.items()
    ]
    routes += [
        Route(_forwarded_path(forward.path), _forward_endpoint(forward, limits), methods=list(ROUTED_METHODS))
        for forward in forwards or []
    ]
    return _Router(routes, Starlette(routes=routes, exception_handlers=_HANDLERS))


class _Router:
    """The document's routes, dispatched from a table compiled once: a dict for literal paths, then one regex per
    templated path, in document order (as Starlette's router matches them). A request no route takes (a 404, a
    redirect to the path without its trailing slash, a method no route is for) goes to Starlette's router over the
    same routes, so those answers are Starlette's own.

    The fast path is what Starlette does for a matched route — the route's path parameters in the scope, one
    `Request`, the endpoint, the exception handlers by class, a 500 for anything else — without the two middleware,
    the router's walk and the per-route exception wrapper, each of which wraps `send` again (bench/PROFILE.md).
    """

    def __init__(self, routes: list[Route], fallback: ASGIApp) -> None:
        self._literal: dict[str, Endpoint] = {}
        self._templated: list[tuple[re.Pattern[str], dict[str, Convertor[Any]], Endpoint]] = []
        for route in routes:
            regex, _, convertors = compile_route(route.path)
            endpoint: Endpoint = route.endpoint
            if convertors:
                self._templated.append((regex, convertors, endpoint))
            else:
                self._literal.setdefault(route.path, endpoint)
        self._fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self._match(scope) if scope["type"] == "http" and scope["method"] in ROUTED_METHODS else None
        if found is None:
            await self._fallback(scope, receive, send)
            return
        endpoint, parameters = found
        scope["path_params"] = parameters
        request = Request(scope, receive, send)
        try:
            response = await endpoint(request)
        except Exception as exc:
            handler = _handler_of(exc)
            if handler is None:
                # As Starlette's error middleware: a 500 for the caller, the exception for the server to log.
                await PlainTextResponse("Internal Server Error", status_code=500)(scope, receive, send)
                raise
            response = await handler(request, exc)
        await response(scope, receive, send)

    def _match(self, scope: Scope) -> tuple[Endpoint, dict[str, Any]] | None:
        path: str = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        endpoint = self._literal.get(path)
        if endpoint is not None:
            return endpoint, {}
        for regex, convertors, templated in self._templated:
            match = regex.match(path)
            if match is not None:
                values = {name: convertors[name].convert(value) for name, value in match.groupdict().items()}
                return templated, values
        return None


def _endpoint(path: str, methods: dict[str, RestOperation], body_limits: BodyLimits) -> Any:
    allow = ", ".join(sorted(methods))
    # Path variables match `with` references case-insensitively: `{runid}` feeds `rest.runId`.
    variables = {input_key(name).lower(): name for name in path_variables(path)}
    declared = {method: _declared(operation) for method, operation in methods.items()}
    accepted = {
        method: _QueryKeys(operation, set(declared[method]), path, set(variables))
        for method, operation in methods.items()
    }

    async def endpoint(request: Request) -> Response:
        method = request.method if request.method in methods else "GET" if request.method == "HEAD" else ""
        operation = methods.get(method)
        if operation is None:
            return problem(
                405,
                "Method Not Allowed",
                f"{request.method} is not allowed on {request.url.path}; use {allow}",
                headers={"Allow": allow},
            )
        query = _query(request) if request.scope["query_string"] else {}
        if query:
            accepted[method].check(request)
        body = await _json_body(request, body_limits)
        inputs = declared[method]
        found = _Inputs(request, variables, query, body).get

        def lookup(key: str) -> Any:
            place = inputs.get(key)
            return found(key) if place is None else place(found, body)

        result = await operation.binding.invoke(lookup, start_call(request.scope, "rest", f"{request.method} {path}"))
        return Response(result.body, status_code=result.status, headers=result.headers)

    return endpoint


Place = Any  # (found: the undeclared lookup, body) -> the value of one declared input


def _declared(operation: RestOperation) -> dict[str, Place]:
    """Where each declared input of the resource and operation is read, as the format says: a `value` that is
    `$.a.b` reads the JSON body there; another `value` is fixed; else its `in` (path, query, header, body)."""
    resource = operation.resource.input_parameters if operation.resource is not None else []
    own = operation.spec.input_parameters if operation.spec is not None else []
    places: dict[str, Place] = {}
    for item in declared_inputs([*resource, *own], required_by_default=False):
        places[item.key] = _place(item)
    return places


def _place(item: Declared) -> Place:
    value = item.value
    if isinstance(value, str) and value.strip().startswith("$"):
        find = compile_path(value.strip())
        return lambda found, body: None if body is None else _present(find(body))
    if value is not None:
        return lambda found, body: value
    return lambda found, body: found(item.key)


def _present(value: Any) -> Any:
    return None if value is ABSENT else value


def _forwarded_path(path: str) -> str:
    """`/notion/{{path}}` -> `/notion/{path:path}`: the forwarded rest of the path may have several segments."""
    return "".join(
        literal + ("" if variable is None else "{" + variable + (":path}" if variable == FORWARDED_PATH else "}"))
        for literal, variable in path_pieces(path)
    )


def _forward_endpoint(forward: RestForward, body_limits: BodyLimits) -> Any:
    async def endpoint(request: Request) -> Response:
        exchange = exchange_of(request.scope)
        since = exchange.started if exchange else None
        body = await read_body(request.scope, request.receive, body_limits, since=since)
        record = start_call(request.scope, "rest", f"{request.method} {forward.path}")
        record.operation = forward.forwarder.name
        headers = {name.lower(): value for name, value in request.headers.items()}
        try:
            record.result = await forward.forwarder.send(
                request.method, request.path_params.get(FORWARDED_PATH, ""), request.url.query, headers, body
            )
        except Exception as exc:
            record.error = exc
            raise
        finally:
            if forward.observers:
                await forward.observers.finished(record)
        result = record.result
        return Response(result.body, status_code=result.status, headers=result.headers)

    return endpoint


class _Inputs:
    """Where a REST call's inputs are found, by input key: the path, the query, the JSON body (whole, or a field of
    it), else a header of that name (looked at once per request, on the first input read from one)."""

    def __init__(self, request: Request, variables: dict[str, str], query: dict[str, Any], body: Any) -> None:
        self._request = request
        self._variables = variables
        self._query = query
        self._body = body
        self._headers: dict[str, str] | None = None

    def get(self, key: str) -> Any:
        lowered = key.lower()
        variable = self._variables.get(lowered)
        if variable is not None:
            return self._request.path_params.get(variable)
        if key in self._query:
            return self._query[key]
        body = self._body
        if key == "body":
            return body
        if isinstance(body, dict) and key in body:
            return body[key]
        # The caller's credentials are for the gateway: never an input, so never sent upstream.
        if lowered in CREDENTIAL_HEADERS:
            return None
        if self._headers is None:
            self._headers = _headers(self._request.scope)
        return self._headers.get(lowered)


class _QueryKeys:
    """The query keys one operation reads. Any other key is refused rather than dropped: a filter that was
    ignored would make a script that lists, then cancels, act on everything. (A `forward` resource passes the
    raw query on, as the format says: it is not checked.)"""

    def __init__(self, operation: RestOperation, declared: set[str], path: str, variables: set[str]) -> None:
        self.keys = operation.binding.input_keys | declared  # the inputs it reads, and those the document declares
        self.variables = variables  # lower-case: path variables match case-insensitively
        queried = [*operation.binding.query_names(), *_declared_query_names(operation)]
        self.listed = ", ".join(dict.fromkeys(queried)) or "no query parameters"
        self.route = path

    def check(self, request: Request) -> None:
        """ArgumentError naming each query key the operation does not read."""
        unknown = [
            name
            for name in request.query_params
            if (key := input_key(name)) not in self.keys and key.lower() not in self.variables
        ]
        if unknown:
            reason = f"is not a query parameter of {self.route}; it accepts: {self.listed}"
            raise ArgumentError([(name, reason) for name in unknown])


def _declared_query_names(operation: RestOperation) -> list[str]:
    resource = operation.resource.input_parameters if operation.resource is not None else []
    own = operation.spec.input_parameters if operation.spec is not None else []
    return [p.name for p in [*resource, *own] if p.location == "query"]


def _query(request: Request) -> dict[str, Any]:
    """Query parameters by input key; a repeated key gives a list, so `a=1&a=2` means a=[1, 2]."""
    values: dict[str, Any] = {}
    for name, value in request.query_params.multi_items():
        key = input_key(name)
        if key in values:
            previous = values[key]
            values[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            values[key] = value
    return values


def _headers(scope: Scope) -> dict[str, str]:
    """The request's headers by lower-case name, the first of a repeated one (what `Request.headers.get` answers)."""
    found: dict[str, str] = {}
    for name, value in reversed(scope["headers"]):
        found[name.decode("latin-1")] = value.decode("latin-1")
    return found


async def _json_body(request: Request, limits: BodyLimits) -> Any:
    exchange = exchange_of(request.scope)
    raw = await read_body(request.scope, request.receive, limits, since=exchange.started if exchange else None)
    return parse_json(raw, limits.max_depth)


async def _invalid_arguments(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ArgumentError)
    errors = [{"name": name, "reason": reason} for name, reason in exc.errors]
    names = ", ".join(name for name, _ in exc.errors)
    return problem(
        400,
        "Invalid request",
        f"invalid input: {exc}",
        errors=errors,
        hint=f"fix {names} and send the request again; nothing was sent upstream",
    )


async def _upstream_failed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, UpstreamError)
    headers = {"Retry-After": str(math.ceil(exc.retry_after))} if exc.retry_after is not None else None
    return problem(
        exc.status, exc.title, f"{exc.method} {exc.url}: {exc.reason}", operation=exc.operation, headers=headers
    )


async def _not_audited(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AuditUnavailable)
    return problem(exc.status, exc.title, str(exc))


async def _body_refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BodyRefused)
    exchange = exchange_of(request.scope)
    if exchange is not None:
        exchange.refused = exc.reason
    # The rest of the body is unread: the connection cannot carry another request (capgate.serve.connections
    # reads and drops what is still coming before it closes, so that the client reads this answer).
    return problem(exc.status, exc.title, exc.detail, headers={"Connection": "close"})


async def _client_gone(request: Request, exc: Exception) -> Response:
    exchange = exchange_of(request.scope)
    if exchange is not None:
        exchange.refused = "client gone"
    return Response(status_code=CLIENT_CLOSED_REQUEST)  # nobody reads it; the access log says what happened


Handler = Callable[[Request, Exception], Awaitable[Response]]


def _handler_of(exc: Exception) -> Handler | None:
    """The handler for `exc`, found by walking its classes as Starlette's exception middleware does."""
    for kind in type(exc).__mro__:
        if kind in _HANDLERS:
            return _HANDLERS[kind]
    return None


async def http_problem(request: Request, exc: Exception) -> Response:
    """Starlette's own answers (404 for no route) as problem+json, as every other error of the facade."""
    assert isinstance(exc, HTTPException)
    detail = f"no route matches {request.method} {request.url.path}" if exc.status_code == 404 else str(exc.detail)
    return problem(exc.status_code, str(exc.detail), detail, headers=dict(exc.headers or {}))


_HANDLERS: Mapping[Any, Handler] = {
    ArgumentError: _invalid_arguments,
    UpstreamError: _upstream_failed,
    AuditUnavailable: _not_audited,
    BodyRefused: _body_refused,
    ClientGone: _client_gone,
    HTTPException: http_problem,
}
