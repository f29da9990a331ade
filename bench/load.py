"""The requests the bench sends, their wrk Lua scripts (generated, one source of truth), and wrk runs.

Each scenario's script is also run once with a `response()` hook that checks every answer is a 200 carrying
a real result (a marker string that only a successful body contains) and no error marker; that pass is the
warm-up, so the measured runs carry no per-response Lua cost.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from bench.infra import WORK, http_call

MCP_ACCEPT = "application/json, text/event-stream"
META_2026 = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}


@dataclass(frozen=True)
class Request:
    """One HTTP request as wrk sends it, and how to tell that its answer is a real result."""

    method: str
    path: str
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    markers: tuple[str, ...] = ()  # every one must be in a good body
    errors: tuple[str, ...] = ()  # none may be

    def judge(self, status: int, body: bytes) -> str | None:
        """None when the answer is good, else why not."""
        text = body.decode("utf-8", errors="replace")
        if status != 200:
            return f"HTTP {status}: {text[:300]}"
        missing = [m for m in self.markers if m not in text]
        present = [e for e in self.errors if e in text]
        if missing or present:
            return f"HTTP 200 but missing {missing} / has {present}: {text[:300]}"
        return None

    def probe(self, port: int) -> str | None:
        status, body = http_call(port, self.method, self.path, self.body.encode(), self.headers)
        return self.judge(status, body)


def mcp_call(tool: str, arguments: dict[str, object], era: str, markers: tuple[str, ...]) -> Request:
    params: dict[str, object] = {"name": tool, "arguments": arguments}
    headers = {"Content-Type": "application/json", "Accept": MCP_ACCEPT}
    if era == "2026-07-28":
        params["_meta"] = META_2026
        headers.update({"MCP-Protocol-Version": era, "Mcp-Method": "tools/call", "Mcp-Name": tool})
    else:
        headers["MCP-Protocol-Version"] = era
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}, separators=(",", ":"))
    return Request(
        "POST", "/mcp", body, headers, ('"result"', '"structuredContent"', *markers), ('"isError":true', '"error":{')
    )


def _lua_string(text: str) -> str:
    level = "=" * 3
    assert f"]{level}]" not in text
    return f"[{level}[{text}]{level}]"


_DONE = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function done(summary, latency, requests)
  local bad, seen, first = 0, 0, ""
  for _, t in ipairs(threads) do
    bad = bad + (t:get("bad") or 0)
    seen = seen + (t:get("seen") or 0)
    local f = t:get("first")
    if f and first == "" then first = f end
  end
  local e = summary.errors
  io.write(string.format('BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,"p50":%d,"p90":%d,"p99":%d,'
    .. '"mean":%.1f,"max":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"checked":%d,"bad":%d}\\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, latency.max, e.connect, e.read, e.write, e.status, e.timeout, seen, bad))
  if first ~= "" then io.write("BENCHBAD " .. first .. "\\n") end
end
"""

_CHECK = """
bad, seen, first = 0, 0, nil
local markers = {%s}
local errors = {%s}
function response(status, headers, body)
  seen = seen + 1
  local ok = status == 200
  if ok then
    for _, m in ipairs(markers) do if not string.find(body, m, 1, true) then ok = false end end
    for _, m in ipairs(errors) do if string.find(body, m, 1, true) then ok = false end end
  end
  if not ok then
    bad = bad + 1
    if first == nil then first = status .. " " .. string.sub(body or "", 1, 300) end
  end
end
"""


def lua_script(name: str, request: Request, check: bool) -> Path:
    lines = [f"wrk.method = {_lua_string(request.method)}"]
    if request.body:
        lines.append(f"wrk.body = {_lua_string(request.body)}")
    lines += [f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in request.headers.items()]
    text = "\n".join(lines) + "\n" + _DONE
    if check:
        text += _CHECK % (
            ", ".join(_lua_string(m) for m in request.markers),
            ", ".join(_lua_string(m) for m in request.errors),
        )
    directory = WORK / "lua"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}{'.check' if check else ''}.lua"
    path.write_text(text)
    return path


@dataclass
class WrkResult:
    requests: int
    seconds: float
    p50: float  # microseconds
    p90: float
    p99: float
    mean: float
    max: float
    errors: int  # socket errors and non-2xx/3xx answers
    checked: int  # answers the response() hook inspected (check runs only)
    bad: int  # answers that failed the check
    first_bad: str = ""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def run_wrk(
    port: int,
    request: Request,
    name: str,
    connections: int,
    seconds: float,
    *,
    check: bool = False,
    timeout_s: int = 10,
) -> WrkResult:
    script = lua_script(name, request, check)
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(round(seconds), 1)}s",
        f"--timeout={timeout_s}s",
        "--latency",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}{request.path}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCHJSON ")), None)
    if done.returncode or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {' '.join(command)}\n{done.stdout}\n{done.stderr}")
    data = json.loads(line.split(" ", 1)[1])
    first_bad = next((ln.split(" ", 1)[1] for ln in done.stdout.splitlines() if ln.startswith("BENCHBAD ")), "")
    errors = sum(data[k] for k in ("connect", "read", "write", "status", "timeout"))
    return WrkResult(
        data["requests"],
        data["duration_us"] / 1e6,
        data["p50"],
        data["p90"],
        data["p99"],
        data["mean"],
        data["max"],
        errors,
        data["checked"],
        data["bad"],
        first_bad,
    )
