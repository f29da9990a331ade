"""An OpenAPI 3.1 document for a REST facade, generated from the capability document.

Every route with its parameters (the declared JSON-Schema keywords included), request body, responses
(the upstream's answer, and capgate's own problem+json errors) and bearer security; plus the gateway's
probes, /healthz and /readyz. `capgate openapi` prints it, and the REST port serves it at /openapi.json.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

from capgate import __version__
from capgate.consumes.signals import Signals, signals_of
from capgate.core.http import BODY_METHODS
from capgate.document.models import ConsumesHttp, Document
from capgate.exposes.catalog import Input, Route
from capgate.exposes.rest.app import RestAdapter
from capgate.exposes.rest.routes import describe_routes

OPENAPI_VERSION = "3.1.0"
PROBLEM = {"$ref": "#/components/schemas/Problem"}
GATEWAY_TAG = "gateway"


def build_openapi(document: Document, adapter: RestAdapter, *more: RestAdapter, server_url: str) -> dict[str, Any]:
    """The OpenAPI document of `adapter`, and of the `more` served beside it (those of later documents), as
    served at `server_url` (no trailing slash)."""
    adapters = [adapter, *more]
    info = document.info
    title = (info.label if info else None) or adapter.spec.namespace
    described = [(each, route) for each in adapters for route in describe_routes(document, each)]
    names = Counter(route.name for _, route in described)
    signals = {consumes.namespace: signals_of(consumes) for consumes in document.capability.consumes}
    standard = signals_of(ConsumesHttp(namespace="", base_uri=""))  # a mock's or steps' answer: the standard ones
    paths: dict[str, dict[str, Any]] = {}
    for each, route in described:
        if names[route.name] > 1:  # operationIds are unique: a name two adapters use takes its adapter's namespace
            route = replace(route, name=f"{route.name}-{each.spec.namespace}")
        route_signals = signals.get(route.operation.partition(".")[0], standard)
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, each.spec.namespace, route_signals)
    paths.update(_probes())
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": title,
            "version": str((info.model_extra or {}).get("modified") or __version__) if info else __version__,
            "description": _description(document, adapter),
            "contact": _contact(document),
        },
        "servers": [{"url": server_url, "description": f"capgate REST facade ({adapter.spec.namespace})"}],
        "tags": [
            *(
                {"name": each.spec.namespace, "description": each.spec.description or f"Routes of {title}."}
                for each in adapters
            ),
            {"name": GATEWAY_TAG, "description": "The gateway's own probes, for load balancers and orchestrators."},
        ],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": _components(),
    }


def _description(document: Document, adapter: RestAdapter) -> str:
    info = document.info
    lead = (info.description if info else None) or adapter.spec.description or ""
    return (
        f"{lead}\n\nServed by capgate {__version__} from a Naftiko capability document. Upstream answers "
        "come back with their own status and JSON body; errors capgate itself raises are "
        "application/problem+json (RFC 9457)."
    ).strip()


def _contact(document: Document) -> dict[str, str]:
    """The document's first stakeholder; else whoever runs this gateway, which is who a caller should ask."""
    info = document.info
    for person in (info.model_extra or {}).get("stakeholders", []) if info else []:
        if isinstance(person, dict) and person.get("fullName"):
            return {
                key: str(person[field])
                for key, field in (("name", "fullName"), ("email", "email"))
                if person.get(field)
            }
    return {"name": "The operators of this gateway"}


def _operation(route: Route, tag: str, signals: Signals) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": route.name,
        "summary": _first_sentence(route.description),
        "description": f"{route.description}\n\nCalls {route.operation} ({route.upstream}) upstream.",
        "tags": [tag],
        "parameters": [_parameter(i) for i in route.inputs if i.location in ("path", "query")],
        "responses": _responses(route, signals),
    }
    body = route.body
    if body is not None:
        operation["requestBody"] = {
            "required": body.required,
            "description": body.description or "The JSON request body.",
            "content": {"application/json": {"schema": _schema(body.schema)}},
        }
    if not operation["parameters"]:
        del operation["parameters"]
    hints = route.hints
    operation["x-capgate-hints"] = {
        "readOnly": hints.read_only,
        "destructive": hints.destructive,
        "idempotent": hints.idempotent,
    }
    return operation


def _parameter(item: Input) -> dict[str, Any]:
    parameter: dict[str, Any] = {
        "name": item.name,
        "in": item.location,
        "required": item.required,
        "description": item.description or f"The {item.location} parameter {item.name}.",
        "schema": _schema(item.schema),
    }
    if item.schema.get("type") == "array":  # lists travel comma-joined in one key (repeated keys work too)
        parameter.update(style="form", explode=False)
    return parameter


def _schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A declared schema made complete enough for OpenAPI tools: an array says what its items are."""
    if schema.get("type") == "array" and "items" not in schema:
        return {**schema, "items": {"type": "string"}}
    return schema


def _responses(route: Route, signals: Signals) -> dict[str, Any]:
    headers = _passed_back_headers(signals)
    responses: dict[str, Any] = {
        "200": {
            "description": "The upstream's answer, passed through unchanged.",
            "headers": {name: header for name, header in headers.items() if name != "allow"},
            "content": {"application/json": {"schema": {}}},
        },
        "400": _problem(
            "Invalid input: a parameter or the body does not match its declaration (nothing was sent upstream; "
            "`errors` names each bad input), or the upstream's own 400, passed through.",
            passed_through=True,
        ),
        "401": _problem(
            "No bearer token, or an unknown one (when the gateway requires inbound tokens); or the upstream's own "
            "401, passed through.",
            passed_through=True,
        ),
        "403": _problem(
            "The bearer token's scope does not allow this route; or the upstream's own 403, passed through.",
            passed_through=True,
        ),
    }
    responses["404"] = _problem(
        "No route matches (a path value this route cannot hold), or the upstream's own 404 (an unknown id), "
        "passed through.",
        passed_through=True,
    )
    if route.method in BODY_METHODS:
        responses["408"] = _problem("The request body did not arrive in time after its headers (--body-timeout).")
        responses["413"] = _problem("The request body, once inflated, is larger than the gateway accepts.")
        responses["415"] = _problem(
            "The request body is not labelled JSON, or is compressed otherwise than gzip or deflate."
        )
    responses["502"] = _problem("The upstream could not be reached or answered something unusable.")
    responses["504"] = _problem("The upstream did not answer in time.")
    responses["default"] = {
        "description": "Any other status is the upstream's own answer, passed through "
        "unchanged (for example 404 for an unknown id, 429 when rate limited).",
        "headers": headers,
        "content": {"application/json": {"schema": {}}},
    }
    return responses


_STANDARD_HEADERS = {
    "allow": "The methods the upstream allows on this path (with a 405).",
    "retry-after": "Seconds, or an HTTP date, after which the upstream says trying again may succeed (RFC 9110).",
    "ratelimit": 'What is left of each of the upstream\'s quota policies: `"policy";r=REMAINING;t=SECONDS` '
    "(draft-ietf-httpapi-ratelimit-headers).",
    "ratelimit-policy": "The upstream's quota policies (draft-ietf-httpapi-ratelimit-headers).",
    "ratelimit-limit": "The upstream's request quota (earlier drafts of the IETF RateLimit fields).",
    "ratelimit-remaining": "What is left of the upstream's quota (earlier drafts of the IETF RateLimit fields).",
    "ratelimit-reset": "Seconds until the upstream's quota resets (earlier drafts of the IETF RateLimit fields).",
}
_RESET_FORMATS = {
    "epoch-seconds": "a Unix time in seconds",
    "epoch-milliseconds": "a Unix time in milliseconds",
    "delta-seconds": "seconds from now",
    "http-date": "an HTTP date",
}


def _passed_back_headers(signals: Signals) -> dict[str, Any]:
    """The upstream's response headers the facade passes back, described as the document declares them."""
    described = dict(_STANDARD_HEADERS)
    fields = signals.budget_fields
    if fields is not None:
        declared = {
            fields.limit: "The upstream's request budget.",
            fields.remaining: "What is left of the upstream's request budget.",
            fields.reset: f"When the upstream's budget refills ({_RESET_FORMATS[fields.reset_format]}).",
        }
        described |= {name: text for name, text in declared.items() if name}
    if signals.retry_header:
        described[signals.retry_header] = "The upstream's word on whether trying again may succeed (true or false)."
    return {
        name: {
            "description": described.get(name, "Passed back from the upstream's answer."),
            "schema": {"type": "string"},
        }
        for name in signals.pass_back
        if name != "content-type"
    }


def _problem(description: str, *, passed_through: bool = False) -> dict[str, Any]:
    """A gateway's problem answer; `passed_through`: or the upstream's own answer of the same status."""
    content: dict[str, Any] = {"application/problem+json": {"schema": PROBLEM}}
    if passed_through:
        content["application/json"] = {"schema": {}}
    return {"description": description, "content": content}


def _probes() -> dict[str, Any]:
    probe = {"$ref": "#/components/schemas/Readiness"}
    return {
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "tags": [GATEWAY_TAG],
                "security": [],
                "summary": "Liveness: the process answers.",
                "description": "Always 200 while the process serves requests; calls nothing upstream.",
                "responses": {
                    "200": {
                        "description": "Alive.",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"status": {"type": "string", "const": "ok"}},
                                }
                            }
                        },
                    }
                },
            }
        },
        "/readyz": {
            "get": {
                "operationId": "readyz",
                "tags": [GATEWAY_TAG],
                "security": [],
                "summary": "Readiness: each upstream is reachable and accepts the gateway's key.",
                "description": "Calls one cheap read-only operation per upstream (the answer is cached for a few "
                "seconds) and says why when it is not ready.",
                "responses": {
                    "200": {"description": "Ready.", "content": {"application/json": {"schema": probe}}},
                    "503": {
                        "description": "Not ready; `checks` says which upstream and why.",
                        "content": {"application/json": {"schema": probe}},
                    },
                },
            }
        },
    }


def _components() -> dict[str, Any]:
    return {
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "An inbound token, when the gateway is configured with them. It is never forwarded "
                "upstream: the gateway sends its own key.",
            }
        },
        "schemas": {
            "Problem": {
                "type": "object",
                "description": "An RFC 9457 problem.",
                "required": ["type", "title", "status", "detail"],
                "properties": {
                    "type": {"type": "string"},
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "detail": {"type": "string"},
                    "errors": {
                        "type": "array",
                        "description": "Each invalid input (400 only).",
                        "items": {
                            "type": "object",
                            "properties": {"name": {"type": "string"}, "reason": {"type": "string"}},
                        },
                    },
                    "hint": {"type": "string"},
                    "operation": {"type": "string", "description": "The consumed operation that failed."},
                },
            },
            "Readiness": {
                "type": "object",
                "required": ["status", "checks"],
                "properties": {
                    "status": {"type": "string", "enum": ["ready", "not ready"]},
                    "checks": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "namespace": {"type": "string"},
                                "ok": {"type": "boolean"},
                                "operation": {"type": ["string", "null"]},
                                "status": {"type": ["integer", "null"], "description": "The upstream's HTTP status."},
                                "reason": {"type": "string"},
                            },
                        },
                    },
                    "age": {"type": "number", "description": "Seconds since the upstream was last asked."},
                },
            },
        },
    }


def _first_sentence(text: str) -> str:
    sentence = text.split(". ")[0].strip().rstrip(".")
    return sentence if len(sentence) <= 80 else sentence[:79] + "…"
