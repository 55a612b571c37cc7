"""SVG snapshots of the terminal UI's main screens at 80x24 (tests/unit/__snapshots__/).

Update after a deliberate change with `pytest tests/unit/tui/test_tui_snapshots.py
--snapshot-update`, then look at the SVGs as a user would.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from devagent.errors import EngineError
from devagent.manager.tmux import Session
from devagent.tui.app import DevagentApp
from tests.tui_fake import FakeBackend
from tests.unit.tui.test_tui import settle

# A fixed folder: project paths and their hashes appear on screen.
ROOT = Path("/tmp/devagent-tui-snapshots")
SIZE = (80, 24)


@pytest.fixture
def backend() -> Iterator[FakeBackend]:
    shutil.rmtree(ROOT, ignore_errors=True)
    fake = FakeBackend(ROOT)
    web = fake.add("api-server")
    fake.add("data-pipeline", template="python-project")
    fake.add("old-experiment", state="stopped")
    fake.session_list[str(web.path)] = (Session("claude", 1, True), Session("tests", 1, False))
    fake.log(web, host="api.anthropic.com", method="POST", path="/v1/messages")
    fake.log(web, host="registry.npmjs.org", path="/express")
    fake.log(web, host="evil.example", decision="blocked", reason="not in allowlist",
             status=403, time="2026-11-28T08:30:05Z")  # fmt: skip
    fake.log(web, host="pypi.org", decision="blocked", reason="not in allowlist",
             path="/simple/requests/", status=403, time="2026-11-28T08:30:09Z")  # fmt: skip
    yield fake
    shutil.rmtree(ROOT, ignore_errors=True)


def test_main_screen(snap_compare: Any, backend: FakeBackend) -> None:
    assert snap_compare(DevagentApp(backend), terminal_size=SIZE, run_before=settle)


def test_main_screen_without_colour(
    snap_compare: Any, backend: FakeBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(DevagentApp(backend), terminal_size=SIZE, run_before=settle)


def test_create_form(snap_compare: Any, backend: FakeBackend) -> None:
    async def open_form(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("c")
        await pilot.pause()
        pilot.app.screen.query_one("#path").value = str(ROOT / "api-server")  # type: ignore[attr-defined]

    assert snap_compare(DevagentApp(backend), terminal_size=SIZE, run_before=open_form)


def test_failed_operation(snap_compare: Any, backend: FakeBackend) -> None:
    backend.fail["start"] = EngineError("docker compose start failed", hint="see `docker ps -a`")

    async def fail(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)

    assert snap_compare(DevagentApp(backend), terminal_size=SIZE, run_before=fail)


def test_allow_from_log_confirmation(snap_compare: Any, backend: FakeBackend) -> None:
    async def ask(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("tab")
        await pilot.pause()
        pilot.app.query_one("#log").move_cursor(row=3)  # type: ignore[attr-defined]
        await pilot.press("w")
        await pilot.pause()

    assert snap_compare(DevagentApp(backend), terminal_size=SIZE, run_before=ask)
