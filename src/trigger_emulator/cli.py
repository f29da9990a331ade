"""The `trigger-emulator` command (`python -m trigger_emulator`, `capgate emulate`): flags in, uvicorn out."""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from types import FrameType

import uvicorn

from trigger_emulator.app import create_app
from trigger_emulator.config import DEFAULT_API_KEY, DEFAULT_HOST, DEFAULT_PORT, EmulatorConfig

USAGE_ERROR = 2
STARTUP_FAILURE = 3

_EXAMPLES = f"""
examples:
  python -m trigger_emulator                        serve on http://127.0.0.1:3030 with seed data
  python -m trigger_emulator --port 0 --db :memory: a free port and a throwaway database
  python -m trigger_emulator --simulate --tick 0.5  triggered runs move along every half second
  python -m trigger_emulator --api-key tr_dev_aaaaaaaaaaaaaaaaaaaaaaaa --api-key tr_prod_bbbbbbbbbbbbbbbbbbbbbbbb
                                                    two keys, two isolated environments
  python -m trigger_emulator --test-controls        enable the /_emulator/ fault-injection API

then, e.g.:
  curl -H "Authorization: Bearer {DEFAULT_API_KEY}" \\
       -H "x-trigger-api-version: 2025-07-16" "http://127.0.0.1:3030/api/v1/runs?page[size]=5"
"""


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Show defaults, except the uninformative ones (flags off, values that have their own text)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False):
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    """The command's arguments, with defaults shown in `--help`."""
    parser = argparse.ArgumentParser(
        prog="trigger-emulator",
        description="An emulator of the Trigger.dev runs API (list, retrieve, cancel, replay, reschedule, tags, "
        "trigger) on your machine, with no account and no network.",
        epilog=_EXAMPLES,
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="interface to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to listen on; 0 picks a free one")
    parser.add_argument(
        "--db", metavar="PATH", help="SQLite file (default: $XDG_DATA_HOME/capgate/trigger-emulator.db); :memory: ok"
    )
    parser.add_argument(
        "--api-key",
        metavar="KEY",
        action="append",
        dest="api_keys",
        help=f"accepted secret key, each its own environment; repeatable (default: {DEFAULT_API_KEY})",
    )
    parser.add_argument("--simulate", action="store_true", help="move triggered runs through their lifecycle")
    parser.add_argument("--tick", type=float, default=1.0, help="seconds per simulation step")
    parser.add_argument("--seed", type=int, default=1, help="seed for the generated data set")
    parser.add_argument("--empty", action="store_true", help="start new environments without seed runs")
    parser.add_argument("--test-controls", action="store_true", help="enable the /_emulator/ test-control API")
    parser.add_argument("--rate-limit-max", type=int, default=750, help="token bucket size per key")
    parser.add_argument("--rate-limit-refill", type=int, default=250, help="tokens added per interval")
    parser.add_argument("--rate-limit-interval", type=float, default=10.0, help="refill interval in seconds")
    parser.add_argument(
        "--retry-not-found",
        action="store_true",
        help="send x-should-retry: true on 404s of retrieve, trace and events, as live (the SDK then retries ~9 s)",
    )
    return parser


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    """The configuration the parsed flags describe; raises ValueError for inconsistent values."""
    return EmulatorConfig(
        host=args.host,
        port=args.port,
        db=args.db,
        api_keys=tuple(args.api_keys or (DEFAULT_API_KEY,)),
        simulate=args.simulate,
        seed=args.seed,
        empty=args.empty,
        test_controls=args.test_controls,
        rate_limit_max=args.rate_limit_max,
        rate_limit_refill=args.rate_limit_refill,
        rate_limit_interval_s=args.rate_limit_interval,
        retry_not_found=args.retry_not_found,
        tick_s=args.tick,
    )


class _Server(uvicorn.Server):
    """uvicorn, plus the ready line once listening and a plain exit (no re-raised signal) after shutdown."""

    def __init__(self, config: uvicorn.Config, ready_url: str) -> None:
        super().__init__(config)
        self.ready_url = ready_url

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            print(f"trigger-emulator: ready on {self.ready_url}", file=sys.stderr, flush=True)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        # uvicorn re-raises captured signals after shutting down; the emulator has shut down cleanly by then
        # and exits 0 instead of dying of the signal.
        self._captured_signals.clear()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say they are TCP (accepted sockets
    # inherit it); without it each keep-alive answer waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def main(argv: list[str] | None = None) -> int:
    """Run the emulator until SIGINT/SIGTERM; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        config = config_from_args(args)
    except SystemExit as exc:  # --help, or a flag argparse refused (it has printed why)
        return exc.code if isinstance(exc.code, int) else USAGE_ERROR
    except ValueError as exc:
        print(f"trigger-emulator: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    try:
        sock = _bind(config.host, config.port)
    except OSError as exc:
        print(f"trigger-emulator: error: cannot listen on {config.host}:{config.port}: {exc}", file=sys.stderr)
        return STARTUP_FAILURE
    host = f"[{config.host}]" if ":" in config.host else config.host
    url = f"http://{host}:{sock.getsockname()[1]}"
    server_config = uvicorn.Config(create_app(config), log_level="warning", access_log=False, lifespan="on")
    server = _Server(server_config, url)
    try:
        asyncio.run(server.serve(sockets=[sock]))
    except SystemExit as exc:  # uvicorn exits this way when the lifespan fails to start
        return exc.code if isinstance(exc.code, int) else STARTUP_FAILURE
    finally:
        sock.close()
    return 0 if server.started else STARTUP_FAILURE
