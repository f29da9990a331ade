"""Turn a run's raw measurements into ratios, target verdicts and the results table (markdown and JSON)."""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
ERAS = ("2025-11-25", "2026-07-28")
MIB = 1024
STACK_NAMES = ("granian-asgi", "granian-rsgi", "granian-rsgi-pyreqwest")  # bench.infra.STACKS


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


class Stats:
    """Access to the measurements of one run by (target key, concurrency)."""

    def __init__(self, measurements: list[dict[str, Any]]) -> None:
        self.cells: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
        for m in measurements:
            self.cells[(m["target"], m["concurrency"])].append(m)

    def has(self, target: str, c: int) -> bool:
        return (target, c) in self.cells

    def values(self, target: str, c: int, metric: str) -> list[float]:
        return [m[metric] for m in sorted(self.cells.get((target, c), []), key=lambda m: m["round"])]

    def median(self, target: str, c: int, metric: str) -> float:
        return _median(self.values(target, c, metric))

    def ratio(self, top: str, bottom: str, c: int, metric: str) -> tuple[float, float, float]:
        """Per-round ratio top/bottom (both measured in the same round), as (median, min, max)."""
        a = {m["round"]: m[metric] for m in self.cells.get((top, c), [])}
        b = {m["round"]: m[metric] for m in self.cells.get((bottom, c), [])}
        ratios = [a[r] / b[r] for r in sorted(a) if r in b and b[r]]
        if not ratios:
            return (math.nan, math.nan, math.nan)
        return (_median(ratios), min(ratios), max(ratios))


def _fmt(value: float, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.{digits}f}"


def _range(values: list[float], digits: int = 0) -> str:
    if not values:
        return "–"
    if len(values) == 1:
        return _fmt(values[0], digits)
    return f"{_fmt(_median(values), digits)} ({_fmt(min(values), digits)}–{_fmt(max(values), digits)})"


def _ratio_text(r: tuple[float, float, float], digits: int = 2) -> str:
    median, low, high = r
    if math.isnan(median):
        return "–"
    if low == high:
        return f"{median:.{digits}f}×"
    return f"{median:.{digits}f}× ({low:.{digits}f}–{high:.{digits}f})"


def evaluate(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of issues 15, 13 (item 8) and 11 (item 8), with the number it was judged on."""
    stats = Stats(result["measurements"])
    verdicts: list[dict[str, Any]] = []

    def add(
        name: str, measured: tuple[float, float, float], bound: float, better: str, detail: str, unit: str = "×"
    ) -> None:
        value = measured[0]
        met = None if math.isnan(value) else (value <= bound if better == "≤" else value >= bound)
        if unit == "×":
            shown = _ratio_text(measured)
        else:
            shown = f"{_fmt(value, 2 if unit == 's' else 0)} {unit}"
            if not math.isnan(measured[1]) and measured[1] != measured[2]:
                shown += f" ({_fmt(measured[1], 2 if unit == 's' else 0)}–{_fmt(measured[2], 2 if unit == 's' else 0)})"
        if met is None:
            margin = "not measured"
        elif better == "≤":
            margin = f"{'' if met else 'over by '}{abs(bound - value) / bound:.0%}{' headroom' if met else ''}"
        else:
            margin = f"{'' if met else 'short by '}{abs(value - bound) / bound:.0%}{' headroom' if met else ''}"
        verdicts.append(
            {
                "target": name,
                "measured": shown,
                "value": value,
                "bound": f"{better} {bound:g}" + ("" if unit == "×" else f" {unit}") + ("×" if unit == "×" else ""),
                "met": met,
                "margin": margin,
                "detail": detail,
            }
        )

    add(
        "REST list p50 c=1 ÷ framework-free floor (uvicorn + aiohttp, no framework)",
        stats.ratio("rest-list-25@capgate", "rest-list-25@floor-asgi", 1, "p50_us"),
        1.5,
        "≤",
        "per-round ratio of c=1 p50",
    )
    add(
        "REST list req/s c=32 ÷ nginx hop",
        stats.ratio("rest-list-25@capgate", "rest-list-25@nginx-hop", 32, "rps"),
        0.35,
        "≥",
        "per-round ratio of c=32 req/s, one worker",
    )
    add(
        "audited mutations ÷ reads, req/s c=32 (cancel ÷ list)",
        stats.ratio("rest-cancel@capgate", "rest-list-25@capgate", 32, "rps"),
        0.5,
        "≥",
        "every cancel's intent and outcome fsync'd before it is answered",
    )
    add(
        "--workers 2 ÷ 1 worker, REST list req/s c=32",
        stats.ratio("rest-list-25@capgate-w2", "rest-list-25@capgate", 32, "rps"),
        1.5,
        "≥",
        "wrk and nginx share the 2 cores (see below)",
    )
    add(
        "REST 100-run page ÷ 25-run page, p50 c=1",
        stats.ratio("rest-list-100@capgate", "rest-list-25@capgate", 1, "p50_us"),
        1.5,
        "≤",
        "capgate only",
    )
    add(
        "REST 100-run page ÷ 25-run page, CPU/call c=32",
        stats.ratio("rest-list-100@capgate", "rest-list-25@capgate", 32, "cpu_us_per_req"),
        1.5,
        "≤",
        "capgate process CPU per call",
    )
    for era in ERAS:
        scenario = f"mcp-list-25/{era}"
        add(
            f"MCP tools/call p50 c=1 ÷ FastMCP ({era})",
            stats.ratio(f"{scenario}@capgate", f"{scenario}@fastmcp", 1, "p50_us"),
            0.4,
            "≤",
            "per-round ratio",
        )
        add(
            f"MCP tools/call req/s c=32 ÷ FastMCP ({era})",
            stats.ratio(f"{scenario}@capgate", f"{scenario}@fastmcp", 32, "rps"),
            3,
            "≥",
            "per-round ratio",
        )
    for label, c, metric in (("p50 c=1", 1, "p50_us"), ("CPU/call c=32", 32, "cpu_us_per_req")):
        add(
            f"MCP 100-run page ÷ 25-run page, {label}",
            stats.ratio(f"mcp-list-100/{ERAS[0]}@capgate", f"mcp-list-25/{ERAS[0]}@capgate", c, metric),
            1.5,
            "≤",
            "capgate only, 2025-11-25 era",
        )
    startup = result.get("startup", {}).get("capgate", [])
    for label, key, bound in (("REST call", "first_rest_call_s", 0.5), ("MCP tools/call", "first_mcp_call_s", 0.6)):
        firsts = [s[key] for s in startup]
        add(
            f"start → first answered {label}",
            (_median(firsts), min(firsts, default=math.nan), max(firsts, default=math.nan)),
            bound,
            "≤",
            "Popen to first 200, 5 ms polls",
            "s",
        )
    memory = result.get("memory", {}).get("capgate", {})
    peak = (memory.get("main_vmhwm_kib") or math.nan) / MIB
    add("capgate RSS under load (peak VmHWM)", (peak, math.nan, math.nan), 80, "≤", "whole run, one process", "MiB")
    add(
        "flat cost: tags 10 ÷ 1 (REST POST), CPU/call c=32",
        stats.ratio("rest-tags-10@capgate", "rest-tags-1@capgate", 32, "cpu_us_per_req"),
        1.5,
        "≤",
        "flatness, shown against the same 1.5× bound",
    )
    return verdicts


STACK_ROWS = (
    ("nginx direct", "rest-list-25@direct"),
    ("nginx proxy hop (the physical floor of a hop)", "rest-list-25@nginx-hop"),
    ("framework-free ASGI, uvicorn (httptools, uvloop) + aiohttp", "rest-list-25@floor-asgi"),
    ("the same on Granian (ASGI) + aiohttp", "rest-list-25@granian-asgi"),
    ("Granian RSGI + aiohttp", "rest-list-25@granian-rsgi"),
    ("Granian RSGI + pyreqwest (Rust server, Rust HTTP client)", "rest-list-25@granian-rsgi-pyreqwest"),
    ("Starlette + uvicorn + aiohttp (bench/floor_gateway.py)", "rest-list-25@floor"),
    ("**capgate**, every feature on", "rest-list-25@capgate"),
    ("capgate --workers 2", "rest-list-25@capgate-w2"),
)


def _stack_rows(stats: Stats) -> list[str]:
    """Issue 15's table, measured in this run: each stack's p50 at c=1 and its throughput against the hop."""
    rows = [
        "| what (25-run list) | p50 c=1 µs | req/s c=32 | ÷ nginx hop, req/s c=32 | CPU µs/call c=32 |",
        "|---|---|---|---|---|",
    ]
    for label, key in STACK_ROWS:
        if not stats.has(key, 1) and not stats.has(key, 32):
            continue
        rows.append(
            f"| {label} | {_range(stats.values(key, 1, 'p50_us'))} | {_range(stats.values(key, 32, 'rps'))} | "
            f"{_ratio_text(stats.ratio(key, 'rest-list-25@nginx-hop', 32, 'rps'))} | "
            f"{_range(stats.values(key, 32, 'cpu_us_per_req'))} |"
        )
    return rows


def _cores_text(stats: Stats) -> str:
    """How the load generator, the upstream and capgate shared the cores at c=32 (median over rounds)."""
    parts = []
    for label, key in (("one worker", "rest-list-25@capgate"), ("--workers 2", "rest-list-25@capgate-w2")):
        if not stats.has(key, 32):
            continue
        server, wrk, upstream = (stats.median(key, 32, m) for m in ("server_cores", "wrk_cores", "upstream_cores"))
        parts.append(f"{label}: capgate {server:.2f} cores, wrk {wrk:.2f}, upstream nginx {upstream:.2f}")
    if not parts:
        return ""
    return (
        "How the cores were shared (REST list, c=32, median over rounds): "
        + "; ".join(parts)
        + ". Nothing is pinned: what wrk and nginx use is not there for capgate's workers."
    )


def _cell_rows(stats: Stats, targets: list[dict[str, Any]]) -> list[str]:
    rows = [
        "| target | c=1 p50 µs | c=1 p99 µs | c=1 CPU µs/call | c=32 req/s | c=32 p50 µs | c=32 p99 µs | "
        "c=32 CPU µs/call |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for target in targets:
        key = target["key"]
        rows.append(
            f"| {key} | {_range(stats.values(key, 1, 'p50_us'))} | {_range(stats.values(key, 1, 'p99_us'))} | "
            f"{_range(stats.values(key, 1, 'cpu_us_per_req'))} | {_range(stats.values(key, 32, 'rps'))} | "
            f"{_range(stats.values(key, 32, 'p50_us'))} | {_range(stats.values(key, 32, 'p99_us'))} | "
            f"{_range(stats.values(key, 32, 'cpu_us_per_req'))} |"
        )
    return rows


def _ratio_rows(stats: Stats) -> list[str]:
    rows = ["| comparison | c=1 p50 | c=32 req/s | c=1 CPU/call | c=32 CPU/call |", "|---|---|---|---|---|"]
    pairs: list[tuple[str, str, str]] = []
    for route in ("rest-list-25", "rest-cancel"):
        pairs += [
            (f"{route}: capgate ÷ direct", f"{route}@capgate", f"{route}@direct"),
            (f"{route}: capgate ÷ nginx hop", f"{route}@capgate", f"{route}@nginx-hop"),
            (f"{route}: capgate ÷ framework-free floor", f"{route}@capgate", f"{route}@floor-asgi"),
            (f"{route}: capgate ÷ Starlette floor", f"{route}@capgate", f"{route}@floor"),
            (f"{route}: framework-free floor ÷ nginx hop", f"{route}@floor-asgi", f"{route}@nginx-hop"),
            (f"{route}: floor ÷ direct", f"{route}@floor", f"{route}@direct"),
            (f"{route}: floor ÷ nginx hop", f"{route}@floor", f"{route}@nginx-hop"),
        ]
    for era in ERAS:
        s = f"mcp-list-25/{era}"
        pairs += [
            (f"{s}: capgate ÷ FastMCP", f"{s}@capgate", f"{s}@fastmcp"),
            (f"{s}: capgate MCP ÷ capgate REST", f"{s}@capgate", "rest-list-25@capgate"),
        ]
    pairs += [
        ("rest-list-100: capgate ÷ direct", "rest-list-100@capgate", "rest-list-100@direct"),
        ("capgate: list 100 ÷ list 25 (REST)", "rest-list-100@capgate", "rest-list-25@capgate"),
        ("direct: list 100 ÷ list 25", "rest-list-100@direct", "rest-list-25@direct"),
        ("capgate: tags 10 ÷ tags 1 (REST)", "rest-tags-10@capgate", "rest-tags-1@capgate"),
        ("capgate: MCP list 100 ÷ list 25", f"mcp-list-100/{ERAS[0]}@capgate", f"mcp-list-25/{ERAS[0]}@capgate"),
        ("capgate: cancel ÷ list (audited mutation ÷ read)", "rest-cancel@capgate", "rest-list-25@capgate"),
        ("capgate --workers 2 ÷ 1 worker (REST list)", "rest-list-25@capgate-w2", "rest-list-25@capgate"),
        ("capgate --workers 2 ÷ 1 worker (MCP)", f"mcp-list-25/{ERAS[0]}@capgate-w2", f"mcp-list-25/{ERAS[0]}@capgate"),
    ]
    for label, top, bottom in pairs:
        if not (stats.has(top, 1) or stats.has(top, 32)):
            continue
        rows.append(
            f"| {label} | {_ratio_text(stats.ratio(top, bottom, 1, 'p50_us'))} | "
            f"{_ratio_text(stats.ratio(top, bottom, 32, 'rps'))} | "
            f"{_ratio_text(stats.ratio(top, bottom, 1, 'cpu_us_per_req'))} | "
            f"{_ratio_text(stats.ratio(top, bottom, 32, 'cpu_us_per_req'))} |"
        )
    return rows


def _verdict(met: bool | None) -> str:
    return "n/a" if met is None else ("**met**" if met else "**NOT met**")


def _logs_text(features: dict[str, Any]) -> str:
    parts = []
    for label, name in (("capgate_log", "stderr log (access log)"), ("audit_log", "audit log")):
        found = features.get(label)
        if isinstance(found, dict):
            parts.append(f"{name} {found['lines']:,} lines ({found['bytes'] / MIB / 1024:.1f} MiB)")
        elif found is not None:
            parts.append(f"{name} {found}")
    return ", ".join(parts) or "not recorded"


def markdown(result: dict[str, Any]) -> str:
    stats = Stats(result["measurements"])
    verdicts = result["verdicts"]
    m, v, o = result["machine"], result["versions"], result["options"]
    background = [x["background_cores"] for x in result["measurements"]]
    checks = result["checks"]
    checked = sum(c.get("checked", 0) for c in checks)
    lines = [
        "# capgate benchmark: latest results",
        "",
        f"- **Date**: {result['date']} (wall time {result['wall_seconds']:.0f} s); commit `{result['git']['commit']}`"
        f" (src/ with uncommitted changes: {result['git']['src_dirty']})",
        f"- **Machine**: {m['nproc']} CPU ({m['cpu_model']}), {m['memory_gib']} GiB, kernel {m['kernel']}. wrk, "
        "the upstream nginx and every server share these cores; nothing is pinned. Core speed check (10M Python "
        f"`s += i`, s, at start / end): {m.get('python_loop_10M_s_start_end')}.",
        "- **Versions**: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"- **Method**: {o['rounds']} interleaved rounds (odd rounds in reverse order), {o['duration']:g} s per run, "
        f"`wrk -t1 -c{{1,32}} --latency`, one {o['warmup']:g} s warm-up per target at c=32 in which wrk checked every "
        "answer; cells are medians over rounds with (min–max); ratios are computed within each round, then the "
        "median (min–max) is shown. CPU/call = utime+stime of the server's process tree ÷ requests.",
        f"- **Noise**: other processes on the machine used {_fmt(_median(background), 2)} cores on median during "
        f"the runs (max {_fmt(max(background, default=math.nan), 2)}). Differences under ~15% are not "
        "significant on this 2-core VM (reference/perf-baselines.md §0).",
        "- **capgate as run**: `"
        + result["features"]["command"]
        + "`. Set for the bench: "
        + "; ".join(result["features"].get("setup", []))
        + ". Everything else at its default; what that did: "
        + _logs_text(result["features"])
        + ". `serve` options available: "
        + ", ".join(f"`{x}`" for x in result["features"]["serve_options"])
        + f"; endpoint probes: {result['features']['endpoint_probes']}.",
        f"- **Answers checked**: {checked:,} answers inspected by wrk's response hook during warm-ups, plus one plain "
        f"request per target before and after the rounds: {sum(1 for c in checks if c['ok'])}/{len(checks)} checks "
        "good (200 with the expected run ids / a real tools/call result, no error).",
        "",
        "## Targets (issues 15, 13 item 8, 11 item 8)",
        "",
        "| target | measured: median (min–max) | bound | verdict | margin |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {x['target']} | {x['measured']} | {x['bound']} | {_verdict(x['met'])} | {x['margin']} |" for x in verdicts
    ]
    cores = _cores_text(stats)
    lines += [
        "",
        "## The stacks (issue 15's table, this run)",
        "",
        *_stack_rows(stats),
        "",
        "The floors pass the upstream's bytes through with no framework and no feature (`bench/floors.py`; the "
        "Starlette one is `bench/floor_gateway.py`): what each server and client pair costs by itself on this "
        "machine in this run." + (f" {cores}" if cores else ""),
    ]
    lines += [
        "",
        "## Ratios measured in the same run",
        "",
        *_ratio_rows(stats),
        "",
        "## Every target (median over rounds, min–max)",
        "",
        *_cell_rows(stats, result["targets"]),
        "",
    ]
    startup = result.get("startup", {})
    lines += [
        "## Start-up and memory",
        "",
        "| server | start → first answered call, s (each sample) | peak RSS |",
        "|---|---|---|",
    ]
    for name, samples in startup.items():
        if name == "errors":
            continue
        text = "; ".join(
            ", ".join(f"{k.replace('_s', '').replace('_', ' ')} {val:.3f}" for k, val in s.items()) for s in samples
        )
        memory = result.get("memory", {}).get(name, {})
        hwm = memory.get("main_vmhwm_kib")
        lines.append(f"| {name} | {text} | {_fmt((hwm or math.nan) / MIB, 1)} MiB (VmHWM, main process) |")
    for name in ("floor", "floor-asgi", *STACK_NAMES, "upstream", "nginx-hop", "capgate-w2"):
        memory = result.get("memory", {}).get(name)
        if memory:
            total = sum(p.get("VmRSS", 0) for p in memory["processes"].values()) / MIB
            pss = sum(p.get("Pss", 0) for p in memory["processes"].values()) / MIB
            shared = f"; {pss:.1f} MiB PSS, what they add up to" if pss else ""
            lines.append(f"| {name} | – | {total:.1f} MiB (VmRSS, all processes{shared}) |")
    for error in startup.get("errors", []):
        lines.append(f"| start-up failed | {error['error'][-200:]!r} | |")
    lines += ["", "Raw data: `latest.json` (every run, every check). How to read this: `bench/README.md`.", ""]
    return "\n".join(lines)


def write(result: dict[str, Any], directory: Path = RESULTS, stem: str = "latest") -> tuple[Path, Path]:
    result["verdicts"] = evaluate(result)
    directory.mkdir(parents=True, exist_ok=True)
    json_path, md_path = directory / f"{stem}.json", directory / f"{stem}.md"
    json_path.write_text(json.dumps(result, indent=1, default=str) + "\n")
    md_path.write_text(markdown(result))
    return md_path, json_path


Summary = Callable[[dict[str, Any]], str]
