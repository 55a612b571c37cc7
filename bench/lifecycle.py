"""Lifecycle benchmark: devagent next to the bare tools it drives, in one run.

Each devagent figure is taken alternately with its baseline on the same environment, so
machine noise falls on both: `devagent create` (re-create, warm images) against `compose
down` + `devcontainer up` by hand; `devagent start`/`stop` against bare `compose
start`/`stop`; `devagent list`; `devagent --help` against `python -c pass`. devagent's
start and create also check the app's routes and its path to the proxy: that work is part
of the figure. `devagent list` is timed with 1, 10 and 50 environments: the extra ones are
pairs of stopped containers carrying devagent's labels (list reads labels from one `ps`).
`agent add` is timed for the 1st, 2nd and 5th agent of a repository (see agents.py).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import agents
import scratch

HERE = Path(__file__).parent
DEVAGENT = scratch.DEVAGENT


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


FAKE_IMAGE = "debian:bookworm-slim"


def _fake_environments(engine: str, first: int, stop: int, env: dict[str, str]) -> list[str]:
    """Stopped app + proxy pairs labelled as devagent environments, numbered first..stop-1."""
    names = []
    for index in range(first, stop):
        key = f"bench{index:07d}"
        path = f"/srv/devagent-bench/fake-{index}"
        for role, labels in (
            ("app", [f"devagent.project_hash={key}"]),
            ("proxy", [f"devagent.sidecar_of={key}", "devagent.sidecar_type=proxy"]),
        ):
            name = f"devagent-{key}-{role}"
            argv = [engine, "create", "--name", name, "--label", "devagent.managed=true"]
            argv += ["--label", f"devagent.project_path={path}"]
            for label in labels:
                argv += ["--label", label]
            subprocess.run([*argv, FAKE_IMAGE, "true"], env=env, check=True, capture_output=True)
            names.append(name)
    return names


def run(*, engine: str = "docker", runs: int = 5) -> list[dict[str, object]]:
    root = Path(tempfile.mkdtemp(prefix="devagent-bench-"))
    project = root / "bench-project"
    project.mkdir()
    env = scratch.environment(root, engine)
    compose_bin = "docker-compose" if engine == "docker" else "podman-compose"
    scratch.devagent(env, "create", str(project))
    info = json.loads(scratch.devagent(env, "status", str(project), "--json"))
    name = f"devagent{info['project_hash']}"
    dot = project / ".devcontainer"
    compose = [compose_bin, "--project-name", name, "--file", str(dot / "docker-compose.yml")]
    up = ["devcontainer", "up", "--workspace-folder", str(project), "--docker-path", engine]
    up += ["--docker-compose-path", compose_bin]
    cenv = {**env, "COMPOSE_PROJECT_NAME": name}
    rows: list[dict[str, object]] = []
    fakes: list[str] = []

    def row(what: str, pair: tuple[float, float], baseline: str) -> None:
        rows.append({"what": what, "devagent_s": pair[0], "baseline_s": pair[1],
                     "baseline": baseline})  # fmt: skip

    def dev(*words: str) -> Callable[[], float]:
        return lambda: timed([*DEVAGENT, *words], env=env)

    try:

        def bare_create() -> float:
            down = timed([*compose, "down", "--remove-orphans"], env=cenv, cwd=dot)
            return down + timed(up, env=cenv, cwd=dot)

        row("create (warm, re-create)", alternate(runs, dev("create", str(project)), bare_create),
            "compose down + devcontainer up")  # fmt: skip

        def dev_cycle() -> float:
            return dev("stop", str(project))() + dev("start", str(project))()

        def bare_cycle() -> float:
            stop = timed([*compose, "stop"], env=cenv, cwd=dot)
            return stop + timed([*compose, "start"], env=cenv, cwd=dot)

        row("stop + start", alternate(runs, dev_cycle, bare_cycle), "compose stop + start")
        ps = [engine, "ps", "-a", "--filter", "label=devagent.managed=true"]
        for count in (1, 10, 50):
            fakes += _fake_environments(engine, len(fakes) // 2, count - 1, env)
            row(f"list ({count} environments)",
                alternate(runs, dev("list"), lambda: timed(ps, env=env)),
                f"{engine} ps -a --filter label=devagent.managed=true")  # fmt: skip
        row("--help", alternate(runs, dev("--help"), lambda: timed([sys.executable, "-c", "pass"],
            env=env)), "python -c pass")  # fmt: skip
        rows += agents.run(root, env)
    finally:
        if fakes:
            subprocess.run([engine, "rm", "-f", *fakes], env=env, capture_output=True, check=False)
        subprocess.run(
            [*DEVAGENT, "destroy", str(project), "--purge"],
            env=env,
            capture_output=True,
            check=False,
        )
    return rows
