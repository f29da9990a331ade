"""`capgate demo`: the Trigger.dev emulator and the gateway in one process, with a guide to try them."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import orjson

from capgate.cli.shell import EXIT_OK, Commands, command, discard_stdout
from capgate.document.bundled import DEFAULT_DOCUMENT

NAMESPACE = "management-runs"


def add(commands: Commands[argparse.ArgumentParser]) -> None:
    parser = command(
        commands,
        "demo",
        "run the Trigger.dev emulator and the gateway together, ready to try",
        "  capgate demo\n  capgate demo --rest-port 8081 --mcp-port 9091",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--rest-port", type=int, default=8080, metavar="N", help="REST port (default: %(default)s)")
    parser.add_argument("--mcp-port", type=int, default=9090, metavar="N", help="MCP port (default: %(default)s)")
    parser.add_argument(
        "--emulator-port", type=int, default=3030, metavar="N", help="emulator port (default: %(default)s)"
    )
    parser.add_argument("--db", metavar="PATH", help="emulator database (default: a file in the user data folder)")
    parser.set_defaults(handler=run)


def run(options: argparse.Namespace) -> int:
    from capgate.serve.server import run_on_uvloop

    run_on_uvloop(_demo(options))
    return EXIT_OK


async def _demo(options: argparse.Namespace) -> None:
    # The server stack loads when the demo runs, not when `capgate` builds its parser; the emulator is another
    # package, which the runtime only meets here.
    from capgate.serve.config import ServeConfig
    from capgate.serve.http_server import HttpServer
    from capgate.serve.server import announce_on_stderr, serve
    from capgate.serve.sockets import listen
    from trigger_emulator.app import create_app
    from trigger_emulator.config import DEFAULT_API_KEY, EmulatorConfig

    sock = listen(options.host, options.emulator_port, "--emulator-port")
    host, port = sock.getsockname()[:2]
    emulator_config = EmulatorConfig(host=host, port=port, db=options.db, simulate=True)
    emulator = HttpServer(create_app(emulator_config))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    emulator_task = asyncio.create_task(emulator.serve(sock))
    try:
        while not emulator.started:
            if emulator_task.done():
                emulator_task.result()
                return
            await asyncio.sleep(0.005)
        emulator_url = f"http://{_shown(host)}:{port}"
        announce_on_stderr(f"capgate: Trigger.dev emulator ready on {emulator_url} (simulating runs)")
        config = ServeConfig(
            documents=(DEFAULT_DOCUMENT,),
            host=options.host,
            rest_port=options.rest_port,
            mcp_port=options.mcp_port,
            base_uris={NAMESPACE: emulator_url},
            environ={**os.environ, "TRIGGER_DEV_API_KEY": DEFAULT_API_KEY},
        )
        ready: dict[str, str] = {}
        guide: list[asyncio.Task[None]] = []

        def announce(line: str) -> None:
            announce_on_stderr(line)
            match = re.search(r"capgate: (REST facade|MCP server) ready on (\S+)", line)
            if match:
                ready[match.group(1)] = match.group(2)
            if len(ready) == 2 and not guide:
                guide.append(
                    asyncio.create_task(
                        _print_guide(ready["REST facade"], ready["MCP server"], emulator_url, emulator_config.db_path)
                    )
                )

        await serve(config, announce, stop)
    finally:
        emulator.stop()
        await emulator_task
        sock.close()
    if stop.is_set():  # Ctrl-C or SIGTERM, not a failure (that raised above)
        print(_farewell(ready, emulator_url, emulator_config.db_path, config.hardening.audit_log), file=sys.stderr)


def _farewell(ready: dict[str, str], emulator: str, db: str, audit: Path | None) -> str:
    """What stopped, and where what the demo wrote stays: someone who tried it wants to know what is left."""
    served = ", ".join(f"{name} {url}" for name, url in ready.items())
    lines = [
        f"capgate demo: stopped the gateway ({served or 'not yet serving'}) and the Trigger.dev emulator ({emulator}).",
        "  The emulator's runs were kept in memory only: they are gone."
        if db == ":memory:"
        else f"  The emulator's runs stay in {db}: the next `capgate demo` starts from them (delete the file "
        "to start afresh, or pass --db PATH).",
    ]
    if audit is not None:
        lines.append(f"  The audit log of calls that changed runs stays in {audit} (`capgate audit` prints it).")
    return "\n".join(lines)


async def _print_guide(rest: str, mcp: str, emulator: str, db: str) -> None:
    """Print ready-to-paste commands, using a real run id fetched through the gateway itself."""
    import aiohttp

    list_url = f"{rest}/v1/api/v1/runs?page[size]=3&filter[status]=COMPLETED"
    run_id = "run_..."
    warning = ""
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{rest}/v1/api/v1/runs", params={"page[size]": "1"}) as response,
        ):
            page = orjson.loads(await response.read())
        run_id = page["data"][0]["id"] if page.get("data") else run_id
    except (aiohttp.ClientError, ValueError, KeyError):
        warning = "  (the first call through the gateway failed; see the log above)\n"
    guide = (
        "\ncapgate demo: the gateway is serving a Trigger.dev emulator, no account and no network needed.\n"
        f"{warning}\n"
        f"  REST facade   {rest}/v1\n"
        f"  MCP server    {mcp}\n"
        f"  emulator      {emulator}   (data: {db})\n\n"
        "Try the REST facade:\n"
        f"  curl -g '{list_url}'\n"
        f"  curl {rest}/v1/api/v3/runs/{run_id}\n\n"
        "Connect an MCP client, e.g. Claude Code:\n"
        f"  claude mcp add --transport http trigger-dev-runs {mcp}\n"
        "or in a client's JSON configuration (Cursor and others):\n"
        f'  {{"mcpServers": {{"trigger-dev-runs": {{"url": "{mcp}"}}}}}}\n\n'
        "Press Ctrl+C to stop."
    )
    try:
        print(guide, flush=True)
    except BrokenPipeError:  # `capgate demo | head`: the guide's reader went away; the demo serves on
        discard_stdout()


def _shown(host: str) -> str:
    return f"[{host}]" if ":" in host else host
