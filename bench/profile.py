"""Where capgate's time goes per call: py-spy samples of `capgate serve` under wrk load, summarised.

    python -m bench.profile                       # every scenario below, 8 s each at c=32
    python -m bench.profile --scenario mcp-list-25 --seconds 10 --concurrency 1

For each scenario it writes bench/work/profiles/<scenario>-c<N>.txt (collapsed stacks: open them in speedscope or
flamegraph.pl) and prints, converted to µs of CPU per call with the CPU/call measured from /proc in the
same run: self time by package (and by capgate module), the top frames by self time, and the inclusive time
of the functions on the path. `py-spy` is installed with pip when missing.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench import infra
from bench.load import Request, lua_script, mcp_call, run_wrk
from bench.suite import ERAS

PROFILES = infra.WORK / "profiles"


def scenarios(headers: dict[str, str] | None = None) -> dict[str, tuple[str, Request]]:
    from bench.suite import scenarios as all_targets

    found: dict[str, tuple[str, Request]] = {}
    for target in all_targets(workers=False, capgate_headers=headers):
        if target.server != "capgate":
            continue
        name = target.scenario.replace(f"/{ERAS[0]}", "").replace(f"/{ERAS[1]}", "-2026")
        found[name] = (target.port_of.split(":")[1], target.request)
    return found


def ensure_py_spy() -> str:
    found = shutil.which("py-spy")
    if found:
        return found
    infra.log("installing py-spy (pip)…")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "py-spy"], check=True)
    found = shutil.which("py-spy")
    if not found:
        raise SystemExit("bench: py-spy was installed but is not on PATH")
    return found


@dataclass
class Profile:
    name: str
    stacks: list[tuple[list[str], int]]
    rate: int
    seconds: float
    cpu_us_per_call: float
    calls: int

    @property
    def samples(self) -> int:
        return sum(n for _, n in self.stacks)

    def us(self, count: int) -> float:
        """Samples -> µs of CPU per call."""
        return self.cpu_us_per_call * count / max(self.samples, 1)


def _file(frame: str) -> str:
    match = re.search(r"\(([^()]*?):\d+\)$", frame)
    return match.group(1) if match else frame


def _module_of(frame: str) -> str:
    """A frame's package (`aiohttp`), or its capgate module (`capgate/consumes/resilience.py`)."""
    file = _file(frame)
    if file.startswith("capgate/"):
        return file
    if "/" not in file:
        if file.endswith(".py") and file[:-3] in (
            "resilience",
            "client",
            "operation",
            "limiter",
            "breaker",
            "_schema",
            "_path",
            "_binds",
        ):
            return "capgate/consumes/" + file  # py-spy shortens paths it cannot place under site-packages
        return file or "(native / event loop)"
    return file.split("/")[0]


def _function(frame: str) -> str:
    return re.sub(r":\d+\)$", ")", frame)


# (layer, test on one frame), tried from the innermost frame outwards: the first frame that matches names the layer.
# `Runner.run` is the outermost Python frame of the event loop: a sample whose innermost frame is there is uvloop's
# C code (epoll, socket reads and writes, callbacks), not capgate's.
LAYERS: list[tuple[str, Callable[[str, str], bool]]] = [
    ("event loop: uvloop C code (epoll, socket syscalls)", lambda f, m: f.startswith("Runner.run (")),
    (
        "pydantic: serialise (model_dump / dump_python / model_dump_json)",
        lambda f, m: m == "pydantic" and any(x in f for x in ("model_dump", "dump_python", "dump_json")),
    ),
    ("pydantic: validate (model_validate / validate_python / __init__)", lambda f, m: m == "pydantic"),
    ("capgate: check_body (orjson.loads of every JSON answer)", lambda f, m: f.startswith("check_body ")),
    ("capgate: MCP structuredContent parse (orjson.loads again)", lambda f, m: f.startswith("_object_or_none ")),
    ("aiohttp (upstream client)", lambda f, m: m in ("aiohttp", "yarl", "multidict", "propcache") or "aiohttp" in f),
    ("capgate: audit log (entry, write + fsync through asyncio.to_thread)", lambda f, m: m == "capgate/audit.py"),
    (
        "capgate: access log (logging, JSON formatter, redaction, stderr write)",
        lambda f, m: m in ("capgate/logs.py", "logging") or f.startswith("log_access "),
    ),
    (
        "capgate: metrics / tracing / observers",
        lambda f, m: (
            m
            in ("capgate/metrics.py", "capgate/tracing.py", "capgate/observe.py", "prometheus_client", "opentelemetry")
        ),
    ),
    ("capgate: resilience / limiter / breaker", lambda f, m: m.endswith(("resilience.py", "limiter.py", "breaker.py"))),
    ("capgate: REST/MCP adapters, binding, operation, validation", lambda f, m: m.startswith("capgate/")),
    ("mcp SDK (transport, session, dispatcher, runner)", lambda f, m: m in ("mcp", "mcp_types", "sse_starlette")),
    ("anyio (task groups, memory streams)", lambda f, m: m in ("anyio", "sniffio")),
    ("starlette (routing, Request, Response, middleware)", lambda f, m: m == "starlette"),
    ("uvicorn + httptools (HTTP server)", lambda f, m: m == "uvicorn"),
]


def layer_of(frames: list[str]) -> str:
    for frame in reversed(frames):
        module = _module_of(frame)
        for name, test in LAYERS:
            if test(frame, module):
                return name
    return "other (stdlib outside any layer)"


# Innermost frames of threads that are parked, not working: py-spy's --nonblocking idle detection misses
# threads waiting on a lock (the executor thread `asyncio.to_thread` keeps), so they are dropped here.
IDLE_FRAMES = re.compile(
    r"^(_worker \(concurrent/futures/thread\.py:\d+\)|\w*\.?wait \(threading\.py:\d+\)"
    r"|Condition\.wait|Event\.wait \(threading|_wait_for_tstate_lock"
    r"|_write_batches \(capgate/audit\.py:\d+\))"
)  # the audit writer parked on its queue


def load_profile(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        stack, count = line.rsplit(" ", 1)
        frames = stack.split(";")
        if IDLE_FRAMES.match(frames[-1]):
            continue
        stacks.append((frames, int(count)))
    return stacks


def summary(profile: Profile, top: int = 25) -> str:
    own: collections.Counter[str] = collections.Counter()
    by_frame: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    for frames, count in profile.stacks:
        own[_module_of(frames[-1])] += count
        by_frame[frames[-1]] += count
        for function in {_function(f) for f in frames}:
            inclusive[function] += count
    busy = profile.samples / (profile.rate * profile.seconds)
    lines = [
        f"### {profile.name}: {profile.cpu_us_per_call:,.0f} µs CPU per call "
        f"(CPU of {profile.calls:,} calls under wrk; {profile.samples:,} py-spy samples, process busy {busy:.0%} "
        "of one core while sampled)",
        "",
        "| self time by package / capgate module | µs/call | share |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {profile.us(n):,.0f} | {n / profile.samples:.1%} |" for name, n in own.most_common(top)]
    layers: collections.Counter[str] = collections.Counter()
    for frames, count in profile.stacks:
        layers[layer_of(frames)] += count
    lines += ["", "| layer (innermost matching frame) | µs/call | share |", "|---|---|---|"]
    lines += [f"| {name} | {profile.us(n):,.0f} | {n / profile.samples:.1%} |" for name, n in layers.most_common()]
    lines += ["", "| top frames by self time | µs/call | share |", "|---|---|---|"]
    lines += [
        f"| `{name}` | {profile.us(n):,.0f} | {n / profile.samples:.1%} |" for name, n in by_frame.most_common(top)
    ]
    lines += ["", "| inclusive (function and everything it calls) | µs/call | share |", "|---|---|---|"]
    lines += [
        f"| `{name}` | {profile.us(n):,.0f} | {n / profile.samples:.1%} |"
        for name, n in inclusive.most_common(top + 20)
        if not name.startswith(("<module>", "main (", "_serve (", "run (capgate/server"))
    ]
    return "\n".join(lines) + "\n"


def record(
    name: str,
    port_name: str,
    request: Request,
    *,
    seconds: float,
    concurrency: int,
    rate: int,
    capgate: infra.Process,
    py_spy: str,
) -> Profile:
    PROFILES.mkdir(parents=True, exist_ok=True)
    port = capgate.ports[port_name]
    run_wrk(port, request, f"profile-{name}", concurrency, 2, check=True)  # warm-up, every answer checked
    script = lua_script(f"profile-{name}", request, check=False)
    total = seconds + 3
    cpu0 = capgate.cpu()
    wrk = subprocess.Popen(
        [
            "wrk",
            "-t1",
            f"-c{concurrency}",
            f"-d{total:.0f}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}{request.path}",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1)
        output = PROFILES / f"{name}-c{concurrency}.txt"
        spy = subprocess.run(
            [
                py_spy,
                "record",
                "--pid",
                str(capgate.pid),
                "--duration",
                f"{seconds:.0f}",
                "--rate",
                str(rate),
                "--nonblocking",
                "--format",
                "raw",
                "-o",
                str(output),
            ],
            capture_output=True,
            text=True,
        )
        stdout, _ = wrk.communicate(timeout=total + 30)
        cpu1 = capgate.cpu()  # over the whole wrk run: CPU per call from all of its calls
    finally:
        if wrk.poll() is None:
            wrk.kill()
            wrk.wait()
    if spy.returncode:
        raise SystemExit(f"bench: py-spy failed: {spy.stderr[-800:]}")
    data = next(line for line in stdout.splitlines() if line.startswith("BENCHJSON "))
    result = json.loads(data.split(" ", 1)[1])
    calls = int(result["requests"])
    cpu_us = (cpu1 - cpu0) * 1e6 / max(calls, 1)
    output.with_suffix(".json").write_text(
        json.dumps(
            {"rate": rate, "seconds": seconds, "cpu_us_per_call": cpu_us, "calls": calls, "concurrency": concurrency}
        )
    )
    return Profile(f"{name} c={concurrency}", load_profile(output), rate, seconds, cpu_us, calls)


def startup_imports(setup: infra.CapgateSetup, upstream: int, top: int = 25) -> str:
    """`capgate serve` under `python -X importtime` until REST answers: where start-up time goes."""
    rest, mcp = infra.free_port(), infra.free_port()
    command = infra.capgate_command()
    if command[0] == sys.executable:
        command = [sys.executable, "-X", "importtime", *command[1:]]
    else:
        command = [sys.executable, "-X", "importtime", command[0]]
    env = {**os.environ, **setup.env}
    process = infra.spawn(
        "capgate-importtime",
        [
            *command,
            "serve",
            setup.document,
            "--rest-port",
            str(rest),
            "--mcp-port",
            str(mcp),
            "--base-uri",
            f"management-runs=http://127.0.0.1:{upstream}",
            *setup.args,
        ],
        env=env,
    )
    call = Request("GET", "/v1/api/v1/runs", headers=setup.headers, markers=('"data":[',))
    try:
        first = infra.wait_until(lambda: call.probe(rest) is None, process, 60)
    finally:
        process.stop()
    rows = []
    for line in process.log_text().splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            rows.append((int(match.group(2)), int(match.group(1)), len(match.group(3)) // 2, match.group(4)))
    total = sum(r[1] for r in rows)
    lines = [
        f"### start-up: first REST answer {first:.2f} s after Popen (under -X importtime, which adds a little); "
        f"{total / 1e6:.2f} s of it in imports ({len(rows)} modules)",
        "",
        "| module (depth) | cumulative ms | self ms |",
        "|---|---|---|",
    ]
    for cumulative, own, depth, name in sorted(rows, reverse=True)[:top]:
        lines.append(f"| {'·' * depth}{name} ({depth}) | {cumulative / 1000:,.0f} | {own / 1000:,.0f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    known = scenarios()  # for the choices; rebuilt with the inbound token below
    parser = argparse.ArgumentParser(
        prog="python -m bench.profile", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", action="append", choices=sorted(known), help="default: a representative set")
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--out", type=Path, default=PROFILES / "summary.md")
    parser.add_argument(
        "--startup",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also break start-up down by import (python -X importtime)",
    )
    options = parser.parse_args(argv)
    chosen = options.scenario or [
        "rest-list-25",
        "rest-cancel",
        "rest-list-100",
        "mcp-list-25",
        "mcp-list-25-2026",
        "mcp-list-100",
    ]
    problem = infra.ensure_tools()
    if problem:
        raise SystemExit(f"bench: {problem}")
    py_spy = ensure_py_spy()
    setup = infra.capgate_setup()
    known = scenarios(setup.headers)
    upstream_port = infra.free_port()
    upstream = infra.start_upstream(upstream_port)
    capgate = infra.start_capgate(upstream_port, infra.free_port(), infra.free_port(), setup, name="capgate-profile")
    parts = [
        f"# py-spy summary ({time.strftime('%Y-%m-%d %H:%M')}, c={options.concurrency}, "
        f"{options.seconds:g} s per scenario, {options.rate} Hz; capgate: {'; '.join(setup.notes)})",
        "",
    ]
    try:
        if options.startup:
            text = startup_imports(setup, upstream_port)
            print(text, flush=True)
            parts.append(text)
        for name in chosen:
            port_name, request = known[name]
            profile = record(
                name,
                port_name,
                request,
                seconds=options.seconds,
                concurrency=options.concurrency,
                rate=options.rate,
                capgate=capgate,
                py_spy=py_spy,
            )
            text = summary(profile)
            print(text, flush=True)
            parts.append(text)
    finally:
        capgate.stop()
        upstream.stop()
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text("\n".join(parts))
    infra.log(f"wrote {options.out} and the collapsed stacks in {PROFILES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["mcp_call"]
