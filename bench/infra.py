"""Processes the bench starts: system tools, nginx (upstream and proxy hop), capgate, the FastMCP peer.

Everything binds 127.0.0.1 and lives under bench/work/ (gitignored). Every process started here is
stopped by its own pid.
"""

from __future__ import annotations

import http.client
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.bodies import RUN_ID, write_bodies

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "work"
APT_PACKAGES = ("nginx", "wrk")
APT_LINE = "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends " + " ".join(
    APT_PACKAGES
)
API_KEY = "tr_dev_bench0000000000000000"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- system tools -----------------------------------------------------------------------------------------------


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


def missing_tools() -> list[str]:
    missing = []
    if nginx_binary() is None:
        missing.append("nginx")
    if shutil.which("wrk") is None:
        missing.append("wrk")
    return missing


def ensure_tools(timeout: float = 600.0) -> str | None:
    """Install nginx and wrk from Debian when missing; None when both are there, else why they can't be."""
    missing = missing_tools()
    if not missing:
        return None
    apt = shutil.which("apt-get")
    if apt is None:
        return f"{', '.join(missing)} missing and there is no apt-get; install them: {APT_LINE}"
    sudo: list[str] = []
    if os.geteuid() != 0:
        if shutil.which("sudo") is None or subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode:
            return f"{', '.join(missing)} missing and not root (no passwordless sudo); run: sudo sh -c '{APT_LINE}'"
        sudo = ["sudo", "-n"]
    log(f"installing {' '.join(APT_PACKAGES)} from Debian (apt-get)…")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    lock = ["-o", "DPkg::Lock::Timeout=300"]
    try:
        for command in (
            [*sudo, apt, *lock, "update", "-q"],
            [*sudo, apt, *lock, "install", "-y", "-q", "--no-install-recommends", *APT_PACKAGES],
        ):
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
            if done.returncode:
                return f"`{' '.join(command)}` failed ({done.returncode}): {done.stderr.strip()[-400:]}"
    except subprocess.TimeoutExpired:
        return f"apt-get did not finish within {timeout:.0f}s"
    still = missing_tools()
    return f"{', '.join(still)} still missing after apt-get" if still else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- /proc accounting --------------------------------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """`pid` and every live process below it."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()
        parents.setdefault(int(fields[1]), []).append(int(entry))
    tree, queue = [], [pid]
    while queue:
        current = queue.pop()
        tree.append(current)
        queue.extend(parents.get(current, []))
    return tree


def cpu_seconds(pids: list[int]) -> float:
    """utime+stime of these processes (all their threads), from /proc/<pid>/stat."""
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat(5))
    return ticks / CLK_TCK


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM (the peak resident set) and Pss (shared pages divided between their users) of one process,
    in KiB. Forked workers share most pages, which VmRSS counts once per process; Pss adds up."""
    values = {}
    for path, names in ((f"/proc/{pid}/status", ("VmRSS:", "VmHWM:")), (f"/proc/{pid}/smaps_rollup", ("Pss:",))):
        try:
            with open(path) as handle:
                for line in handle:
                    if line.startswith(names):
                        name, amount = line.split(":", 1)
                        values[name] = int(amount.split()[0])
        except OSError:
            pass
    return values


# --- processes ---------------------------------------------------------------------------------------------------


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    started_at: float  # perf_counter just before Popen
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def tree(self) -> list[int]:
        return descendants(self.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.tree())

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)


def spawn(name: str, command: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> Process:
    """Start `command` with stdout and stderr to bench/work/logs/<name>.log (a pipe nobody drains could block it)."""
    logs = WORK / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{name}.log"
    if env is None:
        env = dict(os.environ)
    # As a user runs it: bytecode cached (a PYTHONDONTWRITEBYTECODE in this shell would recompile every import at
    # every start; __pycache__ is gitignored).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    handle = open(log_path, "wb")  # noqa: SIM115 - the child owns it
    started = time.perf_counter()
    popen = subprocess.Popen(
        command,
        stdout=handle,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=cwd,
        start_new_session=True,
    )
    handle.close()
    return Process(name, popen, log_path, started)


def http_call(
    port: int, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None, timeout: float = 5.0
) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body or None, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_until(check: Callable[[], bool], process: Process, timeout: float, interval: float = 0.005) -> float:
    """Poll `check` every `interval` s; the seconds from the process's start to the first success."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited ({process.popen.returncode}):\n{process.log_text()[-3000:]}")
        try:
            if check():
                return time.perf_counter() - process.started_at
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(interval)
    raise RuntimeError(f"{process.name} did not answer within {timeout:.0f}s:\n{process.log_text()[-3000:]}")


# --- nginx -------------------------------------------------------------------------------------------------------

_NGINX_COMMON = """\
worker_processes 1;
daemon off;
master_process on;
{user}
pid {run}/{name}.pid;
error_log {logs}/{name}.error.log warn;
events {{ worker_connections 8192; multi_accept on; }}
http {{
  access_log off;
  server_tokens off;
  client_body_temp_path {run}/{name}-body;
  proxy_temp_path {run}/{name}-proxy;
  fastcgi_temp_path {run}/{name}-fastcgi;
  uwsgi_temp_path {run}/{name}-uwsgi;
  scgi_temp_path {run}/{name}-scgi;
  default_type application/json;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 300s;
  keepalive_requests 10000000;
{body}
}}
"""

_UPSTREAM = """\
  map $args $runs_page {{
    default runs-25.json;
    "~(^|&)page(%5B|\\[)size(%5D|\\])=100(&|$)" runs-100.json;
  }}
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    location ~ ^/api/v1/runs$ {{ alias {bodies}/$runs_page; }}
    location ~ ^/api/v3/runs/[^/]+$ {{ alias {bodies}/run.json; }}
    location ~ ^/api/v2/runs/[^/]+/cancel$ {{ return 200 '{cancel}'; }}
    location ~ ^/api/v1/runs/[^/]+/replay$ {{ return 200 '{replay}'; }}
    location ~ ^/api/v1/runs/[^/]+/reschedule$ {{ return 200 '{reschedule}'; }}
    location ~ ^/api/v1/runs/[^/]+/tags$ {{ return 200 '{tags}'; }}
    location / {{ return 404 '{{"error":"Not found"}}'; }}
  }}
"""

_HOP = """\
  upstream up {{
    server 127.0.0.1:{upstream};
    keepalive 64;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
  }}
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    location / {{ return 404; }}
    location /v1/ {{
      proxy_pass http://up/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Authorization "Bearer {key}";
      proxy_set_header x-trigger-api-version "2025-07-16";
    }}
  }}
"""


def _nginx_conf(name: str, body: str) -> Path:
    run, logs = WORK / "run", WORK / "logs"
    run.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    user = "user root;" if os.geteuid() == 0 else ""  # workers must read bench/work; they run as nobody otherwise
    path = run / f"{name}.conf"
    path.write_text(_NGINX_COMMON.format(user=user, run=run, logs=logs, name=name, body=body))
    return path


def start_nginx(name: str, body: str, port: int) -> Process:
    binary = nginx_binary()
    assert binary is not None, "call ensure_tools first"
    conf = _nginx_conf(name, body)
    check = subprocess.run([binary, "-t", "-q", "-p", str(WORK), "-c", str(conf)], capture_output=True, text=True)
    if check.returncode:
        raise RuntimeError(f"nginx config {conf} is invalid: {check.stderr}")
    process = spawn(name, [binary, "-p", str(WORK), "-c", str(conf)])
    process.ports["http"] = port

    def answers() -> bool:
        return http_call(port, "GET", "/__ready")[0] in (200, 404)

    wait_until(answers, process, 10)
    return process


def start_upstream(port: int) -> Process:
    paths = write_bodies(WORK / "bodies")
    inline = {name: paths[f"{name}.json"].read_text() for name in ("cancel", "replay", "reschedule", "tags")}
    return start_nginx("upstream", _UPSTREAM.format(port=port, bodies=WORK / "bodies", **inline), port)


def start_hop(port: int, upstream: int) -> Process:
    return start_nginx("nginx-hop", _HOP.format(port=port, upstream=upstream, key=API_KEY), port)


# --- capgate -----------------------------------------------------------------------------------------------------

READY = re.compile(r"capgate: (REST facade|MCP server) ready on (http://\S+)")


def capgate_command() -> list[str]:
    found = shutil.which("capgate")
    return [found] if found else [sys.executable, "-m", "capgate.cli"]


def capgate_help() -> str:
    done = subprocess.run([*capgate_command(), "serve", "--help"], capture_output=True, text=True, timeout=60)
    return done.stdout


UNLIMITED = "rateLimit: {burst: 1000000000, refill: 1000000000, interval: 1}"
UNLIMITED_FLAG = "1000000000/1000000000/1"
BENCH_TOKEN = "bench-token-0123456789abcdefghijklmnopqrstuv"  # an inbound token, made up for the bench


@dataclass
class CapgateSetup:
    """How the bench runs `capgate serve`: every default, plus what a user would set for this upstream."""

    document: str = "trigger-dev-runs"
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # what every call to capgate carries
    notes: list[str] = field(default_factory=list)
    help_text: str = ""


def capgate_setup() -> CapgateSetup:
    """Decided from what this capgate's `serve --help` offers, so the bench follows the product as it changes.

    - The upstream budget: the default is the live Trigger.dev one (750 burst, then 25 calls/s), which a load
      test would only measure as queueing; the static upstream has none. So `--rate-limit` (or, on a capgate
      without that flag, a `rateLimit` line in a copy of the bundled document) sets a budget that never runs
      out. The limiter still runs on every call.
    - Access control: with `--tokens-file` support, one write token (CAPGATE_TOKENS) and every call carries it,
      as a user who turns access control on would run it.
    - XDG_DATA_HOME points into bench/work, so files kept by default (the audit log) land there.
    """
    setup = CapgateSetup(help_text=capgate_help())
    setup.env = {"TRIGGER_DEV_API_KEY": API_KEY, "XDG_DATA_HOME": str(WORK / "xdg-data")}
    if "--rate-limit" in setup.help_text:
        setup.args += ["--rate-limit", UNLIMITED_FLAG]
        setup.notes.append(
            f"`--rate-limit {UNLIMITED_FLAG}` (the static upstream has no budget; the limiter runs "
            "on every call and never waits)"
        )
    else:
        setup.document, why = bench_document()
        setup.notes.append(why)
    if "--tokens-file" in setup.help_text:
        setup.env["CAPGATE_TOKENS"] = f"bench:write:{BENCH_TOKEN}"
        setup.headers["Authorization"] = f"Bearer {BENCH_TOKEN}"
        setup.notes.append("access control on: one write token in CAPGATE_TOKENS; every call sends it")
    return setup


def bench_document() -> tuple[str, str]:
    """A copy of the bundled `trigger-dev-runs` with `rateLimit` on its consumed namespace, and why.

    Falls back to the bundled document, unchanged, when this capgate has no `rateLimit`.
    """
    from importlib.resources import files

    bundled = files("capgate") / "documents" / "trigger-dev-runs.yaml"
    text = bundled.read_text(encoding="utf-8")
    declared = re.search(r"^( +)rateLimit:\n\1  burst: \d+\n\1  refill: \d+\n\1  interval: \d+\n", text, re.MULTILINE)
    if declared is not None:  # the document declares a budget already: raise it rather than add a second
        indent = declared.group(1) + "  "
        unlimited = f"{indent}burst: 1000000000\n{indent}refill: 1000000000\n{indent}interval: 1\n"
        patched = text[: declared.start()] + f"{declared.group(1)}rateLimit:\n{unlimited}" + text[declared.end() :]
    elif (match := re.search(r"^( +)baseUri: .*$", text, re.MULTILINE)) is not None:
        patched = text[: match.end()] + "\n" + match.group(1) + UNLIMITED + text[match.end() :]
    else:
        return "trigger-dev-runs", "bundled document, unchanged (no baseUri line found)"
    path = WORK / "trigger-dev-runs.bench.yaml"
    WORK.mkdir(parents=True, exist_ok=True)
    path.write_text(patched, encoding="utf-8")
    env = {**os.environ, "TRIGGER_DEV_API_KEY": API_KEY}
    done = subprocess.run(
        [*capgate_command(), "validate", str(path)], capture_output=True, text=True, env=env, timeout=60
    )
    if done.returncode:
        return "trigger-dev-runs", f"bundled document, unchanged (`{UNLIMITED}` not accepted: {done.stdout[-200:]})"
    return str(path), f"bundled trigger-dev-runs + `{UNLIMITED}` on the consumed namespace (limiter on, never empty)"


def start_capgate(
    upstream: int,
    rest: int,
    mcp: int,
    setup: CapgateSetup,
    *,
    name: str = "capgate",
    extra: list[str] | None = None,
    wait: bool = True,
) -> Process:
    """`capgate serve` as a user runs it (see `capgate_setup`), pointed at the static upstream."""
    env = {**os.environ, **setup.env}
    command = [
        *capgate_command(),
        "serve",
        setup.document,
        "--rest-port",
        str(rest),
        "--mcp-port",
        str(mcp),
        "--base-uri",
        f"management-runs=http://127.0.0.1:{upstream}",
        *setup.args,
        *(extra or []),
    ]
    process = spawn(name, command, env=env)
    process.ports.update(rest=rest, mcp=mcp)
    if wait:
        wait_until(lambda: len(READY.findall(process.log_text())) >= 2, process, 30, interval=0.01)
    return process


def start_floor(upstream: int, port: int) -> Process:
    """bench/floor_gateway.py: bare Starlette + aiohttp pass-through, the Python floor capgate is compared with."""
    process = spawn(
        "floor",
        [
            sys.executable,
            str(ROOT / "bench" / "floor_gateway.py"),
            "--upstream",
            f"http://127.0.0.1:{upstream}",
            "--port",
            str(port),
            "--key",
            API_KEY,
        ],
    )
    process.ports["http"] = port
    wait_until(lambda: _listening(port), process, 30, 0.01)
    return process


# --- framework-free floors: capgate's stack and the other servers and clients (bench/floors.py) -----------------

# name -> (server, client), each run by bench/floors.py; "floor-asgi" runs in capgate's own environment.
FLOOR_ASGI = ("uvicorn", "aiohttp")
STACKS = {
    "granian-asgi": ("granian-asgi", "aiohttp"),
    "granian-rsgi": ("granian-rsgi", "aiohttp"),
    "granian-rsgi-pyreqwest": ("granian-rsgi", "pyreqwest"),
}
STACKS_VENV = WORK / "stacks-venv"
STACKS_REQUIREMENTS = ("granian[uvloop]>=2.8,<3", "pyreqwest>=0.15,<0.16", "aiohttp>=3.14,<4", "uvloop>=0.21")


def ensure_stacks() -> tuple[str | None, dict[str, str]]:
    """bench/work/stacks-venv with Granian and pyreqwest (not capgate's dependencies): its python and the
    versions, or (None, why not) when it cannot be installed; the stack rows are skipped then."""
    python = STACKS_VENV / "bin" / "python"
    probe = [
        str(python),
        "-c",
        "import json, importlib.metadata as m; print(json.dumps({p: m.version(p) for p in ('granian', 'pyreqwest')}))",
    ]
    if not python.exists() or subprocess.run(probe, capture_output=True).returncode:
        log("creating bench/work/stacks-venv with Granian and pyreqwest (pip)…")
        (WORK / "logs").mkdir(parents=True, exist_ok=True)
        with open(WORK / "logs" / "stacks-pip.log", "w") as out:
            made = subprocess.run([sys.executable, "-m", "venv", "--clear", str(STACKS_VENV)], stdout=out, stderr=out)
            if made.returncode == 0:
                made = subprocess.run(
                    [str(python), "-m", "pip", "install", "-q", *STACKS_REQUIREMENTS], stdout=out, stderr=out
                )
        if made.returncode:
            return None, {"stacks": "not installed (see bench/work/logs/stacks-pip.log)"}
    done = subprocess.run(probe, capture_output=True, text=True)
    if done.returncode:
        return None, {"stacks": "not importable"}
    import json

    return str(python), json.loads(done.stdout)


def start_stack_floor(name: str, upstream: int, port: int, python: str | None = None) -> Process:
    """One framework-free floor of bench/floors.py: `floor-asgi` (capgate's stack) or one of STACKS."""
    server, client = STACKS.get(name, FLOOR_ASGI)
    process = spawn(
        name,
        [
            python or sys.executable,
            str(ROOT / "bench" / "floors.py"),
            "--server",
            server,
            "--client",
            client,
            "--upstream",
            f"http://127.0.0.1:{upstream}",
            "--port",
            str(port),
            "--key",
            API_KEY,
        ],
    )
    process.ports["http"] = port
    wait_until(lambda: _listening(port), process, 30, 0.01)
    return process


# --- FastMCP peer ------------------------------------------------------------------------------------------------

FASTMCP_VENV = WORK / "fastmcp-venv"
FASTMCP_REQUIREMENTS = ("fastmcp>=4.2,<5", "uvicorn[standard]>=0.54")


def fastmcp_python() -> Path:
    return FASTMCP_VENV / "bin" / "python"


def ensure_fastmcp() -> str:
    """Create bench/work/fastmcp-venv with FastMCP when absent; return the installed FastMCP version."""
    python = fastmcp_python()
    probe = [str(python), "-c", "import fastmcp, uvicorn; print(fastmcp.__version__)"]
    if python.exists():
        done = subprocess.run(probe, capture_output=True, text=True)
        if done.returncode == 0:
            return done.stdout.strip()
    log("creating bench/work/fastmcp-venv and installing FastMCP (pip)…")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(FASTMCP_VENV)], check=True)
    with open(WORK / "logs" / "fastmcp-pip.log", "w") as out:
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *FASTMCP_REQUIREMENTS],
            check=True,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return subprocess.run(probe, capture_output=True, text=True, check=True).stdout.strip()


def start_fastmcp(upstream: int, port: int, *, name: str = "fastmcp", wait: bool = True) -> Process:
    process = spawn(
        name,
        [
            str(fastmcp_python()),
            str(ROOT / "bench" / "fastmcp_peer.py"),
            "--upstream",
            f"http://127.0.0.1:{upstream}",
            "--port",
            str(port),
            "--key",
            API_KEY,
        ],
    )
    process.ports["mcp"] = port
    if wait:
        wait_until(lambda: "Uvicorn running" in process.log_text() or _listening(port), process, 60, 0.01)
    return process


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


# --- machine and versions ----------------------------------------------------------------------------------------


def machine() -> dict[str, object]:
    model = ""
    try:
        with open("/proc/cpuinfo") as handle:
            model = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), "")
    except OSError:
        pass
    memory = 0
    try:
        with open("/proc/meminfo") as handle:
            memory = int(next(line.split()[1] for line in handle if line.startswith("MemTotal")))
    except (OSError, StopIteration):
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "kernel": platform.release(),
        "memory_gib": round(memory / 1024 / 1024, 1),
        "platform": platform.platform(),
    }


def calibrate() -> float:
    """Seconds for 10 million `s += i` in this Python: how fast one core is right now (noise, throttling)."""
    started = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    return round(time.perf_counter() - started, 3)


def versions(fastmcp: str | None) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str] = {"python": platform.python_version()}
    for package in (
        "capgate",
        "uvicorn",
        "starlette",
        "aiohttp",
        "mcp",
        "orjson",
        "uvloop",
        "httptools",
        "pydantic",
        "anyio",
    ):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "absent"
    found["fastmcp"] = fastmcp or "absent"
    binary = nginx_binary()
    if binary:
        text = subprocess.run([binary, "-v"], capture_output=True, text=True).stderr
        found["nginx"] = text.strip().split("/")[-1]
    if shutil.which("wrk"):
        done = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
        match = re.search(r"wrk (\S+)", done.stdout + done.stderr)
        found["wrk"] = match.group(1) if match else "?"
    return found


def git_state() -> dict[str, str]:
    def run(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    dirty = run("status", "--porcelain", "--", "src")
    return {"commit": run("rev-parse", "--short", "HEAD"), "src_dirty": "yes" if dirty else "no"}


__all__ = ["RUN_ID"]
