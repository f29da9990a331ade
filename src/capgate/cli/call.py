"""`capgate call`: run one tool of a document from the shell, through the binding the MCP adapter uses.

Arguments are `name=value`, named as the tool's input schema names them (`filter.status`) or in the
document's bracket form (`filter[status]`); a repeated name makes a list. Values are JSON when they parse
as JSON (`page.size=5`, `body={"tags":["a"]}`) and text otherwise, and always text for string inputs.
`--all` follows the cursor the operation's `pagination` declares (a capgate extension, docs/format.md): from
where `next` says in each answer, into the tool's input that feeds `nextInput`, until there is none.
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
from capgate.cli.shell import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Commands,
    add_allow_private_upstream,
    add_base_uri,
    base_uris,
    command,
)
from capgate.cli.terminal import Progress, painter, terminal_width
from capgate.core.errors import ArgumentError, ConfigurationError, UpstreamError
from capgate.core.http import SAFE_METHODS
from capgate.document.bundled import DEFAULT_DOCUMENT
from capgate.document.member_paths import MemberPath, parse_member_path
from capgate.document.references import input_key, property_name
from capgate.observe.audit import AuditLog, default_audit_path
from capgate.observe.records import CallRecord

if TYPE_CHECKING:  # imported when the command runs: the MCP SDK takes half a second
    from capgate.exposes.mcp.server import McpTarget
    from capgate.gateway.assembly import Gateway


@dataclass(frozen=True)
class CallRequest:
    """What `capgate call` was asked for."""

    documents: tuple[str, ...]
    tool: str
    assignments: list[str] = field(default_factory=list)
    base_uris: dict[str, str] = field(default_factory=dict)
    allowed_private: frozenset[str] = frozenset()  # --allow-private-upstream
    as_json: bool = False
    all_pages: bool = False
    wide: bool = False


@dataclass(frozen=True)
class Outcome:
    """The last answer (or, with --all, every page's items), parsed when it is JSON."""

    status: int
    body: Any
    pages: int = 1
    cursor: str | None = None  # the next page's cursor, as the last page gave it


@dataclass(frozen=True)
class Paging:
    """How `--all` pages through a tool: where an answer holds the next cursor and its items, and the tool's
    input that takes the cursor."""

    next: MemberPath
    items: MemberPath | None
    cursor_input: str  # the tool's input key that feeds the operation's `nextInput`
    cursor_name: str  # the same input as `capgate tools` shows it (`page.after`)


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
        dest="documents",
        action="append",
        metavar="DOC",
        help=f"a document path, a bundled name or a folder (default: {DEFAULT_DOCUMENT}); repeat it to call a "
        "tool of documents served together",
    )
    parser.add_argument("--json", action="store_true", help="print the answer as JSON, even on a terminal")
    parser.add_argument(
        "--wide",
        action="store_true",
        help="on a terminal, show every column whole instead of fitting the window (identifiers are never cut)",
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="follow the next-page cursor the operation's `pagination` declares through every page (a progress "
        "line on stderr)",
    )
    add_base_uri(parser, "send a consumed namespace's calls to another URL, as for serve; repeatable")
    add_allow_private_upstream(parser)
    parser.set_defaults(handler=run)


def run(options: argparse.Namespace) -> int:
    request = CallRequest(
        tuple(options.documents or [DEFAULT_DOCUMENT]),
        options.tool,
        options.arguments,
        base_uris(options.base_uri),
        allowed_private=frozenset(options.allow_private_upstream),
        as_json=options.json,
        all_pages=options.all,
        wide=options.wide,
    )
    return run_call(request, stdout=sys.stdout, stderr=sys.stderr)


def run_call(request: CallRequest, *, stdout: TextIO, stderr: TextIO, environ: Mapping[str, str] | None = None) -> int:
    """Call the tool once (or once per page), print the answer; the exit code says how it went."""
    from capgate.consumes.client import ClientSettings
    from capgate.gateway.assembly import load_gateway

    settings = ClientSettings(allowed_private=request.allowed_private)
    gateway = load_gateway(*request.documents, base_uris=request.base_uris, environ=environ, client_settings=settings)
    target = find_target(gateway, request.tool)
    arguments = parse_arguments(request.assignments, target)
    paging = paging_of(target, required=request.all_pages)
    try:
        outcome = asyncio.run(_fetch(gateway, target, arguments, paging, request.all_pages, Progress(stderr)))
    except ArgumentError as exc:
        print(f"capgate: invalid arguments, nothing was sent upstream: {exc}", file=stderr)
        return EXIT_USAGE
    except UpstreamError as exc:
        print(f"capgate: {request.tool}: {exc.title}: {exc.method} {exc.url}: {exc.reason}", file=stderr)
        return EXIT_FAILED
    _print(outcome, request, paging, stdout, stderr)
    return EXIT_OK if outcome.status < 400 else EXIT_FAILED


def paging_of(target: McpTarget, *, required: bool) -> Paging | None:
    """How the tool pages, from its operation's `pagination`; None when it declares none. With `required`
    (`--all`), a tool that cannot page is a ConfigurationError saying why."""
    operation = target.binding.operation
    pagination = operation.spec.pagination if operation is not None else None
    tool = target.tool.name
    if operation is None or pagination is None:
        if required:
            raise ConfigurationError(
                f"--all follows the cursor an operation's `pagination` declares (docs/format.md), and {tool} calls "
                f"{target.binding.operation_name}, which declares none; call it without --all"
            )
        return None
    wanted = input_key(pagination.next_input)
    fed = [input_key(name) for name, parameter in target.binding.inputs() if parameter.key == wanted]
    cursor = next((key for key in fed if key in target.input_keys), None)
    if cursor is None:
        if required:
            raise ConfigurationError(
                f"--all: {operation.name} takes the next page's cursor in {pagination.next_input}, and {tool} has no "
                "input that feeds it; call it without --all"
            )
        return None
    shown = next(advertised for advertised, key in target.properties.items() if key == cursor)
    items = parse_member_path(pagination.items) if pagination.items else None
    return Paging(parse_member_path(pagination.next), items, cursor, shown)


def find_target(gateway: Gateway, name: str) -> McpTarget:
    targets = {tool: target for adapter in gateway.mcp for tool, target in adapter.targets.items()}
    if not targets:
        raise ConfigurationError("no MCP tools are exposed, so there is nothing to call")
    if name not in targets:
        raise ConfigurationError(f"unknown tool {name!r}; there are: {', '.join(targets)} (`capgate tools` lists them)")
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
    gateway: Gateway,
    target: McpTarget,
    arguments: dict[str, Any],
    paging: Paging | None,
    all_pages: bool,
    progress: Progress,
) -> Outcome:
    """One call, or with `all_pages` one per page until the last: the pages' items as one page holds them
    (or, with no `items` declared, the list of the pages)."""
    name = target.tool.name
    audit = _audit_log(gateway, target)
    await gateway.open()
    try:
        collected: list[Any] = []
        seen: set[str] = set()
        pages = 0
        while True:
            # The upstream's answer as it came: the shell shows it as a table, or prints its JSON for scripts.
            record = CallRecord("cli", name)
            result = await target.binding.invoke(arguments.get, record, display=property_name, mapped=False)
            pages += 1
            body = _parsed(result.body)
            cursor = _cursor(paging.next.find(body)) if paging is not None else None
            if not all_pages or result.status >= 400:
                return Outcome(result.status, body, pages, cursor)
            assert paging is not None, "paging_of(required=True) refused the call otherwise"
            if paging.items is None:
                collected.append(body)
                progress.update(f"{name}: {pages} page(s)…")
            else:
                found = paging.items.find(body)
                collected += found if isinstance(found, list) else []
                progress.update(f"{name}: {pages} page(s), {len(collected)} items…")
            if not cursor or cursor in seen:  # a repeated cursor would loop forever
                combined = collected if paging.items is None else paging.items.place(collected)
                return Outcome(result.status, combined, pages)
            seen.add(cursor)
            arguments = {**arguments, paging.cursor_input: cursor}
    finally:
        progress.done()
        await gateway.close()
        if audit is not None:
            await audit.close()


def _audit_log(gateway: Gateway, target: McpTarget) -> AuditLog | None:
    """A shell's cancel or replay changes production as much as a served one: it goes to the same audit log."""
    if target.binding.method in SAFE_METHODS:
        return None
    audit = AuditLog(default_audit_path())
    audit.open()
    audit.watch(gateway.operations)
    gateway.observers.add(audit.finished, sending=audit.sending)
    return audit


def _print(outcome: Outcome, request: CallRequest, paging: Paging | None, stdout: TextIO, stderr: TextIO) -> None:
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
    print(render(outcome.body, width=None if request.wide else width, paint=paint), file=stdout)
    items = items_of(outcome.body)
    if items is not None and not failed:
        print(paint(_footer(len(items), outcome, request, paging), "dim"), file=stdout)


def _footer(count: int, outcome: Outcome, request: CallRequest, paging: Paging | None) -> str:
    if request.all_pages:
        return f"{count} items from {outcome.pages} page(s)"
    if outcome.cursor and paging is not None:
        return f"{count} items; more with --all, or {paging.cursor_name}={outcome.cursor}"
    return f"{count} items"


def _parsed(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode("utf-8", errors="replace")


def _cursor(value: Any) -> str | None:
    """A cursor found in an answer, as the next call sends it; None when there is no next page."""
    if isinstance(value, bool) or value is None or value == "":
        return None
    return str(value) if isinstance(value, (str, int)) else None
