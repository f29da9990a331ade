"""Run `capgate.serve.server.serve` in a background thread, as `capgate serve` would, and hand back its URLs."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from capgate.serve.config import ServeConfig
from capgate.serve.server import serve

TEST_KEY = "tr_dev_canaryCANARYcanary000001"  # a canary: it must never appear in any output a test captures
RUN = "run_cm1abc0def0ghi0jkl0mno0pq"  # a run id of the live service's shape


@dataclass
class Running:
    rest: str  # base URL of the REST facade
    mcp: str  # URL of the MCP endpoint (…/mcp)
    lines: list[str]


@contextmanager
def running_gateway(
    config: ServeConfig, timeout: float = 15.0, loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None
) -> Iterator[Running]:
    """Serve `config` on loopback (ports 0 unless given) until the block ends, on asyncio's own event loop
    unless `loop_factory` makes another (`uvloop.new_event_loop`, as `capgate serve` runs)."""
    lines: list[str] = []
    ready = threading.Event()
    failure: list[BaseException] = []
    holder: dict[str, object] = {}

    def announce(line: str) -> None:
        lines.append(line)
        if sum("ready on" in text for text in lines) >= 2:
            ready.set()

    def run() -> None:
        stop = asyncio.Event()
        # A Runner cancels what is still pending when the loop closes (as `capgate serve`'s does): a task
        # destroyed pending would be logged as an error into whatever test runs next in this process.
        try:
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                holder["loop"], holder["stop"] = runner.get_loop(), stop
                runner.run(serve(config, announce, stop))
        except BaseException as exc:
            failure.append(exc)
        finally:
            ready.set()

    thread = threading.Thread(target=run, name="gateway", daemon=True)
    thread.start()
    ready.wait(timeout)
    if failure:
        raise failure[0]
    urls = [re.search(r"ready on (\S+)", line).group(1) for line in lines]  # type: ignore[union-attr]
    try:
        yield Running(rest=urls[0], mcp=urls[1], lines=lines)
    finally:
        loop, stop = holder["loop"], holder["stop"]
        loop.call_soon_threadsafe(stop.set)  # type: ignore[attr-defined]
        thread.join(timeout)


def gateway_config(document: str, upstream_url: str, **overrides: object) -> ServeConfig:
    """A ServeConfig on free loopback ports, its namespace pointed at `upstream_url`, the canary key bound."""
    settings: dict[str, object] = {
        "documents": (document,),
        "rest_port": 0,
        "mcp_port": 0,
        "base_uris": {"management-runs": upstream_url},
        "environ": {"TRIGGER_DEV_API_KEY": TEST_KEY},
    }
    settings.update(overrides)
    return ServeConfig(**settings)  # type: ignore[arg-type]
