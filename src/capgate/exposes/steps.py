"""`steps`: several consumed calls (and lookups) for one exposed operation or tool, wired by name.

As the format defines them: each call step sees the caller's inputs and every earlier step's output by the
step's name (`{{get-ship.imo_number}}`), its `with` over them; its output is the answer's JSON, projected
by the consumed operation's own `outputParameters` when it declares some. A lookup step finds in an earlier
step's output the entries whose `match` field equals its `lookupValue` (`$.<step>.<field>`, or a template)
and keeps their `outputParameters` fields. `mappings` assemble the answer (`targetName` dots nest) from the
steps' outputs; without them (or when none resolves) the last call's answer is the answer, mapped by the
exposed `outputParameters`.

capgate does better than the reference engine in two ways. A step waits only for the steps it names, so
independent calls run at the same time. A step whose upstream answers an error (4xx, 5xx) stops the run and
that answer is the answer; the engine would go on and assemble a result from it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import orjson

from capgate.consumes.binds import Secrets
from capgate.consumes.caller_binds import CallerBinds
from capgate.consumes.formats import FormatError, to_json
from capgate.consumes.operation import Operation
from capgate.consumes.rendering import render_text
from capgate.core.http import SAFE_METHODS
from capgate.core.types import UpstreamResult
from capgate.document.models import CallStep, LookupStep, OutputParameter, Step, StepMapping
from capgate.document.references import input_key
from capgate.document.templates import template_names
from capgate.exposes.output import apply_output, compile_output
from capgate.exposes.runnable import Declared, Display, Lookup, Runnable, checked_inputs
from capgate.exposes.scope import Scope, with_applied
from capgate.observe.records import CallRecord, Observers

JSON_HEADERS = {"content-type": "application/json"}


@dataclass(frozen=True)
class _Planned:
    step: Step
    after: tuple[str, ...]  # the earlier steps it names, which it waits for
    operation: Operation | None  # a call step's


class _Stopped(Exception):
    """A step's upstream answered an error: that answer ends the run."""

    def __init__(self, result: UpstreamResult) -> None:
        self.result = result


class Orchestration(Runnable):
    """An exposed operation or tool made of `steps`; see the module docstring."""

    def __init__(
        self,
        steps: list[Step],
        mappings: list[StepMapping],
        outputs: list[OutputParameter],
        *,
        namespace: str,
        operations: Mapping[str, Operation],
        secrets: Secrets,
        with_: dict[str, Any] | None = None,
        declared: list[Declared] | None = None,
        observers: Observers | None = None,
        callers: CallerBinds | None = None,
    ) -> None:
        self._namespace = namespace
        self._callers = callers or CallerBinds()
        self._secrets = secrets
        self._with = with_
        self._declared = declared or []
        self._mappings = mappings
        self._outputs = outputs
        self.observers = observers if observers is not None else Observers()
        self._plan = _planned(steps, operations)
        self._calls = [planned.operation for planned in self._plan if planned.operation is not None]
        # What a call may read: its declared inputs, and every name its steps pass on or fill templates with.
        self.input_keys = frozenset(
            {d.key for d in self._declared}
            | {p.key for operation in self._calls for p in operation.parameters}
            | {input_key(name) for step in steps if isinstance(step, CallStep) for name in template_names(step.with_)}
            | {input_key(name) for name in template_names(with_)}
        )
        self._last_call = next((p.step.name for p in reversed(self._plan) if p.operation is not None), None)

    @property
    def operation_name(self) -> str:
        return "+".join(dict.fromkeys(operation.name for operation in self._calls))

    @property
    def upstream(self) -> str:
        return ", then ".join(operation.upstream for operation in self._calls)

    @property
    def method(self) -> str:
        unsafe = [operation.method for operation in self._calls if operation.method not in SAFE_METHODS]
        return unsafe[0] if unsafe else "GET"

    @property
    def idempotent(self) -> bool:
        return all(operation.idempotent for operation in self._calls)

    def inputs(self) -> list[tuple[str, Any]]:
        return [(declared.name, declared) for declared in self._declared]

    async def invoke(
        self, lookup: Lookup, record: CallRecord, display: Display = str, *, mapped: bool = True
    ) -> UpstreamResult:
        record.operation = self.operation_name
        try:
            if self._declared:
                lookup = checked_inputs(self._declared, lookup, display)
            scope = with_applied(Scope(lookup, secrets=self._secrets), self._with, self._namespace)
            record.arguments = {d.key: value for d in self._declared if (value := lookup(d.key)) is not None}
            record.result = await self._run(scope, record)
            return record.result
        except Exception as exc:
            record.error = exc
            raise
        finally:
            if self.observers:
                await self.observers.finished(record)

    async def _run(self, scope: Scope, record: CallRecord) -> UpstreamResult:
        outputs: dict[str, Any] = {}
        answers: dict[str, UpstreamResult] = {}
        tasks: dict[str, asyncio.Task[None]] = {}

        async def run(planned: _Planned) -> None:
            await asyncio.gather(*(tasks[name] for name in planned.after))
            step_scope = scope.over({name: outputs[name] for name in planned.after if name in outputs})
            if planned.operation is not None:
                answers[planned.step.name] = await self._call(planned, step_scope, record, outputs)
            else:
                assert isinstance(planned.step, LookupStep), "script steps are refused at load time"
                found = _lookup(planned.step, outputs, step_scope)
                if found is not None:
                    outputs[planned.step.name] = found

        for planned in self._plan:
            tasks[planned.step.name] = asyncio.create_task(run(planned))
        try:
            await asyncio.gather(*tasks.values())
        except _Stopped as stopped:
            return stopped.result
        finally:
            for task in tasks.values():
                task.cancel()
            await asyncio.gather(*tasks.values(), return_exceptions=True)
        mapped = _mapped(self._mappings, outputs)
        if mapped:
            return UpstreamResult(200, dict(JSON_HEADERS), orjson.dumps(mapped))
        last = answers.get(self._last_call or "")
        if last is None:
            return UpstreamResult(200, dict(JSON_HEADERS), b"{}")
        operation = next(p.operation for p in self._plan if p.step.name == self._last_call)
        assert operation is not None
        output = compile_output(self._outputs, operation.spec.output_raw_format, operation.spec.output_schema)
        return replace(last, body=apply_output(output, last.body)) if output is not None else last

    async def _call(
        self, planned: _Planned, scope: Scope, record: CallRecord, outputs: dict[str, Any]
    ) -> UpstreamResult:
        step, operation = planned.step, planned.operation
        assert isinstance(step, CallStep) and operation is not None
        step_scope = with_applied(scope, step.with_, self._namespace)
        call = CallRecord(
            record.adapter,
            f"{record.target} {step.name}",
            operation.name,
            caller=record.caller,
            client=record.client,
            caller_keys=record.caller_keys,
        )
        call.arguments = {p.key: v for p in operation.parameters if (v := step_scope.lookup(p.key)) is not None}
        # A caller with values of its own for the binds (`--caller-binds`) acts upstream with them at every step.
        secrets = self._callers.secrets_for(record.caller_keys) if self._callers and record.caller_keys else None
        try:
            request = operation.build_request(_ScopeArguments(step_scope), secrets)
            await self.observers.sending(call)  # the audit log's intent, before the request leaves
            result = call.result = await operation.send(request)
        except Exception as exc:
            call.error = exc
            raise
        finally:
            if self.observers:
                await self.observers.finished(call)
        if result.status >= 400:
            raise _Stopped(result)
        output = _step_output(operation, result.body)
        if output is not None:
            outputs[step.name] = output
        return result


class _ScopeArguments(Mapping[str, Any]):
    """A scope as an operation's arguments: by input key, dotted names walked."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def __getitem__(self, key: str) -> Any:
        value = self._scope.lookup(key)
        if value is None:
            raise KeyError(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        value = self._scope.lookup(key)
        return default if value is None else value

    def __iter__(self) -> Any:
        return iter(self._scope)

    def __len__(self) -> int:
        return len(self._scope)


def _planned(steps: list[Step], operations: Mapping[str, Operation]) -> list[_Planned]:
    planned = []
    earlier: list[str] = []
    for step in steps:
        operation = operations[step.call] if isinstance(step, CallStep) else None
        named = _names(step, operation)
        planned.append(_Planned(step, tuple(name for name in earlier if name in named), operation))
        earlier.append(step.name)
    return planned


def _names(step: Step, operation: Operation | None) -> set[str]:
    """The first part of every name a step uses: the steps it can depend on are among them."""
    used: list[str] = []
    if isinstance(step, CallStep):
        for value in (step.with_ or {}).values():
            used += template_names(value)
        used += [parameter.key for parameter in (operation.parameters if operation else [])]
    elif isinstance(step, LookupStep):
        used += [step.index, step.lookup_value.removeprefix("$."), *template_names(step.lookup_value)]
    return {name.split(".", 1)[0] for name in used}


def _step_output(operation: Operation, body: bytes) -> Any:
    """A call step's output: its answer as JSON, projected by the consumed operation's own outputs."""
    try:
        data = to_json(body, operation.spec.output_raw_format, operation.spec.output_schema)
    except FormatError:
        return None
    declared = operation.spec.output_parameters
    whole = compile_output(declared)
    if whole is None:
        return data
    named = [(output.name, mapping) for output in declared if output.name and (mapping := compile_output([output]))]
    if isinstance(data, list):  # each element keeps its fields and gains the projected ones
        return [
            {**(item if isinstance(item, dict) else {}), **{name: out.project(item) for name, out in named}}
            for item in data
        ]
    if named:
        return {name: out.project(data) for name, out in named}
    return whole.project(data)


def _lookup(step: LookupStep, outputs: Mapping[str, Any], scope: Scope) -> Any:
    index = outputs.get(step.index)
    wanted = _at(step.lookup_value, outputs) if step.lookup_value.startswith("$.") else None
    if wanted is None:
        wanted = render_text(step.lookup_value, scope.lookup) if "{{" in step.lookup_value else step.lookup_value
    if isinstance(wanted, list):
        found = [match for value in wanted if (match := _match(index, step, value)) is not None]
        return found or None
    return _match(index, step, wanted)


def _match(index: Any, step: LookupStep, value: Any) -> Any:
    entries = index if isinstance(index, list) else [index]
    for entry in entries:
        if isinstance(entry, dict) and step.match in entry and _text(entry[step.match]) == _text(value):
            return {name: entry.get(name) for name in step.output_parameters}
    return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _at(path: str, outputs: Mapping[str, Any]) -> Any:
    """`$.<step>.<field path>` in the steps' outputs, or None."""
    step, *fields = path.removeprefix("$.").split(".")
    found = outputs.get(step)
    for name in fields:
        if not isinstance(found, dict):
            return None
        found = found.get(name)
    return found


def _mapped(mappings: list[StepMapping], outputs: Mapping[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = {}
    for mapping in mappings:
        value = _at(mapping.value, outputs) if mapping.value.startswith("$.") else None
        if value is None:
            continue
        *parents, last = mapping.target_name.split(".")
        node = answer
        for parent in parents:
            child = node.get(parent)
            node = node.setdefault(parent, {}) if isinstance(child, dict) or child is None else {}
        node[last] = value
    return answer
