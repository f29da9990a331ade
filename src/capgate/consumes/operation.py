"""One consumed operation: named arguments in, an upstream HTTP request out, the upstream's answer back."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote_plus, urlencode

import orjson

from capgate.consumes.binds import Secrets
from capgate.consumes.client import Sender, Timeouts, UpstreamRequest
from capgate.consumes.limiter import bucket_name
from capgate.consumes.paths import PathTemplate, shape_problem
from capgate.consumes.rendering import Lookup, render_data, render_json, render_text
from capgate.consumes.validation import Invalid, Validator, compile_schema
from capgate.core import redaction
from capgate.core.errors import ArgumentError
from capgate.core.http import IDEMPOTENT_METHODS
from capgate.core.types import Arguments, UpstreamResult
from capgate.document.destinations import origin
from capgate.document.models import ConsumedOperation, ConsumedResource, ConsumesHttp, InputParameter
from capgate.document.references import input_key
from capgate.document.templates import placeholders, render, template_names
from capgate.observe import tracing

WHOLE_BODY = "body"  # an `in: body` parameter with this name is the whole JSON body; others are its fields
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # what no header value may hold (RFC 9110 §5.5)
TEMPLATE = "template"  # the location of an input that only a template of the operation (body, value) uses
_MEDIA_TYPES = {
    "json": "application/json",
    "text": "text/plain; charset=utf-8",
    "xml": "application/xml",
    "sparql": "application/sparql-query",
    "formUrlEncoded": "application/x-www-form-urlencoded",
}


@dataclass(frozen=True)
class Parameter:
    """A declared input of the operation, compiled."""

    name: str  # as declared and as sent upstream: `filter[status]`
    key: str  # input_key(name): how arguments name it
    location: str  # query, header, path, body, or template (used by a body or value template only)
    required: bool
    schema: dict[str, Any]  # the JSON-Schema keywords declared (type, enum, pattern…)
    validate: Validator
    constant: str | None  # a declared `value`, bind templates already rendered; callers cannot override it
    shared: bool = False  # declared on the consumes namespace, for every operation
    template: str | None = None  # a declared `value` naming inputs (`{{userId}}`), rendered per call


@dataclass(frozen=True)
class Credentials:
    """What the bound secrets put into every request: the authentication header or query pair, and the declared
    `value`s rendered with them."""

    headers: dict[str, str]
    query: list[str]
    constants: dict[str, str]  # parameter key -> its declared value, rendered
    budget: str  # the request budget they spend: one per upstream origin and key (a digest, never the key)


class Operation:
    """A consumed operation compiled at load time; `call` does the per-request work and nothing more.

    The operator's secrets are rendered in once; a caller with values of its own (`--caller-binds`) passes its
    `Secrets` with the call, and what they render to is compiled on its first call and kept.
    """

    def __init__(
        self,
        consumes: ConsumesHttp,
        resource: ConsumedResource,
        operation: ConsumedOperation,
        *,
        base_uri: str,
        secrets: Secrets,
        client: Sender,
        timeouts: Timeouts | None = None,
        hinted_idempotent: bool = False,
    ) -> None:
        self.name = f"{consumes.namespace}.{operation.name}"
        self.spec = operation
        self.description = operation.description or operation.label or ""
        self.method = operation.method.upper()
        self.upstream = f"{self.method} {resource.path}"  # for people: what it calls
        # The operation's own `idempotent` marker wins; else the method, else its tools' hints decide.
        self.idempotent = (
            operation.idempotent
            if operation.idempotent is not None
            else self.method in IDEMPOTENT_METHODS or hinted_idempotent
        )
        self.timeouts = timeouts
        self.client = client
        self._base_uri = base_uri
        # A path without its leading '/' is joined with one (the reference engine appends it as written).
        self._path = PathTemplate(resource.path if resource.path.startswith("/") else "/" + resource.path)
        self._secrets = secrets
        self._bound = set(secrets.names())
        declared = [
            p
            for p in [*consumes.input_parameters, *resource.input_parameters, *operation.input_parameters]
            if p.location != "environment"  # read into the binds (capgate.consumes.binds)
        ]
        shared = {id(parameter) for parameter in consumes.input_parameters}
        self.parameters = self._compile_parameters(declared, shared, secrets)
        self.parameters += self._template_parameters(operation.body, declared)
        self._by_key = {parameter.key: parameter for parameter in self.parameters}
        self._body = operation.body
        self._consumes = consumes
        self._credentials = self._compile_credentials(secrets)
        self._callers_credentials: dict[Secrets, Credentials] = {}  # one per caller with values of its own

    def parameter(self, key: str) -> Parameter | None:
        return self._by_key.get(key)

    async def call(self, arguments: Arguments, secrets: Secrets | None = None) -> UpstreamResult:
        """Validate `arguments`, send the request (with the caller's own `secrets`, if given, instead of the
        operator's), return the upstream's answer whatever its status."""
        return await self.send(self.build_request(arguments, secrets))

    async def send(self, request: UpstreamRequest) -> UpstreamResult:
        """Send a request `build_request` made; the upstream's answer whatever its status."""
        if not tracing.enabled():
            return await self.client.send(request)
        with tracing.client_span(request.operation, request.method, request.display_url or request.url) as span:
            result = await self.client.send(replace(request, headers=span.carrying_context(request.headers)))
            span.answered(result.status)
            return result

    def build_request(self, arguments: Arguments, secrets: Secrets | None = None) -> UpstreamRequest:
        """The upstream request for `arguments` (keyed by input_key); ArgumentError names every bad one."""
        credentials = self._credentials if secrets is None else self._credentials_of(secrets)
        filler = self._filler(arguments, secrets or self._secrets)
        values, errors = {}, []
        for parameter in self.parameters:
            if parameter.constant is not None:
                values[parameter.key] = credentials.constants[parameter.key]
            elif parameter.template is not None:
                rendered = render_text(parameter.template, filler, strict=True)
                if rendered is not None:  # a value naming an absent input is not sent
                    values[parameter.key] = rendered
            elif (raw := _given(arguments, parameter)) is None:
                if parameter.required:
                    errors.append((parameter.name, "is required"))
            else:
                try:
                    values[parameter.key] = _checked(parameter, raw)
                except Invalid as exc:
                    errors.append((parameter.name + exc.path, exc.reason))
        if errors:
            raise ArgumentError(errors)
        return self._assemble(values, credentials, filler)

    def _filler(self, arguments: Arguments, secrets: Secrets) -> Lookup:
        """What a template of this operation reads: a bind variable by its name, else the caller's argument."""

        def lookup(name: str) -> Any:
            if name in self._bound:
                return secrets.lookup(name)
            return arguments.get(input_key(name))

        return lookup

    def _credentials_of(self, secrets: Secrets) -> Credentials:
        credentials = self._callers_credentials.get(secrets)
        if credentials is None:
            credentials = self._callers_credentials[secrets] = self._compile_credentials(secrets)
        return credentials

    def _compile_credentials(self, secrets: Secrets) -> Credentials:
        headers = authentication_headers(self._consumes, secrets)
        query = authentication_query(self._consumes, secrets)
        key = "\n".join([*(f"{name.lower()}: {value}" for name, value in sorted(headers.items())), *query])
        return Credentials(
            headers,
            query,
            {key: render(template, secrets.lookup) for key, template in self._value_templates.items()},
            bucket_name(f"{origin(self._base_uri)}\n{key}"),
        )

    def _assemble(self, values: dict[str, Any], credentials: Credentials, filler: Lookup) -> UpstreamRequest:
        path = self._path.fill(values)
        query = list(credentials.query)
        headers = dict(credentials.headers)
        body: Any = None
        fields: dict[str, Any] = {}
        for parameter in self.parameters:
            if parameter.key not in values:
                continue
            value = values[parameter.key]
            if parameter.location == "query":
                query.append(_query_pair(parameter.name, _text(value)))
            elif parameter.location == "header":
                headers[parameter.name] = _text(value)
            elif parameter.location == "body":
                if parameter.name == WHOLE_BODY:
                    body = value
                else:
                    fields[parameter.name] = value
        if fields:
            body = {**(body if isinstance(body, dict) else {}), **fields}
        content, media_type = self._content(body, filler)
        if media_type is not None:
            headers.setdefault("content-type", media_type)
        url = self._base_uri + path
        return UpstreamRequest(
            self.name,
            self.method,
            url + ("?" + "&".join(query) if query else ""),
            headers,
            content,
            display_url=url,
            idempotent=self.idempotent,
            timeouts=self.timeouts,
            budget=credentials.budget,
        )

    def _compile_parameters(
        self, declared: list[InputParameter], shared: set[int], secrets: Secrets
    ) -> list[Parameter]:
        merged: dict[str, InputParameter] = {}
        for parameter in declared:  # operation-level declarations override resource- and namespace-level ones
            merged[input_key(parameter.name)] = parameter
        # A declared value naming inputs (`{{userId}}`), not only binds, is rendered per call; the others may
        # name binds, so they are rendered with each caller's own secrets too.
        templated = {
            key
            for key, p in merged.items()
            if p.value is not None and any(name not in self._bound for name in placeholders(str(p.value)))
        }
        self._value_templates = {
            key: str(p.value) for key, p in merged.items() if p.value is not None and key not in templated
        }
        compiled = []
        for key, parameter in merged.items():
            location = parameter.location or ("path" if key in self._path.variables else "query")
            schema = parameter.schema_keywords()
            fixed = parameter.value is not None and key not in templated
            constant = render(str(parameter.value), secrets.lookup) if fixed else None
            required = bool(parameter.required) or location == "path"
            compiled.append(
                Parameter(
                    parameter.name,
                    key,
                    location,
                    required and key not in templated,
                    schema,
                    compile_schema(schema),
                    constant,
                    shared=id(parameter) in shared,
                    template=str(parameter.value) if key in templated else None,
                )
            )
        for variable in self._path.variables:  # a path variable nobody declared is still a required string
            if variable not in merged:
                schema = {"type": "string"}
                compiled.append(Parameter(variable, variable, "path", True, schema, compile_schema(schema), None))
        return compiled

    def _content(self, body: Any, filler: Lookup) -> tuple[bytes | None, str | None]:
        """The request body and its media type: the body template filled, else the `in: body` inputs as JSON."""
        if self._body is not None:
            return self._rendered_body(filler)
        if body is None:
            return None, None
        try:
            return orjson.dumps(body), "application/json"
        except orjson.JSONEncodeError as exc:  # what JSON text can hold, a Python value may exceed
            reason = f"cannot be sent as JSON ({exc}); send at most 255 levels of nesting and 64-bit integers"
            raise ArgumentError([(WHOLE_BODY, reason)]) from None

    def _rendered_body(self, filler: Lookup) -> tuple[bytes, str]:
        """The body template filled: text as JSON (the format's default) or as its declared type."""
        if isinstance(self._body, str):
            return render_json(self._body, filler).encode(), _MEDIA_TYPES["json"]
        kind = self._body.get("type", "json")
        data = render_data(self._body.get("data"), filler)
        if kind == "json":
            text = data if isinstance(data, str) else orjson.dumps(data).decode()
        elif kind == "formUrlEncoded" and isinstance(data, Mapping):
            text = urlencode({key: "" if value is None else _text(value) for key, value in data.items()})
        else:
            text = "" if data is None else _text(data)
        return text.encode(), _MEDIA_TYPES[kind]

    def _template_parameters(self, body: Any, declared: list[InputParameter]) -> list[Parameter]:
        """An input for each name the body or a parameter value takes from the caller (not a bind, not declared)."""
        names = template_names(body) + template_names([p.value for p in declared if isinstance(p.value, str)])
        known = {parameter.key for parameter in self.parameters}
        keys = dict.fromkeys(input_key(name) for name in names if name not in self._bound)
        return [Parameter(key, key, TEMPLATE, False, {}, _accept, None) for key in keys if key not in known]


def authentication_headers(consumes: ConsumesHttp, secrets: Secrets) -> dict[str, str]:
    """The headers the namespace's authentication adds to every request, secrets rendered."""
    auth = consumes.authentication
    if auth is None:
        return {}

    def rendered(text: str | None) -> str:
        return render(text or "", secrets.lookup)

    if auth.type == "bearer":
        return {"authorization": f"Bearer {rendered(auth.token)}"}
    if auth.type == "basic":
        pair = f"{rendered(auth.username)}:{rendered(auth.password)}".encode()
        encoded = base64.b64encode(pair).decode()
        redaction.register([encoded])  # an upstream that echoes the header would show the pair in this form
        return {"authorization": "Basic " + encoded}
    if auth.type == "apikey" and auth.placement == "header":
        return {rendered(auth.key): rendered(auth.value)}
    return {}


def authentication_query(consumes: ConsumesHttp, secrets: Secrets) -> list[str]:
    """The query pairs an `apikey` authentication placed in the query adds to every request."""
    auth = consumes.authentication
    if auth is None or auth.type != "apikey" or auth.placement != "query":
        return []
    return [_query_pair(render(auth.key or "", secrets.lookup), render(auth.value or "", secrets.lookup))]


def _given(arguments: Arguments, parameter: Parameter) -> Any:
    """The caller's argument, else a declared JSON-Schema `default` (sent when the caller gives nothing)."""
    raw = arguments.get(parameter.key)
    return parameter.schema.get("default") if raw is None else raw


def _checked(parameter: Parameter, raw: Any) -> Any:
    """The argument validated, and as its place in the request carries it; Invalid says what keeps it out."""
    value, problem = _placed(parameter, parameter.validate(raw))
    if problem:
        raise Invalid(problem)
    return value


def _placed(parameter: Parameter, value: Any) -> tuple[Any, str | None]:
    """`value` as its place in the request carries it, and what keeps it from going there, if anything."""
    if parameter.location == "path":
        text = _text(value)
        return text, shape_problem(text)
    if parameter.location == "header" and _CONTROL.search(_text(value)):
        # A CR or LF would end the header and start another (header injection); HTTP clients refuse to send
        # it, so it is the caller's error, not the upstream's.
        return value, "must be one line: control characters such as CR and LF are refused"
    return value, None


def _accept(value: Any) -> Any:
    return value


def _text(value: Any) -> str:
    """A value as it travels in a query string, path or header: lists comma-joined, booleans lower-case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(_text(item) for item in value)
    if isinstance(value, dict):
        return orjson.dumps(value).decode()
    return str(value)


def _query_pair(name: str, value: str) -> str:
    # The form encoding of the official SDK's URLSearchParams: `filter%5Bstatus%5D=QUEUED%2CEXECUTING`.
    return f"{quote_plus(name, safe='*')}={quote_plus(value, safe='*')}"
