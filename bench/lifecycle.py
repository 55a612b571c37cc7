"""Lifecycle benchmark: devagent next to the bare tools it drives, in one run.

    .venv/bin/python bench/lifecycle.py [--engine docker] [--runs 5]

Each devagent figure is taken alternately with its baseline on the same environment, so
machine noise falls on both: `devagent create` (re-create, warm images) against `compose
down` + `devcontainer up` by hand; `devagent start`/`stop` against bare `compose
start`/`stop`; `devagent list`; `devagent --help` against `python -c pass`. devagent's
start and create also check the app's routes and its path to the proxy: that work is part
of the figure. Prints a Markdown table and writes bench/results/lifecycle-<engine>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).parent
DEVAGENT = [sys.executable, "-m", "devagent"]


def timed(argv: list[str], *, env: dict[str, str], cwd: Path | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def alternate(
    runs: int, ours: Callable[[], float], base: Callable[[], float]
) -> tuple[float, float]:
    mine, theirs = [], []
    for _ in range(runs):
        mine.append(ours())
        theirs.append(base())
    return statistics.median(mine), statistics.median(theirs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", default="docker", choices=["docker", "podman"])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="devagent-bench-"))
    project = scratch / "bench-project"
    project.mkdir()
    env = {
        **os.environ,
        "DEVAGENT_CONFIG_DIR": str(scratch / "config"),
        "DEVAGENT_DATA_DIR": str(scratch / "data"),
        "DEVAGENT_STATE_DIR": str(scratch / "state"),
        "DEVAGENT_RUNTIME": args.engine,
    }
    compose_bin = "docker-compose" if args.engine == "docker" else "podman-compose"
    subprocess.run([*DEVAGENT, "create", str(project)], env=env, check=True, capture_output=True)
    status = subprocess.run(
        [*DEVAGENT, "status", str(project), "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    info = json.loads(status.stdout)
    name = f"devagent{info['project_hash']}"
    dot = project / ".devcontainer"
    compose = [compose_bin, "--project-name", name, "--file", str(dot / "docker-compose.yml")]
    up = [
        "devcontainer",
        "up",
        "--workspace-folder",
        str(project),
        "--docker-path",
        args.engine,
        "--docker-compose-path",
        compose_bin,
    ]
    cenv = {**env, "COMPOSE_PROJECT_NAME": name}
    rows: dict[str, tuple[float, float, str]] = {}
    try:

        def dev(*words: str) -> Callable[[], float]:
            return lambda: timed([*DEVAGENT, *words], env=env)

        def bare_create() -> float:
            return timed([*compose, "down", "--remove-orphans"], env=cenv, cwd=dot) + timed(
                up, env=cenv, cwd=dot
            )

        rows["create (warm, re-create)"] = (
            *alternate(args.runs, dev("create", str(project)), bare_create),
            "compose down + devcontainer up",
        )

        def dev_cycle() -> float:
            return timed([*DEVAGENT, "stop", str(project)], env=env) + timed(
                [*DEVAGENT, "start", str(project)], env=env
            )

        def bare_cycle() -> float:
            return timed([*compose, "stop"], env=cenv, cwd=dot) + timed(
                [*compose, "start"], env=cenv, cwd=dot
            )

        rows["stop + start"] = (
            *alternate(args.runs, dev_cycle, bare_cycle),
            "compose stop + start",
        )
        rows["list (1 environment)"] = (
            *alternate(args.runs, dev("list"), lambda: timed([args.engine, "ps", "-a"], env=env)),
            f"{args.engine} ps -a",
        )
        rows["--help"] = (
            *alternate(
                args.runs, dev("--help"), lambda: timed([sys.executable, "-c", "pass"], env=env)
            ),
            "python -c pass",
        )
    finally:
        subprocess.run(
            [*DEVAGENT, "destroy", str(project), "--purge"],
            env=env,
            capture_output=True,
            check=False,
        )
    print(f"| {args.engine}: what | devagent | baseline | ratio | baseline is |")
    print("|---|---|---|---|---|")
    for what, (ours, theirs, baseline) in rows.items():
        print(f"| {what} | {ours:.2f} s | {theirs:.2f} s | {ours / theirs:.2f}x | {baseline} |")
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / f"lifecycle-{args.engine}.json").write_text(
        json.dumps(
            {
                what: {"devagent_s": a, "baseline_s": b, "baseline": c}
                for what, (a, b, c) in rows.items()
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
