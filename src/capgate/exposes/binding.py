"""Wire an exposed operation or tool to its consumed operation through the `with` map (the `call` mode)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from capgate.consumes.binds import Secrets
from capgate.consumes.caller_binds import CallerBinds
from capgate.consumes.operation import TEMPLATE, Operation, Parameter
from capgate.core.errors import ArgumentError
from capgate.core.types import UpstreamResult
from capgate.document.models import OutputParameter
from capgate.document.references import input_key, input_reference
from capgate.document.templates import placeholders, render
from capgate.exposes.output import OutputMapping, apply_output, compile_output
from capgate.exposes.runnable import Declared, Display, Lookup, Runnable, checked_inputs
from capgate.observe.records import CallRecord, Observers


@dataclass(frozen=True)
class Wire:
    """Where one argument of the consumed operation comes from."""

    parameter: Parameter
    input_name: str | None = None  # the exposed input it copies, as the document spells it
    template: str | None = None  # or a `{{ }}` template over inputs and binds
    literal: Any = None  # or a fixed value
    implicit: bool = False  # not in `with`: a namespace-wide parameter fed by the input of its own name
    input_key: str | None = field(init=False, default=None)  # input_key(input_name), computed once

    def __post_init__(self) -> None:
        if self.input_name is not None:
            object.__setattr__(self, "input_key", input_key(self.input_name))


class Binding(Runnable):
    """An exposed operation or tool: collects its inputs, calls the operation, maps the output."""

    def __init__(
        self,
        operation: Operation,
        with_: dict[str, Any] | None,
        namespace: str,
        outputs: list[OutputParameter],
        secrets: Secrets,
        observers: Observers | None = None,
        callers: CallerBinds | None = None,
        declared: list[Declared] | None = None,
    ) -> None:
        self.operation: Operation = operation
        self.observers = observers if observers is not None else Observers()  # an empty one is falsy
        self._secrets = secrets
        self._callers = callers or CallerBinds()
        spec = operation.spec
        self.output: OutputMapping | None = compile_output(outputs, spec.output_raw_format, spec.output_schema)
        self._declared = declared or []
        self.wires = self._wires(with_, namespace)
        self._renames = {w.parameter.name: w.input_name for w in self.wires if w.input_name and not w.implicit}
        self.input_keys = frozenset(self._input_keys())

    def query_names(self) -> list[str]:
        """The inputs a REST caller sends in the query, as the document spells them (to list them in errors)."""
        return [w.input_name for w in self.wires if w.input_name is not None and w.parameter.location == "query"]

    @property
    def operation_name(self) -> str:
        return self.operation.name

    @property
    def upstream(self) -> str:
        return self.operation.upstream

    @property
    def method(self) -> str:
        return self.operation.method

    @property
    def idempotent(self) -> bool:
        return self.operation.idempotent

    def inputs(self) -> list[tuple[str, Any]]:
        """The exposed inputs (as the document spells them): the declared ones, else each parameter a wire feeds."""
        if self._declared:
            return [(declared.name, declared) for declared in self._declared]
        return [(w.input_name, w.parameter) for w in self.wires if w.input_name is not None and not w.implicit]

    def arguments(self, lookup: Lookup, secrets: Secrets | None = None) -> dict[str, Any]:
        """The consumed operation's arguments for one call (`secrets`: the caller's own, else the operator's)."""
        bound = secrets or self._secrets
        arguments: dict[str, Any] = {}
        for wire in self.wires:
            if wire.input_key is not None:
                value = lookup(wire.input_key)
            elif wire.template is not None:
                # A bound name is always the secret: a caller's input of the same name cannot stand in for it.
                value = render(wire.template, lambda name: bound.lookup(name) or _text_or_none(lookup(input_key(name))))
            else:
                value = wire.literal
            if value is not None:
                arguments[wire.parameter.key] = value
        return arguments

    def check(self, lookup: Lookup, display: Display = str) -> dict[str, Any]:
        """The operation's arguments for one call, checked as the call would check them but not sent;
        ArgumentError names the caller's inputs (`display` spells them per adapter)."""
        arguments = self.arguments(lookup)
        try:
            self.operation.build_request(arguments)
        except ArgumentError as exc:
            raise ArgumentError([(self._exposed_name(name, display), reason) for name, reason in exc.errors]) from None
        return arguments

    async def invoke(
        self, lookup: Lookup, record: CallRecord, display: Display = str, *, mapped: bool = True
    ) -> UpstreamResult:
        """Call the operation; ArgumentError names the caller's inputs (`display` spells them per adapter).

        A 2xx JSON answer comes back mapped by the output parameters, unless `mapped` is false: then as the
        upstream sent it, for an adapter that maps the parsed body itself (`self.output`).
        `record` is filled in and handed to every observer before this returns or raises: to the `sending` ones
        once the arguments are valid, before the request leaves (the audit log's intent), then to the others.
        A caller with values of its own for the binds (`record.caller_keys` named in `--caller-binds`) acts
        upstream with them.
        """
        record.operation = self.operation.name
        secrets = self._callers.secrets_for(record.caller_keys) if self._callers and record.caller_keys else None
        try:
            if self._declared:
                lookup = checked_inputs(self._declared, lookup, display)
            record.arguments = self.arguments(lookup, secrets)
            request = self.operation.build_request(record.arguments, secrets)
            await self.observers.sending(record)
            result = record.result = await self.operation.send(request)
            if mapped and self.output is not None and 200 <= result.status < 300:
                return replace(result, body=apply_output(self.output, result.body))
            return result
        except ArgumentError as exc:
            record.error = ArgumentError([(self._exposed_name(name, display), reason) for name, reason in exc.errors])
            raise record.error from None
        except BaseException as exc:  # a cancelled call too: the audit log says its outcome is unknown
            record.error = exc
            raise
        finally:
            if self.observers:
                await self.observers.finished(record)

    def _input_keys(self) -> set[str]:
        """Every input key a call reads: the inputs wired to parameters, and those templates name (not binds)."""
        keys = {wire.input_key for wire in self.wires if wire.input_key is not None}
        keys |= {declared.key for declared in self._declared}
        for wire in self.wires:
            if wire.template is not None:
                keys |= {input_key(name) for name in placeholders(wire.template) if self._secrets.lookup(name) is None}
        return keys

    def _exposed_name(self, name: str, display: Display) -> str:
        """A consumed parameter's name (`filter[status][1]`) as the caller spells the input (`filter.status[1]`)."""
        for consumed, exposed in self._renames.items():
            if name == consumed or name.startswith(consumed + ".") or name.startswith(consumed + "["):
                return display(exposed) + name[len(consumed) :]
        return name

    def _wires(self, with_: dict[str, Any] | None, namespace: str) -> list[Wire]:
        if with_ is None:  # no `with`: each input feeds the parameter of the same name
            return [
                Wire(p, input_name=p.name, implicit=p.location == TEMPLATE and bool(self._declared))
                for p in self.operation.parameters
                if p.constant is None and p.template is None
            ]
        # Parameters the namespace declares for every operation (pass-through headers, say) and the names the
        # operation's templates use (`{{shipImo}}` in its body) need no `with`: the caller's input of that name.
        targeted = {input_key(target) for target in with_}
        wires = [
            Wire(p, input_name=p.name, implicit=True)
            for p in self.operation.parameters
            if (p.shared or p.location == TEMPLATE)
            and p.constant is None
            and p.template is None
            and p.key not in targeted
        ]
        for target, value in with_.items():
            parameter = self.operation.parameter(input_key(target))
            if parameter is None:  # feeds nothing the operation sends: a warning at load time
                continue
            reference = input_reference(value, namespace)
            if reference is not None:
                wires.append(Wire(parameter, input_name=reference))
            elif isinstance(value, str) and placeholders(value):
                wires.append(Wire(parameter, template=value))
            else:
                wires.append(Wire(parameter, literal=value))
        return wires


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
