"""The subprocess chokepoint: cancelling a command stops everything it started."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from devagent.runtime.executor import SubprocessExecutor


def test_cancel_stops_the_command_and_the_processes_it_started(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    # A child in the background that the shell would leave behind if only it were stopped
    # (as podman-compose outlives the devcontainer CLI).
    script = f"sleep 300 & echo $! > {pids}; echo started; wait"
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    started = time.monotonic()
    result = SubprocessExecutor().run(["sh", "-c", script], check=False, cancel=cancel)
    assert time.monotonic() - started < 15
    assert result.returncode != 0 and result.stdout == "started\n"
    child = int(pids.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def test_a_command_that_ends_first_is_not_touched() -> None:
    cancel = threading.Event()
    result = SubprocessExecutor().run(["sh", "-c", "echo done"], cancel=cancel)
    cancel.set()
    assert result.returncode == 0 and result.stdout == "done\n"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
