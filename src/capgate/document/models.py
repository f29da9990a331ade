"""The one typed model of a capability document, whatever dialect it was written in, lenient about unknown fields.

A dialect loader (`capgate.document.alpha` for Naftiko 0.5, 1.0.0-alpha1 and alpha2, `capgate.document.ikanos`
for Ikanos 1.0.0-beta3 to beta5) turns what it reads into these models; nothing after the loader knows which
dialect a document was written in. Lists keep the order the author gave (a keyed map of Ikanos becomes a list
of named items). Anything not modelled is kept
(`extra="allow"`) so documents written for the reference engine load. Field names follow the format's
camelCase through aliases.
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


class InboundAuthentication(_Model):
    """What an exposed adapter's callers must present, as its document asks (the adapter's `authentication`).

    capgate checks `bearer`, `basic` and `apikey` in a header itself; `oauth2` is its `--oauth-issuer`; `digest`
    and `apikey` in the query it cannot check (docs/hardening.md, "Authentication a document declares").
    """

    type: Literal["bearer", "apikey", "basic", "digest", "oauth2"]
    token: str | None = None
    key: str | None = None
    value: str | None = None
    placement: Literal["header", "query"] = "header"
    username: str | None = None
    password: str | None = None
    authorization_server_uri: str | None = None
    resource: str | None = None
    audience: str | None = None
    scopes: list[str] = []


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
    body: Any = None  # a `{{ }}` template: text, or {type: json|text|xml|sparql|formUrlEncoded, data}
    output_raw_format: str = "json"
    output_schema: str | None = None  # html: a CSS selector of the tables; markdown: a heading prefix
    idempotent: bool | None = None  # capgate extension: safe to repeat even when the method is not
    timeouts: TimeoutSettings | None = None  # capgate extension
    pagination: Pagination | None = None  # capgate extension


class ConsumedResource(_Model):
    name: str
    path: str
    label: str | None = None
    description: str | None = None
    input_parameters: list[InputParameter] = []
    operations: list[ConsumedOperation] = []


class ConsumesHttp(_Model):
    type: Literal["http"] = "http"
    namespace: str
    base_uri: str
    description: str | None = None
    input_parameters: list[InputParameter] = []
    authentication: Authentication | None = None
    resources: list[ConsumedResource] = []  # none: a namespace only forwarded to
    timeouts: TimeoutSettings | None = None  # capgate extension, for every operation of the namespace
    rate_limit: RateLimitSettings | None = None  # capgate extension
    retry_header: str | None = None  # capgate extension: a response header that allows or forbids a retry
    pass_back_headers: list[str] = []  # capgate extension: response headers passed back besides the standard ones


class StepMapping(_Model):
    """One field of an orchestrated answer: `targetName` (dots nest) takes `value`, `$.<step>.<field path>`."""

    target_name: str
    value: str


class CallStep(_Model):
    """Call a consumed operation; its answer is the step's output, `{{name.field}}` to later steps."""

    type: Literal["call"] = "call"
    name: str
    call: str
    with_: dict[str, Any] | None = Field(None, alias="with")


class LookupStep(_Model):
    """Find, in an earlier step's output (`index`), the entries whose `match` field equals `lookupValue`, and keep
    their `outputParameters` fields."""

    type: Literal["lookup"]
    name: str
    index: str
    match: str
    lookup_value: str
    output_parameters: list[str] = []


class ScriptStep(_Model):
    """A script run by the reference engine's sandbox (javascript, python, groovy); capgate runs none."""

    type: Literal["script"]
    name: str
    language: str | None = None
    location: str | None = None
    file: str | None = None


Step = Annotated[CallStep | LookupStep | ScriptStep, Field(discriminator="type")]


class Executable(_Model):
    """What an exposed operation, a tool, an MCP resource and an aggregate function share: how they run.

    One of four modes: `call` (+ `with`), `steps` (+ `mappings`), `ref` to an aggregate function, or a mock
    (no call and no steps: the output parameters' `value`s are the answer).
    """

    name: str | None = None
    label: str | None = None
    description: str | None = None
    call: str | None = None
    with_: dict[str, Any] | None = Field(None, alias="with")
    steps: list[Step] = []
    mappings: list[StepMapping] = []
    ref: str | None = None
    input_parameters: list[InputParameter] = []
    output_parameters: list[OutputParameter] = []

    @property
    def mode(self) -> Literal["ref", "steps", "call", "mock"]:
        if self.ref is not None:
            return "ref"
        if self.steps:
            return "steps"
        return "call" if self.call is not None else "mock"


class ExposedOperation(Executable):
    method: str = "GET"


class Forward(_Model):
    """Pass every request under the resource on to a consumed namespace, with only `trustedHeaders` copied."""

    target_namespace: str
    trusted_headers: list[str] = []


class ExposedResource(_Model):
    path: str
    name: str | None = None
    label: str | None = None
    description: str | None = None
    input_parameters: list[InputParameter] = []
    operations: list[ExposedOperation] = []
    forward: Forward | None = None


class ExposesRest(_Model):
    type: Literal["rest"]
    namespace: str
    port: int | None = None
    address: str | None = None
    authentication: InboundAuthentication | None = None
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


class McpTool(Executable):
    name: str = ""  # an aggregate function's name when a `ref` tool gives none (`capgate.document.aggregates`)
    hints: McpHints | None = None
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


class McpResource(Executable):
    """Data an MCP client reads by URI: dynamic (`call`/`steps`), or the files of a `location` directory."""

    name: str
    uri: str
    mime_type: str | None = None
    location: str | None = None  # file:///dir: a static resource, one entry per file under it


class PromptArgument(_Model):
    name: str
    label: str | None = None
    description: str | None = None
    required: bool = False


class PromptMessage(_Model):
    role: Literal["user", "assistant"]
    content: str


class McpPrompt(_Model):
    """A prompt template: inline `template` messages, or the text of a `location` file as one user message."""

    name: str
    label: str | None = None
    description: str | None = None
    arguments: list[PromptArgument] = []
    template: list[PromptMessage] = []
    location: str | None = None


class ExposesMcp(_Model):
    type: Literal["mcp"]
    namespace: str
    port: int | None = None
    address: str | None = None
    authentication: InboundAuthentication | None = None
    transport: Literal["http", "stdio"] = "http"
    description: str | None = None
    tools: list[McpTool] = []
    resources: list[McpResource] = []
    prompts: list[McpPrompt] = []


class SkillToolSource(_Model):
    source_namespace: str
    action: str


class SkillTool(_Model):
    """A tool of a skill: derived (`from` a sibling REST operation or MCP tool) or an `instruction` file."""

    name: str
    description: str | None = None
    from_: SkillToolSource | None = Field(None, alias="from")
    instruction: str | None = None


class Skill(_Model):
    """An Agent Skills entry: metadata, tools, and the files of its `location` directory."""

    name: str
    description: str | None = None
    license: str | None = None
    compatibility: str | None = None
    metadata: dict[str, str] | None = None
    allowed_tools: str | None = Field(None, alias="allowed-tools")
    argument_hint: str | None = Field(None, alias="argument-hint")
    user_invocable: bool | None = Field(None, alias="user-invocable")
    disable_model_invocation: bool | None = Field(None, alias="disable-model-invocation")
    location: str | None = None
    tools: list[SkillTool] = []


class ExposesSkill(_Model):
    """A read-only catalogue of skills over the sibling adapters: /skills, /skills/{name} and its files."""

    type: Literal["skill"]
    namespace: str
    port: int | None = None
    address: str | None = None
    authentication: InboundAuthentication | None = None
    description: str | None = None
    skills: list[Skill] = []


class ControlManagement(_Model):
    health: bool = True  # /health/live and /health/ready
    info: bool = False  # /status


class ExposesControl(_Model):
    """The management plane: health, status, metrics and traces of the capability itself, on a port of its own."""

    type: Literal["control"]
    port: int | None = None
    address: str | None = None
    authentication: InboundAuthentication | None = None
    management: ControlManagement = ControlManagement()
    observability: dict[str, Any] | None = None

    @property
    def namespace(self) -> str:
        return "control"


Exposes = Annotated[ExposesRest | ExposesMcp | ExposesSkill | ExposesControl, Field(discriminator="type")]


class Semantics(_Model):
    """What a function does, independent of any adapter: MCP hints are derived from it."""

    safe: bool | None = None
    idempotent: bool | None = None
    cacheable: bool | None = None


class AggregateFunction(Executable):
    name: str
    semantics: Semantics | None = None


class Aggregate(_Model):
    """Functions defined once and referenced by adapters with `ref: namespace.function`."""

    namespace: str
    label: str | None = None
    functions: list[AggregateFunction] = []


class CapabilityBody(_Model):
    consumes: list[ConsumesHttp] = []
    exposes: list[Exposes] = []
    binds: list[Bind] = []
    aggregates: list[Aggregate] = []


class Document(_Model):
    dialect: str  # what the loader read, e.g. "naftiko 1.0.0-alpha2": for messages, never for behaviour
    info: Info | None = None
    binds: list[Bind] = []
    capability: CapabilityBody
