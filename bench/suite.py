"""The benchmark: servers, scenarios, interleaved rounds, start-up and memory, all in one run."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import resource
import statistics
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from bench import infra
from bench.bodies import RUN_ID, list_page
from bench.load import Request, WrkResult, mcp_call, run_wrk

ERAS = ("2025-11-25", "2026-07-28")


@dataclass(frozen=True)
class Target:
    """One scenario on one server: which port, which request."""

    scenario: str
    server: str  # direct, nginx-hop, floor, floor-asgi, granian-…, capgate, fastmcp, capgate-w2
    port_of: str  # the Process and port name: "upstream:http", "capgate:rest"…
    request: Request

    @property
    def key(self) -> str:
        return f"{self.scenario}@{self.server}"


@dataclass
class Options:
    rounds: int = 3
    duration: float = 5.0
    warmup: float = 2.0
    concurrencies: tuple[int, ...] = (1, 32)
    startups: int = 3
    quick: bool = False
    only: tuple[str, ...] = ()  # scenario names; empty = all


def scenarios(
    workers: bool, capgate_headers: dict[str, str] | None = None, stacks: tuple[str, ...] = ()
) -> list[Target]:
    """Every measured target. Paths: direct = the upstream's own; gateways put /v1 in front.

    `capgate_headers` go on every call to capgate (its inbound token, when access control is on); `stacks` are
    the other servers and clients whose framework-free floors run (`infra.STACKS`), on the 25-run list.
    """
    page25, page100 = list_page(25)["data"], list_page(100)["data"]
    first25, last100 = page25[0]["id"], page100[-1]["id"]  # type: ignore[index]
    list25 = ('"data":[{"id":"' + str(first25),)
    list100 = (str(last100),)
    cancel = ('"id":"run_',)
    tags = ("Successfully set",)
    json_headers = {"Content-Type": "application/json"}
    tags1 = json.dumps({"tags": ["customer:42"]})
    tags10 = json.dumps({"tags": [f"customer:{n}-{'x' * 20}" for n in range(10)]})
    run = RUN_ID
    targets = [
        Target("rest-list-25", "direct", "upstream:http", Request("GET", "/api/v1/runs", markers=list25)),
        Target("rest-list-25", "nginx-hop", "nginx-hop:http", Request("GET", "/v1/api/v1/runs", markers=list25)),
        Target("rest-list-25", "capgate", "capgate:rest", Request("GET", "/v1/api/v1/runs", markers=list25)),
        Target("rest-list-25", "floor", "floor:http", Request("GET", "/v1/api/v1/runs", markers=list25)),
        Target("rest-list-25", "floor-asgi", "floor-asgi:http", Request("GET", "/v1/api/v1/runs", markers=list25)),
        *(
            Target("rest-list-25", stack, f"{stack}:http", Request("GET", "/v1/api/v1/runs", markers=list25))
            for stack in stacks
        ),
        Target("rest-cancel", "direct", "upstream:http", Request("POST", f"/api/v2/runs/{run}/cancel", markers=cancel)),
        Target(
            "rest-cancel",
            "nginx-hop",
            "nginx-hop:http",
            Request("POST", f"/v1/api/v2/runs/{run}/cancel", markers=cancel),
        ),
        Target(
            "rest-cancel", "capgate", "capgate:rest", Request("POST", f"/v1/api/v2/runs/{run}/cancel", markers=cancel)
        ),
        Target("rest-cancel", "floor", "floor:http", Request("POST", f"/v1/api/v2/runs/{run}/cancel", markers=cancel)),
        Target(
            "rest-cancel",
            "floor-asgi",
            "floor-asgi:http",
            Request("POST", f"/v1/api/v2/runs/{run}/cancel", markers=cancel),
        ),
        Target(
            "rest-list-100",
            "direct",
            "upstream:http",
            Request("GET", "/api/v1/runs?page%5Bsize%5D=100", markers=list100),
        ),
        Target(
            "rest-list-100",
            "capgate",
            "capgate:rest",
            Request("GET", "/v1/api/v1/runs?page%5Bsize%5D=100", markers=list100),
        ),
        Target(
            "rest-tags-10",
            "direct",
            "upstream:http",
            Request("POST", f"/api/v1/runs/{run}/tags", tags10, json_headers, tags),
        ),
        Target(
            "rest-tags-1",
            "capgate",
            "capgate:rest",
            Request("POST", f"/v1/api/v1/runs/{run}/tags", tags1, json_headers, tags),
        ),
        Target(
            "rest-tags-10",
            "capgate",
            "capgate:rest",
            Request("POST", f"/v1/api/v1/runs/{run}/tags", tags10, json_headers, tags),
        ),
    ]
    for era in ERAS:
        targets += [
            Target(f"mcp-list-25/{era}", "capgate", "capgate:mcp", mcp_call("list-runs", {}, era, (str(first25),))),
            Target(f"mcp-list-25/{era}", "fastmcp", "fastmcp:mcp", mcp_call("list_runs", {}, era, (str(first25),))),
        ]
    targets.append(
        Target(
            f"mcp-list-100/{ERAS[0]}",
            "capgate",
            "capgate:mcp",
            mcp_call("list-runs", {"page.size": 100}, ERAS[0], list100),
        )
    )
    if workers:
        targets += [
            Target("rest-list-25", "capgate-w2", "capgate-w2:rest", Request("GET", "/v1/api/v1/runs", markers=list25)),
            Target(
                f"mcp-list-25/{ERAS[0]}",
                "capgate-w2",
                "capgate-w2:mcp",
                mcp_call("list-runs", {}, ERAS[0], (str(first25),)),
            ),
        ]
    extra = capgate_headers or {}
    return [
        replace(t, request=replace(t.request, headers={**t.request.headers, **extra}))
        if t.server.startswith("capgate") and extra
        else t
        for t in targets
    ]


@dataclass
class Measurement:
    target: str
    scenario: str
    server: str
    concurrency: int
    round: int
    requests: int
    seconds: float
    rps: float
    p50_us: float
    p90_us: float
    p99_us: float
    mean_us: float
    max_us: float
    errors: int
    cpu_us_per_req: float  # server process tree
    rss_kib: int  # server main process VmRSS at the end of the run
    background_cores: float  # CPU used by processes that are not part of the bench, in cores
    server_cores: float = 0.0  # CPU the server's process tree used, in cores (how it shared the machine)
    wrk_cores: float = 0.0  # CPU the load generator used, in cores
    upstream_cores: float = 0.0  # CPU the static upstream (nginx) used, in cores


def _system_busy() -> float:
    """Seconds of non-idle CPU on the whole machine so far (/proc/stat)."""
    with open("/proc/stat") as handle:
        fields = [int(x) for x in handle.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / infra.CLK_TCK


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Bench:
    options: Options
    processes: dict[str, infra.Process] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    startup: dict[str, Any] = field(default_factory=dict)
    memory: dict[str, Any] = field(default_factory=dict)
    features: dict[str, Any] = field(default_factory=dict)
    fastmcp_version: str | None = None
    stacks_versions: dict[str, str] = field(default_factory=dict)
    setup: infra.CapgateSetup = field(default_factory=infra.CapgateSetup)
    calibration: list[float] = field(default_factory=list)

    def port(self, target: Target) -> int:
        process, name = target.port_of.split(":")
        return self.processes[process].ports[name]

    def process_of(self, target: Target) -> infra.Process:
        return self.processes[target.port_of.split(":")[0]]

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        problem = infra.ensure_tools()
        if problem:
            raise SystemExit(f"bench: {problem}")
        self.fastmcp_version = infra.ensure_fastmcp()
        self.setup = infra.capgate_setup()
        help_text = self.setup.help_text
        workers = "--workers" in help_text
        upstream = infra.free_port()
        self.processes["upstream"] = infra.start_upstream(upstream)
        self.processes["nginx-hop"] = infra.start_hop(infra.free_port(), upstream)
        self.processes["capgate"] = infra.start_capgate(upstream, infra.free_port(), infra.free_port(), self.setup)
        self.processes["fastmcp"] = infra.start_fastmcp(upstream, infra.free_port())
        self.processes["floor"] = infra.start_floor(upstream, infra.free_port())
        self.processes["floor-asgi"] = infra.start_stack_floor("floor-asgi", upstream, infra.free_port())
        stacks_python, self.stacks_versions = infra.ensure_stacks()
        stacks = tuple(infra.STACKS) if stacks_python is not None else ()
        for stack in stacks:
            self.processes[stack] = infra.start_stack_floor(stack, upstream, infra.free_port(), stacks_python)
        if workers:
            self.processes["capgate-w2"] = infra.start_capgate(
                upstream, infra.free_port(), infra.free_port(), self.setup, name="capgate-w2", extra=["--workers", "2"]
            )
        self.targets = [
            t
            for t in scenarios(workers, self.setup.headers, stacks)
            if not self.options.only or t.scenario.split("/")[0] in self.options.only or t.scenario in self.options.only
        ]
        self.features = self._features(help_text, workers)
        self.features["setup"] = self.setup.notes
        self.features["document"] = self.setup.document
        self.features["extra_args"] = self.setup.args

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop()
        audit = infra.WORK / "xdg-data" / "capgate" / "audit.jsonl"
        for path in [p.log_path for p in self.processes.values()] + [audit]:
            if path.exists() and path.stat().st_size > 20 << 20:  # keep bench/work small: the last 1 MiB
                with open(path, "rb") as handle:
                    handle.seek(-(1 << 20), os.SEEK_END)
                    tail = handle.read()
                path.write_bytes(b"[cut by the bench: the first part of this file was dropped]\n" + tail)

    def _features(self, help_text: str, workers: bool) -> dict[str, Any]:
        """What `capgate serve` ran with: its options (all defaults) and what its endpoints show."""
        capgate = self.processes["capgate"]
        options = sorted(set(re.findall(r"(--[a-z][a-z0-9-]+)", help_text)) - {"--help"})
        probes: dict[str, int | str] = {}
        for label, port in (("rest", capgate.ports["rest"]), ("mcp", capgate.ports["mcp"])):
            for path in ("/metrics", "/openapi.json"):
                try:
                    probes[f"{label} GET {path}"] = infra.http_call(port, "GET", path, headers=self.setup.headers)[0]
                except OSError as exc:
                    probes[f"{label} GET {path}"] = str(exc)
        return {
            "serve_options": options,
            "workers_option": workers,
            "endpoint_probes": probes,
            "serve_help": help_text,
            "command": f"TRIGGER_DEV_API_KEY=… capgate serve {Path(self.setup.document).name} --rest-port P "
            "--mcp-port Q --base-uri management-runs=http://127.0.0.1:UPSTREAM " + " ".join(self.setup.args),
        }

    def _logs(self) -> dict[str, Any]:
        """How much capgate logged (access log) and audited during the run; big files are cut to their ends."""
        found: dict[str, Any] = {}
        capgate_log = self.processes["capgate"].log_path
        audit = infra.WORK / "xdg-data" / "capgate" / "audit.jsonl"
        for label, path in (("capgate_log", capgate_log), ("audit_log", audit)):
            if not path.exists():
                found[label] = "absent"
                continue
            lines = 0
            with open(path, "rb") as handle:
                while block := handle.read(1 << 20):
                    lines += block.count(b"\n")
            found[label] = {"path": str(path.relative_to(infra.ROOT)), "lines": lines, "bytes": path.stat().st_size}
        found["capgate_log_sample"] = self.processes["capgate"].log_text()[-600:]
        return found

    # --- measurement -------------------------------------------------------------------------------------------

    def verify(self, when: str) -> None:
        """Every target answers a real result to one plain request (the same bytes wrk sends)."""
        failures = []
        for target in self.targets:
            problem = target.request.probe(self.port(target))
            self.checks.append({"when": when, "target": target.key, "ok": problem is None, "problem": problem})
            if problem:
                failures.append(f"{target.key}: {problem}")
        if failures:
            raise SystemExit("bench: a target does not answer a real result:\n  " + "\n  ".join(failures))

    def warm_up(self) -> None:
        """Each target at the highest concurrency with every answer checked by wrk's response() hook."""
        for target in self.targets:
            result = run_wrk(
                self.port(target),
                target.request,
                _slug(target.key),
                max(self.options.concurrencies),
                self.options.warmup,
                check=True,
            )
            ok = result.errors == 0 and result.bad == 0 and result.checked > 0
            self.checks.append(
                {
                    "when": "warm-up (wrk response hook, every answer)",
                    "target": target.key,
                    "ok": ok,
                    "checked": result.checked,
                    "bad": result.bad,
                    "errors": result.errors,
                    "problem": result.first_bad or None,
                }
            )
            if not ok:
                raise SystemExit(
                    f"bench: {target.key}: {result.bad}/{result.checked} bad answers, {result.errors} "
                    f"errors under wrk; first: {result.first_bad}"
                )
            infra.log(f"warm-up {target.key}: {result.checked} answers checked, all good ({result.rps:,.0f}/s)")

    def measure(self, target: Target, concurrency: int, round_: int) -> Measurement:
        process = self.process_of(target)
        known = [p for p in self.processes.values() if p.alive()]
        tree = process.tree()
        others = {p.name: p.tree() for p in known}
        upstream = others.get("upstream", [])
        cpu0, busy0, child0 = infra.cpu_seconds(tree), _system_busy(), _children_cpu()
        known0 = sum(infra.cpu_seconds(pids) for pids in others.values())
        upstream0 = infra.cpu_seconds(upstream)
        result: WrkResult = run_wrk(
            self.port(target), target.request, _slug(target.key), concurrency, self.options.duration
        )
        cpu1, busy1, child1 = infra.cpu_seconds(tree), _system_busy(), _children_cpu()
        known1 = sum(infra.cpu_seconds(pids) for pids in others.values())
        upstream1 = infra.cpu_seconds(upstream)
        background = (busy1 - busy0) - (known1 - known0) - (child1 - child0)
        rss = infra.memory_kib(process.pid).get("VmRSS", 0)
        if result.errors:
            raise SystemExit(f"bench: {target.key} c={concurrency}: {result.errors} socket errors or non-2xx answers")
        return Measurement(
            target.key,
            target.scenario,
            target.server,
            concurrency,
            round_,
            result.requests,
            result.seconds,
            result.rps,
            result.p50,
            result.p90,
            result.p99,
            result.mean,
            result.max,
            result.errors,
            (cpu1 - cpu0) * 1e6 / max(result.requests, 1),
            rss,
            max(background, 0.0) / result.seconds,
            (cpu1 - cpu0) / result.seconds,
            (child1 - child0) / result.seconds,  # wrk is the bench's only child that ends during the run
            (upstream1 - upstream0) / result.seconds,
        )

    def rounds(self) -> None:
        plan = [(t, c) for t in self.targets for c in self.options.concurrencies]
        for round_ in range(self.options.rounds):
            order = plan if round_ % 2 == 0 else list(reversed(plan))
            infra.log(f"round {round_ + 1}/{self.options.rounds}: {len(order)} runs of {self.options.duration:g}s")
            for target, concurrency in order:
                measurement = self.measure(target, concurrency, round_)
                self.measurements.append(measurement)
                infra.log(
                    f"  {target.key:<32} c={concurrency:<3} p50 {measurement.p50_us:>8,.0f} µs  "
                    f"{measurement.rps:>9,.0f}/s  cpu {measurement.cpu_us_per_req:>6,.0f} µs/call"
                )

    def measure_startup(self) -> None:
        """Fresh processes: Popen to the first answered call, polled every 5 ms."""
        upstream = self.processes["upstream"].ports["http"]
        rest_call = Request("GET", "/v1/api/v1/runs", headers=self.setup.headers, markers=('"data":[',))
        samples: dict[str, list[dict[str, Any]]] = {"capgate": [], "fastmcp": []}
        for index in range(self.options.startups):
            try:
                self._startup_sample(index, upstream, rest_call, samples)
            except RuntimeError as exc:  # a broken start must not lose the rounds' results
                samples.setdefault("errors", []).append({"error": str(exc)[-1500:]})
                infra.log(f"start-up sample {index} failed: {str(exc)[-300:]}")
        self.startup = samples
        infra.log(f"start-up: {samples}")

    def _startup_sample(
        self, index: int, upstream: int, rest_call: Request, samples: dict[str, list[dict[str, Any]]]
    ) -> None:
        rest, mcp = infra.free_port(), infra.free_port()
        process = infra.start_capgate(upstream, rest, mcp, self.setup, name=f"capgate-start-{index}", wait=False)
        try:
            first_rest = infra.wait_until(lambda: rest_call.probe(rest) is None, process, 30)
            call = mcp_call("list-runs", {}, ERAS[0], ())
            call = replace(call, headers={**call.headers, **self.setup.headers})
            first_mcp = infra.wait_until(lambda: call.probe(mcp) is None, process, 30)
            samples["capgate"].append({"first_rest_call_s": first_rest, "first_mcp_call_s": first_mcp})
        finally:
            process.stop()
        port = infra.free_port()
        peer = infra.start_fastmcp(upstream, port, name=f"fastmcp-start-{index}", wait=False)
        try:
            peer_call = mcp_call("list_runs", {}, ERAS[0], ())
            first = infra.wait_until(lambda: peer_call.probe(port) is None, peer, 60)
            samples["fastmcp"].append({"first_mcp_call_s": first})
        finally:
            peer.stop()

    def record_memory(self) -> None:
        for name in ("capgate", "fastmcp", "capgate-w2", "floor", "floor-asgi", *infra.STACKS, "upstream", "nginx-hop"):
            process = self.processes.get(name)
            if process is None:
                continue
            per_process = {str(pid): infra.memory_kib(pid) for pid in process.tree()}
            peak_under_load = max((m.rss_kib for m in self.measurements if m.server == name), default=0)
            self.memory[name] = {
                "processes": per_process,
                "main_vmhwm_kib": infra.memory_kib(process.pid).get("VmHWM"),
                "max_vmrss_after_runs_kib": peak_under_load,
            }

    # --- the whole thing ---------------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        began = time.time()
        self.calibration = [infra.calibrate()]
        try:
            self.start()
            self.verify("before the rounds (one plain request)")
            self.warm_up()
            self.rounds()
            self.verify("after the rounds (one plain request)")
            self.record_memory()
            self.features.update(self._logs())
            self.measure_startup()
            self.calibration.append(infra.calibrate())
        finally:
            self.stop()
        return self.result(began)

    def result(self, began: float) -> dict[str, Any]:
        return {
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "wall_seconds": round(time.time() - began, 1),
            "machine": {**infra.machine(), "python_loop_10M_s_start_end": self.calibration},
            "versions": {**infra.versions(self.fastmcp_version), **self.stacks_versions},
            "git": infra.git_state(),
            "options": asdict(self.options),
            "features": self.features,
            "targets": [
                {
                    "key": t.key,
                    "scenario": t.scenario,
                    "server": t.server,
                    "method": t.request.method,
                    "path": t.request.path,
                    "body_bytes": len(t.request.body),
                    "headers": t.request.headers,
                }
                for t in self.targets
            ],
            "checks": self.checks,
            "measurements": [asdict(m) for m in self.measurements],
            "startup": self.startup,
            "memory": self.memory,
            "loadavg_end": os.getloadavg(),
        }


def _slug(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9]+", "-", text).strip("-")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
