"""`ref: namespace.function`: an adapter's operation or tool that runs an aggregate function.

The function runs as it is declared (its own `call`, `steps` or mock, with its `with` read in its own
namespace); the adapter's own `with` is applied in front of it, in the adapter's namespace, and the adapter's
declared inputs (else the function's) are the ones checked and advertised.
"""

from __future__ import annotations

from typing import Any

from capgate.core.types import UpstreamResult
from capgate.document.references import input_key
from capgate.document.templates import template_names
from capgate.exposes.runnable import Declared, Display, Lookup, Runnable, checked_inputs
from capgate.exposes.scope import Scope, with_applied
from capgate.observe.records import CallRecord


class Referenced(Runnable):
    """A function's runnable behind an adapter's `with` and declared inputs."""

    def __init__(
        self, function: Runnable, *, with_: dict[str, Any] | None, namespace: str, declared: list[Declared]
    ) -> None:
        self.function = function
        self.operation = function.operation
        self.output = function.output
        self._with = with_
        self._namespace = namespace
        self._declared = declared
        self.input_keys = frozenset(
            {d.key for d in declared} | function.input_keys | {input_key(name) for name in template_names(with_)}
        )

    @property
    def operation_name(self) -> str:
        return self.function.operation_name

    @property
    def upstream(self) -> str:
        return self.function.upstream

    @property
    def method(self) -> str:
        return self.function.method

    @property
    def idempotent(self) -> bool:
        return self.function.idempotent

    def inputs(self) -> list[tuple[str, Any]]:
        return [(d.name, d) for d in self._declared] if self._declared else self.function.inputs()

    async def invoke(
        self, lookup: Lookup, record: CallRecord, display: Display = str, *, mapped: bool = True
    ) -> UpstreamResult:
        if self._declared:
            lookup = checked_inputs(self._declared, lookup, display)
        if self._with:
            lookup = with_applied(Scope(lookup), self._with, self._namespace).lookup
        return await self.function.invoke(lookup, record, display, mapped=mapped)
