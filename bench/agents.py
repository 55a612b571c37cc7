"""`devagent agent add` for the 1st, 2nd and 5th agent of one repository, against the
project's own first `create` in the same run (same template, same build cache): an agent
reuses every cached layer, so adding one should cost a create without its builds."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import scratch

GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@test"]


def timed_devagent(env: dict[str, str], *args: str) -> float:
    start = time.perf_counter()
    scratch.devagent(env, *args)
    return time.perf_counter() - start


def run(root: Path, env: dict[str, str], *, count: int = 5) -> list[dict[str, object]]:
    repo = root / "bench-agents"
    repo.mkdir()
    subprocess.run([*GIT, "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run([*GIT, "-C", str(repo), "commit", "-q", "--allow-empty", "-m", "start"],
                   check=True)  # fmt: skip
    try:
        create = timed_devagent(env, "create", str(repo))
        adds = [timed_devagent(env, "agent", "add", str(repo), f"a{n}") for n in range(1, count + 1)]
    finally:
        subprocess.run([*scratch.DEVAGENT, "destroy", str(repo), "--agents", "--force", "--purge"],
                       env=env, capture_output=True, check=False)  # fmt: skip
    return [
        {"what": f"agent add ({nth})", "devagent_s": adds[index], "baseline_s": create,
         "baseline": "the project's first create"}
        for nth, index in (("1st", 0), ("2nd", 1), (f"{count}th", count - 1))
    ]  # fmt: skip
