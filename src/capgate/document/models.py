"""Typed models of a Naftiko capability document (1.0.0-alpha2), lenient about unknown fields.

Only the parts capgate serves are modelled; anything else is kept (`extra="allow"`) so documents written
for the reference engine load. Field names follow the format's camelCase through aliases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, PositiveFloat, PositiveInt
from pydantic.alias_generators import to_camel


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, alias_generator=to_camel, frozen=True)


class Info(_Model):
    label: str | None = None
    description: str | None = None
    tags: list[str] = []


class Bind(_Model):
    """Secrets read from the environment (or a `file://` location): `keys` maps VARIABLE -> provider key."""

    namespace: str
    keys: dict[str, str]
    location: str | None = None
    description: str | None = None


class Authentication(_Model):
    type: Literal["bearer", "apikey", "basic"]
    token: str | None = None
    key: str | None = None
    value: str | None = None
    placement: Literal["header", "query"] = "header"
    username: str | None = None
    password: str | None = None


class InputParameter(_Model):
    """A parameter of a consumed operation, exposed operation or tool.

    Besides the format's fields, any JSON-Schema keyword (enum, minimum, pattern, items…) is kept as an extra
    and used to validate arguments and to build MCP input schemas.
    """

    name: str
    location: Literal["query", "header", "path", "cookie", "body", "environment"] | None = Field(None, alias="in")
    type: str | None = None
    description: str | None = None
    # True/False as in the format; a list is JSON Schema's `required` of an object parameter, and makes the
    # parameter itself required too.
    required: bool | list[str] | None = None
    value: str | int | float | bool | None = None

    def schema_keywords(self) -> dict[str, Any]:
        """The JSON-Schema keywords declared on this parameter (type included)."""
        keywords = dict(self.model_extra or {})
        if isinstance(self.required, list):
            keywords["required"] = self.required
        if self.type:
            keywords["type"] = self.type
        if self.description:
            keywords["description"] = self.description
        return keywords


class OutputLink(_Model):
    """capgate extension on an object output: each such object links to one of the MCP adapter's resources.

    `with` fills the resource URI's variables from fields of the mapped object (variable -> field); a
    variable it does not name is filled from the field of the same name.
    """

    resource: str
    with_: dict[str, str] | None = Field(None, alias="with")


class TextLayout(_Model):
    """capgate extension on a tool's output: the compact text an MCP result shows a model.

    `fields` are names (dotted for nested objects, and through arrays into their elements) in the mapped result;
    with `items`, the name of an array of objects in it, each item is one line of those fields, under a header
    that `label` names.
    """

    fields: list[str]
    items: str | None = None
    label: str | None = None


class OutputParameter(_Model):
    name: str | None = None
    type: str | None = None
    mapping: str | None = None
    value: Any = None
    description: str | None = None
    properties: dict[str, OutputParameter] | None = None
    items: OutputParameter | None = None
    link: OutputLink | None = None  # capgate extension, on objects
    text: TextLayout | None = None  # capgate extension, on a tool's (first) output parameter


class TimeoutSettings(_Model):
    """capgate extension: seconds to connect, between bytes of the answer, and for the whole call."""

    connect: PositiveFloat | None = None
    read: PositiveFloat | None = None
    total: PositiveFloat | None = None


ResetFormat = Literal["epoch-seconds", "epoch-milliseconds", "delta-seconds", "http-date"]


class RateLimitHeaders(_Model):
    """capgate extension: the response headers in which the upstream reports its own budget."""

    limit: str | None = None
    remaining: str | None = None
    reset: str | None = None
    reset_format: ResetFormat = "delta-seconds"  # how `reset` says when the budget refills


class RateLimitSettings(_Model):
    """capgate extension: the upstream's request budget per credential, the longest a call may queue, and the
    headers the upstream reports its budget in. `burst`, `refill` and `interval` go together (document.check)."""

    burst: PositiveInt | None = None
    refill: PositiveInt | None = None
    interval: PositiveFloat | None = None
    wait: NonNegativeFloat | None = None
    headers: RateLimitHeaders | None = None


class Pagination(_Model):
    """capgate extension: how an operation pages. `next` and `previous` locate the cursors in an answer,
    `nextInput` and `previousInput` name the operation's inputs that take them, `items` the page's items."""

    next: str
    previous: str | None = None
    next_input: str
    previous_input: str | None = None
    items: str | None = None


class ConsumedOperation(_Model):
    name: str
    method: str = "GET"
    label: str | None = None
    description: str | None = None
    input_parameters: list[InputParameter] = []
    output_parameters: list[OutputParameter] = []
    body: Any = None
    output_raw_format: str = "json"
    idempotent: bool | None = None  # capgate extension: safe to repeat even when the method is not
    timeouts: TimeoutSettings | None = None  # capgate extension
    pagination: Pagination | None = None  # capgate extension


class ConsumedResource(_Model):
    name: str
    path: str
    label: str | None = None
    description: str | None = None
    input_parameters: list[InputParameter] = []
    operations: list[ConsumedOperation]


class ConsumesHttp(_Model):
    type: Literal["http"] = "http"
    namespace: str
    base_uri: str
    description: str | None = None
    input_parameters: list[InputParameter] = []
    authentication: Authentication | None = None
    resources: list[ConsumedResource]
    timeouts: TimeoutSettings | None = None  # capgate extension, for every operation of the namespace
    rate_limit: RateLimitSettings | None = None  # capgate extension
    retry_header: str | None = None  # capgate extension: a response header that allows or forbids a retry
    pass_back_headers: list[str] = []  # capgate extension: response headers passed back besides the standard ones


class ExposedOperation(_Model):
    method: str = "GET"
    name: str | None = None
    label: str | None = None
    description: str | None = None
    call: str | None = None
    with_: dict[str, Any] | None = Field(None, alias="with")
    input_parameters: list[InputParameter] = []
    output_parameters: list[OutputParameter] = []


class ExposedResource(_Model):
    path: str
    name: str | None = None
    label: str | None = None
    description: str | None = None
    input_parameters: list[InputParameter] = []
    operations: list[ExposedOperation] = []


class ExposesRest(_Model):
    type: Literal["rest"]
    namespace: str
    port: int | None = None
    address: str | None = None
    description: str | None = None
    resources: list[ExposedResource] = []


class McpHints(_Model):
    read_only: bool | None = None
    destructive: bool | None = None
    idempotent: bool | None = None
    open_world: bool | None = None


class WaitSettings(_Model):
    """capgate extension on a tool: call its operation again and again until the answer's `status` is one of
    `until`, or `timeout` seconds have passed. Polls start `interval` seconds apart, each gap `backoff` times
    the one before, up to `maxInterval`; a caller's `timeout` input may ask for up to `maxTimeout`."""

    status: str  # a member path into the upstream's answer: what `until` tests and each progress message names
    until: list[str | int | bool]
    interval: PositiveFloat = 1.0
    backoff: Annotated[float, Field(ge=1.0)] = 1.5
    max_interval: PositiveFloat = 5.0
    timeout: PositiveFloat = 30.0
    max_timeout: PositiveFloat = 300.0


class McpTool(_Model):
    name: str
    label: str | None = None
    description: str | None = None
    hints: McpHints | None = None
    call: str | None = None
    with_: dict[str, Any] | None = Field(None, alias="with")
    input_parameters: list[InputParameter] = []
    output_parameters: list[OutputParameter] = []
    wait: WaitSettings | None = None  # capgate extension

    def stated_hints(self) -> StatedHints:
        """All four MCP hints, stated: read-only if said so; an unstated `destructive` is the opposite of
        read-only, an unstated `openWorld` is true (MCP's defaults), an unstated `idempotent` is false."""
        hints = self.hints or McpHints()
        read_only = bool(hints.read_only)
        return StatedHints(
            read_only=read_only,
            destructive=(not read_only) if hints.destructive is None else hints.destructive,
            idempotent=bool(hints.idempotent),
            open_world=True if hints.open_world is None else hints.open_world,
        )


@dataclass(frozen=True)
class StatedHints:
    read_only: bool
    destructive: bool
    idempotent: bool
    open_world: bool


class McpResource(_Model):
    """An MCP resource read through a consumed operation; a `{variable}` in `uri` makes it a template."""

    name: str
    uri: str
    label: str | None = None
    description: str | None = None
    mime_type: str | None = None
    call: str | None = None
    with_: dict[str, Any] | None = Field(None, alias="with")
    output_parameters: list[OutputParameter] = []
    location: str | None = None  # static files: not served by capgate


class ExposesMcp(_Model):
    type: Literal["mcp"]
    namespace: str
    port: int | None = None
    address: str | None = None
    transport: Literal["http", "stdio"] = "http"
    description: str | None = None
    tools: list[McpTool] = []
    resources: list[McpResource] = []


Exposes = Annotated[ExposesRest | ExposesMcp, Field(discriminator="type")]


class CapabilityBody(_Model):
    consumes: list[ConsumesHttp] = []
    exposes: list[Exposes] = []
    binds: list[Bind] = []


class Document(_Model):
    naftiko: str
    info: Info | None = None
    binds: list[Bind] = []
    capability: CapabilityBody
