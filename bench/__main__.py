"""`python -m bench` (or `bench/run`): the whole benchmark in one command. See bench/README.md."""

from __future__ import annotations

import argparse
import sys

from bench import infra, report
from bench.suite import Bench, Options


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default %(default)s)")
    parser.add_argument("--duration", type=int, default=5, help="whole seconds per wrk run (default %(default)s)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of checked warm-up per target")
    parser.add_argument("--startups", type=int, default=3, help="fresh start-up samples per server")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="SCENARIO",
        help="only these scenarios (rest-list-25, rest-cancel, rest-list-100, rest-tags-1, "
        "rest-tags-10, mcp-list-25, mcp-list-100); repeatable",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 1 round of 1 s runs, 1 s warm-ups, 1 start-up sample (about 1.5 minutes)",
    )
    parser.add_argument(
        "--out",
        default=None,
        help="results folder (default bench/results; bench/work/results for "
        "--quick, so a smoke run never replaces the committed table)",
    )
    parser.add_argument("--stem", default=None, help="file name stem (default: latest, or quick for --quick)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile capgate with py-spy instead (bench/PROFILE.md explains); see `python -m bench.profile --help`",
    )
    options = parser.parse_args(argv)
    if options.profile:
        from bench import profile

        return profile.main([])
    if options.quick:
        run = Options(rounds=1, duration=1.0, warmup=1.0, startups=1, quick=True, only=tuple(options.only))
    else:
        run = Options(
            rounds=options.rounds,
            duration=options.duration,
            warmup=options.warmup,
            startups=options.startups,
            only=tuple(options.only),
        )
    result = Bench(run).run()
    from pathlib import Path

    stem = options.stem or ("quick" if options.quick else "latest")
    out = Path(options.out) if options.out else (infra.WORK / "results" if options.quick else report.RESULTS)
    md, js = report.write(result, out, stem)
    infra.log(f"wrote {md} and {js}")
    for verdict in result["verdicts"]:
        flag = {True: "met", False: "NOT MET", None: "n/a"}[verdict["met"]]
        print(f"{flag:>8}  {verdict['target']}: {verdict['measured']} (bound {verdict['bound']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
