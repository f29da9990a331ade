"""`capgate call`: run one tool of a document from the shell, through the binding the MCP adapter uses.

Arguments are `name=value`, named as the tool's input schema names them (`filter.status`) or in the
document's bracket form (`filter[status]`); a repeated name makes a list. Values are JSON when they parse
as JSON (`page.size=5`, `body={"tags":["a"]}`) and text otherwise, and always text for string inputs.
`--all` follows `pagination.next` through `page.after`, the cursor convention of Trigger.dev's lists.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

import orjson

from capgate.cli.present import items_of, render
from capgate.cli.shell import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Commands, add_base_uri, base_uris, command
from capgate.cli.terminal import Progress, painter, terminal_width
from capgate.core.errors import ArgumentError, ConfigurationError, UpstreamError
from capgate.core.http import SAFE_METHODS
from capgate.document.bundled import DEFAULT_DOCUMENT
from capgate.document.references import input_key, property_name
from capgate.observe.audit import AuditLog, default_audit_path
from capgate.observe.records import CallRecord

if TYPE_CHECKING:  # imported when the command runs: the MCP SDK takes half a second
    from capgate.exposes.mcp.server import McpTarget
    from capgate.gateway.assembly import Gateway

PAGE_CURSOR = "page.after"  # the input that takes the previous page's pagination.next


@dataclass(frozen=True)
class CallRequest:
    """What `capgate call` was asked for."""

    document: str
    tool: str
    assignments: list[str] = field(default_factory=list)
    base_uris: dict[str, str] = field(default_factory=dict)
    as_json: bool = False
    all_pages: bool = False


@dataclass(frozen=True)
class Outcome:
    """The last answer (or, with --all, every page's items), parsed when it is JSON."""

    status: int
    body: Any
    pages: int = 1
    cursor: str | None = None  # pagination.next of the last page


def add(commands: Commands[argparse.ArgumentParser]) -> None:
    parser = command(
        commands,
        "call",
        "run one tool of a document from the shell, through the MCP adapter's code, no server",
        "  capgate call list-runs\n"
        "  capgate call list-runs filter.status=FAILED,CRASHED page.size=10\n"
        "  capgate call list-runs filter.createdAt.period=1d --all --json > runs.json\n"
        "  capgate call retrieve-run runId=run_cm1abc0def0ghi0jkl0mno0pq\n"
        '  capgate call add-tags-run runId=run_cm1abc0def0ghi0jkl0mno0pq \'body={"tags": ["vip"]}\'\n'
        "  capgate call list-runs --base-uri management-runs=http://127.0.0.1:3030   # against the emulator\n\n"
        "A value is JSON when it parses as JSON, else text; a repeated NAME makes a list. On a terminal the\n"
        "answer is a table (lists) or key/value lines; piped, or with --json, it is JSON.\n"
        "exit codes: 0 the upstream answered 2xx, 1 an error status or no answer, 2 bad arguments (nothing sent)",
    )
    parser.add_argument("tool", metavar="TOOL", help="the tool's name, as `capgate tools` lists it")
    parser.add_argument(
        "arguments",
        nargs="*",
        metavar="NAME=VALUE",
        help="the tool's inputs, named as its schema names them (filter.status) or as the "
        "document does (filter[status])",
    )
    parser.add_argument(
        "-d",
        "--document",
        default=DEFAULT_DOCUMENT,
        metavar="DOC",
        help="a document path or a bundled name (default: %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="print the answer as JSON, even on a terminal")
    parser.add_argument(
        "--all", action="store_true", help="follow pagination.next through every page (a progress line on stderr)"
    )
    add_base_uri(parser, "send a consumed namespace's calls to another URL, as for serve; repeatable")
    parser.set_defaults(handler=run)


def run(options: argparse.Namespace) -> int:
    request = CallRequest(
        options.document,
        options.tool,
        options.arguments,
        base_uris(options.base_uri),
        as_json=options.json,
        all_pages=options.all,
    )
    return run_call(request, stdout=sys.stdout, stderr=sys.stderr)


def run_call(request: CallRequest, *, stdout: TextIO, stderr: TextIO, environ: Mapping[str, str] | None = None) -> int:
    """Call the tool once (or once per page), print the answer; the exit code says how it went."""
    from capgate.gateway.assembly import load_gateway

    gateway = load_gateway(request.document, base_uris=request.base_uris, environ=environ)
    target = find_target(gateway, request.tool)
    arguments = parse_arguments(request.assignments, target)
    if request.all_pages and PAGE_CURSOR not in target.properties.values():
        raise ConfigurationError(
            f"--all follows pagination.next through a {PAGE_CURSOR} input, and {request.tool} "
            "has none; call it without --all"
        )
    try:
        outcome = asyncio.run(_fetch(gateway, target, arguments, request.all_pages, Progress(stderr)))
    except ArgumentError as exc:
        print(f"capgate: invalid arguments, nothing was sent upstream: {exc}", file=stderr)
        return EXIT_USAGE
    except UpstreamError as exc:
        print(f"capgate: {request.tool}: {exc.title}: {exc.method} {exc.url}: {exc.reason}", file=stderr)
        return EXIT_FAILED
    _print(outcome, request, stdout, stderr)
    return EXIT_OK if outcome.status < 400 else EXIT_FAILED


def find_target(gateway: Gateway, name: str) -> McpTarget:
    targets = {tool: target for adapter in gateway.mcp for tool, target in adapter.targets.items()}
    if not targets:
        raise ConfigurationError("the document exposes no MCP tools, so there is nothing to call")
    if name not in targets:
        raise ConfigurationError(
            f"unknown tool {name!r}; the document has: {', '.join(targets)} (`capgate tools` lists them)"
        )
    return targets[name]


def parse_arguments(assignments: list[str], target: McpTarget) -> dict[str, Any]:
    """`name=value` strings -> arguments keyed by input key, as the binding looks them up."""
    properties = target.tool.input_schema.get("properties", {})
    by_key = {key: advertised for advertised, key in target.properties.items()}
    arguments: dict[str, Any] = {}
    for assignment in assignments:
        name, equals, text = assignment.partition("=")
        if not equals or not name:
            raise ConfigurationError(f"{assignment!r}: expected NAME=VALUE, e.g. runId=run_abc or page.size=10")
        key = target.properties.get(name) or input_key(name)
        if key not in by_key:
            accepted = ", ".join(target.properties) or "no arguments"
            raise ConfigurationError(f"{target.tool.name} has no input {name!r}; it accepts: {accepted}")
        value = parse_value(text, properties.get(by_key[key], {}))
        if key in arguments:  # a repeated name makes a list: filter.status=FAILED filter.status=CRASHED
            previous = arguments[key]
            value = [*(previous if isinstance(previous, list) else [previous]), value]
        arguments[key] = value
    return arguments


def parse_value(text: str, schema: Mapping[str, Any]) -> Any:
    """JSON when `text` parses as JSON, else the text itself; a string input always gets the text."""
    if schema.get("type") == "string":
        return text
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


async def _fetch(
    gateway: Gateway, target: McpTarget, arguments: dict[str, Any], all_pages: bool, progress: Progress
) -> Outcome:
    name = target.tool.name
    audit = _audit_log(gateway, target)
    await gateway.open()
    try:
        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        pages = 0
        while True:
            result = await target.binding.invoke(arguments.get, CallRecord("cli", name), display=property_name)
            pages += 1
            body = _parsed(result.body)
            cursor = _next_cursor(body)
            if not all_pages or result.status >= 400:
                return Outcome(result.status, body, pages, cursor)
            items += items_of(body) or []
            progress.update(f"{name}: {pages} page(s), {len(items)} items…")
            if not cursor or cursor in seen:  # a repeated cursor would loop forever
                return Outcome(result.status, {"data": items}, pages)
            seen.add(cursor)
            arguments = {**arguments, PAGE_CURSOR: cursor}
    finally:
        progress.done()
        await gateway.close()
        if audit is not None:
            await audit.close()


def _audit_log(gateway: Gateway, target: McpTarget) -> AuditLog | None:
    """A shell's cancel or replay changes production as much as a served one: it goes to the same audit log."""
    if target.binding.operation.method in SAFE_METHODS:
        return None
    audit = AuditLog(default_audit_path())
    audit.open()
    audit.watch(gateway.operations)
    gateway.observers.add(audit.observe)
    return audit


def _print(outcome: Outcome, request: CallRequest, stdout: TextIO, stderr: TextIO) -> None:
    failed = outcome.status >= 400
    if failed:
        complaint = painter(stderr)(f"capgate: {request.tool}: the upstream answered HTTP {outcome.status}", "red")
        print(complaint, file=stderr)
    width = terminal_width(stdout)
    if request.as_json or width is None:
        body = outcome.body
        print(body if isinstance(body, str) else orjson.dumps(body, option=orjson.OPT_INDENT_2).decode(), file=stdout)
        return
    paint = painter(stdout)
    print(render(outcome.body, width=width, paint=paint), file=stdout)
    items = items_of(outcome.body)
    if items is not None and not failed:
        print(paint(_footer(len(items), outcome, request), "dim"), file=stdout)


def _footer(count: int, outcome: Outcome, request: CallRequest) -> str:
    if request.all_pages:
        return f"{count} items from {outcome.pages} page(s)"
    if outcome.cursor:
        return f"{count} items; more with --all, or {PAGE_CURSOR}={outcome.cursor}"
    return f"{count} items"


def _parsed(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode("utf-8", errors="replace")


def _next_cursor(body: Any) -> str | None:
    pagination = body.get("pagination") if isinstance(body, dict) else None
    cursor = pagination.get("next") if isinstance(pagination, dict) else None
    return cursor if isinstance(cursor, str) and cursor else None
