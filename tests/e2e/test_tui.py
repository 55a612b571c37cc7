"""The terminal UI against real engines: create from the form, watch, allow from the log.

The flow (tests/e2e/tui_flow.py) drives the real UI with Textual's pilot and the real
Manager, as the engine's user runs devagent: in-process as root on Docker, and as the
rootless user, in its own devagent installation, on Podman.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ROOTLESS_DEVAGENT, UPSTREAM_NAMES, Host, make_sandbox, run
from tests.e2e.tui_flow import run as run_flow

FLOW = Path(__file__).with_name("tui_flow.py")


def test_create_watch_and_allow_from_the_ui(
    engine: str, upstream: str, pki: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = Host(engine)
    root = host.scratch("devagent-e2e-tui-")
    box = make_sandbox(engine, root, pki, "tui project")
    try:
        if host.user is None:  # Docker: devagent runs as this user, in this process
            for key, value in box.env.items():
                monkeypatch.setenv(key, value)
            seen = run_flow(engine, box.project, upstream, UPSTREAM_NAMES)
        else:  # rootless Podman: as that user, with its own devagent installation
            flow = root / "tui_flow.py"
            shutil.copy(FLOW, flow)
            host.give(root)
            python = str(Path(ROOTLESS_DEVAGENT).with_name("python"))
            names = ",".join(UPSTREAM_NAMES)
            done = run(host.argv([python, str(flow), engine, str(box.project), upstream, names],
                                 box.env))  # fmt: skip
            seen = json.loads(done.stdout.strip().splitlines()[-1])
        check(seen)
    finally:
        box.disconnect_upstream(upstream)
        box.devagent("destroy", str(box.project), "--purge", check=False)
        shutil.rmtree(root, ignore_errors=True)


def check(seen: dict[str, Any]) -> None:
    assert seen["form"] and seen["progress"], seen
    assert seen["running"] and "tui project" in seen["selected"], seen
    assert "caps none" in seen["facts"] and "allowed.test" in seen["facts"], seen
    assert seen["before"] == "403" and seen["blocked_seen"], seen
    assert seen["confirm"] and seen["allowed_message"], seen
    assert seen["after"] == "200" and seen["allowed_logged"], seen
