"""Checks of a tool's `wait` (capgate extension): what it tests, how often it polls, how long it may wait.
Each problem names the field and what to write instead."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from capgate.core.errors import Problem
from capgate.core.http import SAFE_METHODS
from capgate.document.member_paths import parse_member_path
from capgate.document.models import ConsumedOperation, ConsumedResource, ConsumesHttp, ExposesMcp, McpTool
from capgate.document.references import input_key, input_reference
from capgate.document.source import Path, SourceMap

Operations = Mapping[str, tuple[ConsumesHttp, ConsumedResource, ConsumedOperation]]
TIMEOUT = "timeout"  # the input capgate adds to every tool that waits
LONGEST_WAIT = 3600.0  # seconds: no client holds a request open for longer, and a drain would wait for it
CLIENT_PATIENCE = 30.0  # seconds: common clients give up on a request after 60 s; half of that leaves room


def check_waits(adapter: ExposesMcp, base: Path, operations: Operations, source: SourceMap) -> Iterator[Problem]:
    """Each tool's `wait`: a status it can find, values that end it, intervals and timeouts that fit."""
    for t, tool in enumerate(adapter.tools):
        if tool.wait is not None:
            yield from _check_wait(tool, adapter.namespace, (*base, "tools", t), operations, source)


def _check_wait(
    tool: McpTool, namespace: str, where: Path, operations: Operations, source: SourceMap
) -> Iterator[Problem]:
    wait = tool.wait
    assert wait is not None
    at: Path = (*where, "wait")
    try:
        parse_member_path(wait.status)
    except ValueError as exc:
        yield source.problem((*at, "status"), str(exc))
    if not wait.until:
        yield source.problem((*at, "until"), "names no value; list the values of `status` that end the wait")
    if wait.interval > wait.max_interval:
        yield source.problem(
            (*at, "interval"), f"{wait.interval:g} s is longer than maxInterval ({wait.max_interval:g} s)"
        )
    if wait.timeout > wait.max_timeout:
        yield source.problem((*at, "timeout"), f"{wait.timeout:g} s is longer than maxTimeout ({wait.max_timeout:g} s)")
    if wait.max_timeout > LONGEST_WAIT:
        yield source.problem(
            (*at, "maxTimeout"), f"at most {LONGEST_WAIT:g} s: no client keeps a request open that long"
        )
    if wait.timeout > CLIENT_PATIENCE:
        yield source.problem(
            (*at, "timeout"),
            f"a default wait over {CLIENT_PATIENCE:g} s outlasts the request timeout of common clients (60 s); "
            f"keep the default short and let callers ask for more with the `{TIMEOUT}` input",
            "warning",
        )
    found = operations.get(tool.call or "")
    if found is not None and found[2].method.upper() not in SAFE_METHODS:
        yield source.problem(
            at,
            f"a wait calls {tool.call} again and again, and it is a {found[2].method.upper()}: only an operation "
            "that changes nothing (GET) may be polled",
        )
    exposed = {input_key(parameter.name) for parameter in tool.input_parameters} | {
        input_key(reference)
        for value in (tool.with_ or {}).values()
        if (reference := input_reference(value, namespace)) is not None
    }
    if TIMEOUT in exposed:
        yield source.problem(
            (*where, "with"), f"capgate adds a `{TIMEOUT}` input to tools that wait; rename the tool's own {TIMEOUT}"
        )
