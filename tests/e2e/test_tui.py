"""The terminal UI against a real engine: create from the form, watch, allow from the log.

Driven in-process by Textual's pilot with the real Manager (the one `devagent tui` uses), on
Docker as root. Rootless Podman would need the UI to run as the engine's user: the same
Manager code is covered there by the CLI's end-to-end tests.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static, Tree

from devagent.cli.context import AppContext
from devagent.tui.app import DevagentApp
from devagent.tui.screens import ConfirmScreen, CreateScreen, ProgressScreen
from tests.e2e.conftest import Host, Sandbox, make_sandbox


async def until(pilot: Pilot[None], condition: Callable[[], bool], timeout: float) -> float:
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, "timed out"
        await pilot.pause(0.2)
    return time.monotonic() - start


def status_of(box: Sandbox, url: str) -> str:
    return box.curl(url).stdout.rsplit("\n", 1)[-1]


@pytest.mark.parametrize("engine", ["docker"], indirect=True)
def test_create_watch_and_allow_from_the_ui(
    engine: str, upstream: str, pki: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = Host(engine).scratch("devagent-e2e-tui-")
    box = make_sandbox(engine, root, pki, "tui project")
    for key, value in box.env.items():
        monkeypatch.setenv(key, value)
    manager = AppContext(runtime_choice=engine).manager
    app = DevagentApp(manager, poll_interval=1.0, log_interval=0.2)

    def running() -> bool:
        env = app.environments.get(box.hash)
        return env is not None and env.state == "running"

    def blocked_row() -> int | None:
        for index, record in enumerate(app.records):
            if record.get("host") == "blocked.test" and record.get("decision") == "blocked":
                return index
        return None

    async def main() -> None:
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("c")
            await pilot.pause()
            form = app.screen
            assert isinstance(form, CreateScreen)
            form.query_one("#path", Input).value = str(box.project)
            form.query_one("#allow", Input).value = "allowed.test"
            await pilot.click("#create")
            await pilot.pause()
            assert isinstance(app.screen, ProgressScreen)
            await until(pilot, lambda: not isinstance(app.screen, ProgressScreen), 600)
            await until(pilot, running, 30)
            node = app.query_one("#envs", Tree).cursor_node
            assert node is not None and "tui project" in str(node.label)
            facts = str(app.query_one("#facts", Static).render())
            assert "caps none (dropped all)" in facts and "allowed.test" in facts

            await asyncio.to_thread(box.connect_upstream, upstream)
            assert await asyncio.to_thread(status_of, box, "http://blocked.test/ui") == "403"
            await until(pilot, lambda: blocked_row() is not None, 10)
            table = app.query_one("#log", DataTable)
            table.focus()
            row = blocked_row()
            assert row is not None
            table.move_cursor(row=row)
            await pilot.press("w")
            await pilot.pause()
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("y")
            await until(pilot, lambda: "Allowed blocked.test" in _message(app), 30)
            start = time.monotonic()
            while await asyncio.to_thread(status_of, box, "http://blocked.test/ui") != "200":
                assert time.monotonic() - start < 10, "the allowed host stayed blocked"
                await pilot.pause(0.1)
            await until(
                pilot,
                lambda: any(
                    r.get("host") == "blocked.test" and r.get("decision") == "allowed"
                    for r in app.records
                ),
                10,
            )

    try:
        asyncio.run(main())
    finally:
        box.disconnect_upstream(upstream)
        box.devagent("destroy", str(box.project), "--purge", check=False)
        shutil.rmtree(root, ignore_errors=True)


def _message(app: DevagentApp) -> str:
    return str(app.query_one("#message", Static).render())
