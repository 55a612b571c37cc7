"""devagent's benchmarks, in one command.

    .venv/bin/python bench/run.py                       # everything (about 10 minutes)
    .venv/bin/python bench/run.py --only proxy,allowlist
    .venv/bin/python bench/run.py --smoke               # CI: fail on gross regressions

Writes bench/results/results.json and results.md (not in --smoke mode) and prints the
Markdown tables. See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))  # local_proxy: the generated proxy on this host

import allowlist_size  # noqa: E402
import report  # noqa: E402

SECTIONS = ("proxy", "allowlist", "workloads", "lifecycle")
RESULTS = HERE / "results" / "results.json"
# A smoke run fails when a ratio is this many times worse than the committed one.
GROSS = 3.0


def measure(
    sections: list[str], *, engine: str, quick: bool, smoke: bool, save: bool
) -> dict[str, Any]:
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {_cpus()} CPUs, Python {platform.python_version()}",
        "engine": engine,
    }
    runners: dict[str, Callable[[], Any]] = {
        "proxy": lambda: _module("proxy").run(
            scale=0.3 if quick or smoke else 1.0,
            bulk_runs=1 if quick else 3,
            latency_only=smoke,
        ),
        "allowlist": lambda: allowlist_size.run(rounds=3 if smoke else 5),
        "workloads": lambda: _module("workloads").run(engine=engine, runs=1 if quick else 3),
        "lifecycle": lambda: _module("lifecycle").run(engine=engine, runs=1 if quick else 5),
    }
    for section in sections:
        print(f"== {section}", file=sys.stderr, flush=True)
        results[section] = runners[section]()
        if save:  # each section as it is done: a later failure keeps the earlier figures
            write(results)
    return results


def _module(name: str) -> Any:
    return importlib.import_module(name)


def write(results: dict[str, Any]) -> None:
    RESULTS.parent.mkdir(exist_ok=True)
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    merged = previous | results  # a partial run keeps the other sections' last figures
    RESULTS.write_text(json.dumps(merged, indent=1) + "\n")
    header = f"Measured {merged['date']} on {merged['machine']}, engine {merged['engine']}.\n\n"
    (RESULTS.parent / "results.md").write_text(header + report.markdown(merged))


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


def regressions(now: dict[str, Any], committed: dict[str, Any]) -> list[str]:
    """What got more than GROSS times worse than the committed run (ratios, not times)."""
    found = []

    def key(row: dict[str, Any]) -> tuple[Any, ...]:
        return (row.get("path"), row["scheme"], row["concurrency"], row["keepalive"])

    then_rows = {key(row): row for row in committed["proxy"]["small"]}
    for row in now["proxy"]["small"]:
        then = then_rows.get(key(row))
        if then is None:
            continue
        ratio, before = report.latency_ratio(row), report.latency_ratio(then)
        if ratio > GROSS * before:
            found.append(
                f"{row.get('path')} c={row['concurrency']} keepalive={row['keepalive']}: added "
                f"latency {ratio:.1f}x squid's, committed {before:.1f}x"
            )
    sizes = {row["entries"]: row["decision_us"] for row in now["allowlist"]}
    growth = sizes[max(sizes)] / sizes[min(sizes)]
    if growth > GROSS:
        found.append(f"allowlist decision time grows {growth:.1f}x from {min(sizes)} to "
                     f"{max(sizes)} entries")  # fmt: skip
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--engine", default="docker", choices=["docker", "podman"])
    parser.add_argument("--quick", action="store_true", help="fewer requests and runs")
    parser.add_argument(
        "--smoke", action="store_true",
        help="proxy latency and allowlist size only; fail if 3x worse than the committed run",
    )  # fmt: skip
    args = parser.parse_args()
    sections = ["proxy", "allowlist"] if args.smoke else args.only.split(",")
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    results = measure(
        sections, engine=args.engine, quick=args.quick, smoke=args.smoke, save=not args.smoke
    )
    text = report.markdown(results)
    print(text)
    if args.smoke:
        found = regressions(results, json.loads(RESULTS.read_text()))
        for problem in found:
            print(f"REGRESSION: {problem}", file=sys.stderr)
        if not found:
            print("smoke: no gross regression against bench/results/results.json")
        return 1 if found else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
