"""What an exposed operation or tool runs, whichever mode the document gives it, behind one interface.

Both adapters (and `capgate call`) hold a `Runnable` and only `invoke` it with a lookup of the caller's
inputs: a `Binding` (one consumed operation, `call` + `with`), an `Orchestration` (`steps` + `mappings`),
a `Mock` (output `value`s), or any of them reached through an aggregate function's `ref`, with the adapter's
own `with` in front (`Referenced`). The answer is always an `UpstreamResult`: the upstream's for a call, one
built by capgate for steps and mocks.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from capgate.consumes.validation import Invalid, Validator, compile_schema
from capgate.core.errors import ArgumentError
from capgate.core.types import UpstreamResult
from capgate.document.models import InputParameter
from capgate.document.references import input_key
from capgate.observe.records import CallRecord

if TYPE_CHECKING:
    from capgate.consumes.operation import Operation
    from capgate.exposes.output import OutputMapping

Lookup = Callable[[str], Any]  # input key -> the caller's value, or None
Display = Callable[[str], str]  # an input's name as the adapter's caller spells it


@dataclass(frozen=True)
class Declared:
    """An input the document declares on the exposed operation or tool itself, compiled."""

    name: str
    key: str
    location: str  # path, query, header, body, or "argument" (a tool's)
    required: bool
    schema: dict[str, Any]
    validate: Validator
    value: Any = None  # REST: a fixed value, or `$.a.b` to read it from the JSON body


def declared_inputs(parameters: list[InputParameter], *, required_by_default: bool) -> list[Declared]:
    """The declared inputs: a tool's are required unless they say not (MCP), a REST operation's only if they say."""
    compiled = []
    for parameter in parameters:
        schema = parameter.schema_keywords()
        required = required_by_default if parameter.required is None else bool(parameter.required)
        compiled.append(
            Declared(
                parameter.name,
                input_key(parameter.name),
                parameter.location or "argument",
                required,
                schema,
                compile_schema(schema),
                parameter.value,
            )
        )
    return compiled


def checked_inputs(declared: list[Declared], lookup: Lookup, display: Display) -> Lookup:
    """`lookup` with the declared inputs validated first (ArgumentError naming every bad one) and coerced."""
    values: dict[str, Any] = {}
    errors = []
    for item in declared:
        raw = lookup(item.key)
        if raw is None:
            if item.required:
                errors.append((display(item.name), "is required"))
            continue
        try:
            values[item.key] = item.validate(raw)
        except Invalid as exc:
            errors.append((display(item.name) + exc.path, exc.reason))
    if errors:
        raise ArgumentError(errors)
    return lambda key: values[key] if key in values else lookup(key)


class Runnable(ABC):
    """An exposed operation's or tool's work; see the module docstring."""

    operation: Operation | None = None  # the one consumed operation it calls, when it calls exactly one
    output: OutputMapping | None = None  # the mapping an adapter applies itself to an unmapped answer (`mapped`)
    input_keys: frozenset[str] = frozenset()  # every input key a call may read (REST refuses other query keys)

    def query_names(self) -> list[str]:
        """The inputs a REST caller may send in the query, as the document spells them (to list them in errors)."""
        return sorted(self.input_keys)

    @property
    @abstractmethod
    def operation_name(self) -> str:
        """What the call record and the catalogue name: `namespace.operation`, or the steps' operations."""

    @property
    @abstractmethod
    def upstream(self) -> str:
        """What it sends upstream, for people: `GET /api/v1/runs`, or the steps' calls."""

    @property
    @abstractmethod
    def method(self) -> str:
        """The consumed HTTP method, or for several calls the least safe of them."""

    @property
    @abstractmethod
    def idempotent(self) -> bool:
        """Whether running it twice does what running it once does."""

    def check(self, lookup: Lookup, display: Display = str) -> dict[str, Any]:
        """The caller's declared inputs for one call, checked as the call would check them but not sent;
        ArgumentError names the bad ones. A `Binding` checks its operation's arguments too."""
        declared = [item for _, item in self.inputs() if isinstance(item, Declared)]
        checked = checked_inputs(declared, lookup, display)
        return {item.key: value for item in declared if (value := checked(item.key)) is not None}

    @abstractmethod
    def inputs(self) -> list[tuple[str, Any]]:
        """The exposed inputs (as the document spells them) and what each feeds (a Parameter or a Declared)."""

    @abstractmethod
    async def invoke(
        self, lookup: Lookup, record: CallRecord, display: Display = str, *, mapped: bool = True
    ) -> UpstreamResult:
        """Run once for the caller whose inputs `lookup` finds; `record` is handed to every observer. With
        `mapped` false, an answer `output` would map comes back as the upstream sent it (the adapter maps it)."""
