"""The terminal UI's end-to-end flow, as the engine's user runs it (no pytest needed).

    python tui_flow.py ENGINE PROJECT UPSTREAM ALIASES   # prints what it saw, as JSON

Drives the real UI (Textual's pilot, the real Manager built as `devagent tui` builds it):
create from the form, wait until running, join the suite's upstream to the project's
egress network, make a request that the proxy blocks, allow it from the log, and make it
again. The test (tests/e2e/test_tui.py) runs this in-process on Docker and as the rootless
user on Podman, and asserts on the result.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static, Tree

from devagent.cli.context import AppContext
from devagent.project import identify
from devagent.proxy.records import PRIVATE_ADDRESS
from devagent.tui.app import DevagentApp
from devagent.tui.screens import ConfirmScreen, CreateScreen, ProgressScreen

URL = "http://blocked.test/ui"


async def until(pilot: Pilot[None], condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await pilot.pause(0.2)
    return True


def status(engine: str, app: str) -> str:
    argv = [engine, "exec", "-u", "vscode", app, "curl", "-s", "-o", "/dev/null",
            "--max-time", "10", "-w", "%{http_code}", URL]  # fmt: skip
    return subprocess.run(argv, capture_output=True, text=True, check=False).stdout.strip()


def run(engine: str, project: Path, upstream: str, aliases: list[str]) -> dict[str, Any]:
    ident = identify(project, must_exist=False)
    app = DevagentApp(AppContext(runtime_choice=engine).manager, poll_interval=1.0,
                      log_interval=0.2)  # fmt: skip
    seen: dict[str, Any] = {}

    def running() -> bool:
        env = app.environments.get(ident.hash)
        return env is not None and env.state == "running"

    def blocked_row(reason: str | None = None) -> int | None:
        """The last blocked request to blocked.test (for ``reason``, if one is given)."""
        found = None
        for index, record in enumerate(app.records):
            if (
                record.get("host") == "blocked.test"
                and record.get("decision") == "blocked"
                and (reason is None or record.get("reason") == reason)
            ):
                found = index
        return found

    async def main() -> None:
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("c")
            await pilot.pause()
            seen["form"] = isinstance(app.screen, CreateScreen)
            app.screen.query_one("#path", Input).value = str(project)
            app.screen.query_one("#allow", Input).value = "allowed.test"
            await pilot.click("#create")
            await pilot.pause()
            seen["progress"] = isinstance(app.screen, ProgressScreen)
            await until(pilot, lambda: not isinstance(app.screen, ProgressScreen), 900)
            seen["running"] = await until(pilot, running, 60)
            node = app.query_one("#envs", Tree).cursor_node
            seen["selected"] = str(node.label) if node is not None else ""
            seen["facts"] = str(app.query_one("#facts", Static).render())
            network = f"devagent-{ident.hash}-egress"
            alias_args = [arg for name in aliases for arg in ("--alias", name)]
            subprocess.run([engine, "network", "connect", *alias_args, network, upstream],
                           check=True, capture_output=True)  # fmt: skip
            seen["before"] = await asyncio.to_thread(status, engine, ident.app_container)
            seen["blocked_seen"] = await until(pilot, lambda: blocked_row() is not None, 15)
            confirmed, messages, reason = [], [], None
            # Twice: the host, then (the suite's upstream is at a private address, which
            # the proxy refuses unless the entry says "private") the entry the log proposes.
            for _ in range(2):
                table = app.query_one("#log", DataTable)
                table.focus()
                table.move_cursor(row=blocked_row(reason) or 0)
                await pilot.press("w")
                await pilot.pause()
                confirmed.append(isinstance(app.screen, ConfirmScreen))
                await pilot.press("y")
                message = app.query_one("#message", Static)
                messages.append(
                    await until(
                        pilot, lambda m=message: "Allowed blocked.test" in str(m.render()), 30
                    )
                )
                start, after = time.monotonic(), ""
                while time.monotonic() - start < 10:
                    after = await asyncio.to_thread(status, engine, ident.app_container)
                    if after == "200":
                        break
                    await pilot.pause(0.1)
                if after == "200":
                    break
                reason = PRIVATE_ADDRESS
                await until(pilot, lambda: blocked_row(PRIVATE_ADDRESS) is not None, 15)
            seen["confirm"] = all(confirmed)
            seen["allowed_message"] = all(messages)
            seen["after"] = after
            seen["allowed_logged"] = await until(
                pilot,
                lambda: any(
                    r.get("host") == "blocked.test" and r.get("decision") == "allowed"
                    for r in app.records
                ),
                10,
            )
            subprocess.run([engine, "network", "disconnect", network, upstream],
                           check=False, capture_output=True)  # fmt: skip

    asyncio.run(main())
    return seen


if __name__ == "__main__":
    engine_name, project_dir, upstream_name, names = sys.argv[1:5]
    print(json.dumps(run(engine_name, Path(project_dir), upstream_name, names.split(","))))
