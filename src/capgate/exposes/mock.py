"""A mock: an exposed operation or tool with no `call` and no `steps` answers its output parameters' `value`s.

The values are templates over the caller's inputs (`value: "{{imo_number}}"`), so a capability can be
designed and tried before any upstream exists (the format tutorial's first step). Nothing is sent upstream.
"""

from __future__ import annotations

from typing import Any

import orjson

from capgate.consumes.binds import Secrets
from capgate.core.types import UpstreamResult
from capgate.document.models import OutputParameter
from capgate.document.references import input_key
from capgate.document.templates import template_names
from capgate.exposes.output import mock_answer
from capgate.exposes.runnable import Declared, Display, Lookup, Runnable, checked_inputs
from capgate.exposes.scope import Scope, with_applied
from capgate.observe.records import CallRecord, Observers

MOCK = "mock"


class Mock(Runnable):
    """See the module docstring; an empty answer is `{}`."""

    def __init__(
        self,
        outputs: list[OutputParameter],
        *,
        namespace: str,
        secrets: Secrets,
        with_: dict[str, Any] | None = None,
        declared: list[Declared] | None = None,
        observers: Observers | None = None,
    ) -> None:
        self._outputs = outputs
        self._namespace = namespace
        self._secrets = secrets
        self._with = with_
        self._declared = declared or []
        self.observers = observers if observers is not None else Observers()
        self.input_keys = frozenset(
            {d.key for d in self._declared}
            | {input_key(name) for name in template_names([output.model_dump() for output in outputs])}
        )

    @property
    def operation_name(self) -> str:
        return MOCK

    @property
    def upstream(self) -> str:
        return "nothing (a mock)"

    @property
    def method(self) -> str:
        return "GET"

    @property
    def idempotent(self) -> bool:
        return True

    def inputs(self) -> list[tuple[str, Any]]:
        return [(declared.name, declared) for declared in self._declared]

    async def invoke(
        self, lookup: Lookup, record: CallRecord, display: Display = str, *, mapped: bool = True
    ) -> UpstreamResult:
        record.operation = MOCK
        try:
            if self._declared:
                lookup = checked_inputs(self._declared, lookup, display)
            scope = with_applied(Scope(lookup), self._with, self._namespace)
            record.arguments = {d.key: value for d in self._declared if (value := lookup(d.key)) is not None}
            answer = mock_answer(self._outputs, scope.lookup)
            record.result = UpstreamResult(200, {"content-type": "application/json"}, orjson.dumps(answer or {}))
            return record.result
        finally:
            if self.observers:
                await self.observers.finished(record)
