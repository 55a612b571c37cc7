"""The terminal UI driven by Textual's pilot against a fake backend."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static, Tree

from devagent.errors import EngineError
from devagent.manager.inbox import Answer, InboxItem
from devagent.manager.tmux import Session
from devagent.tui.app import DevagentApp, allow_entry
from devagent.tui.inbox import InboxScreen
from devagent.tui.screens import ConfirmScreen, CreateScreen, ProgressScreen, ReportScreen
from tests.tui_fake import FakeBackend


def drive(app: DevagentApp, steps: Callable[[Pilot[None]], Awaitable[None]]) -> None:
    async def main() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await steps(pilot)

    asyncio.run(main())


async def settle(pilot: Pilot[None]) -> None:
    """Let workers finish and their results reach the screen."""
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def tree_labels(app: DevagentApp) -> list[str]:
    tree = app.query_one("#envs", Tree)
    labels = []

    def walk(node) -> None:  # type: ignore[no-untyped-def]
        for child in node.children:
            labels.append(str(child.label))
            walk(child)

    walk(tree.root)
    return labels


def text_of(app: DevagentApp, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


@pytest.fixture
def backend(tmp_path: Path) -> FakeBackend:
    fake = FakeBackend(tmp_path)
    fake.add("alpha")
    fake.add("beta", state="stopped", template="python-project")
    return fake


def test_tree_shows_each_environment_with_containers_and_sessions(backend: FakeBackend) -> None:
    alpha = backend.root / "alpha"
    backend.session_list[str(alpha)] = (Session("claude", 1, True),)
    app = DevagentApp(backend)

    async def steps(pilot: Pilot[None]) -> None:
        labels = tree_labels(app)
        assert labels[0] == "● alpha  basic · docker"
        assert "app  Up 5 minutes" in labels and "tmux claude (attached)" in labels
        assert "○ beta  python-project · docker" in labels
        # The first environment is selected: its facts, read from the engine, are shown.
        facts = text_of(app, "#facts")
        assert str(alpha) in facts and "caps none (dropped all)" in facts
        assert "memory 4.0 GiB · cpus 2 · pids 512" in facts
        assert "allowlist (1) api.anthropic.com" in facts
        # Down the tree to beta: the details follow the cursor.
        for _ in range(labels.index("○ beta  python-project · docker")):
            await pilot.press("down")
        await settle(pilot)
        assert str(backend.root / "beta") in text_of(app, "#facts")

    drive(app, steps)


def test_agents_sit_under_their_project(backend: FakeBackend) -> None:
    backend.add_agent("alpha", "fix-login")
    app = DevagentApp(backend)

    async def steps(pilot: Pilot[None]) -> None:
        tree = app.query_one("#envs", Tree)
        (alpha,) = [n for n in tree.root.children if str(n.label).startswith("● alpha")]
        agents = [str(n.label) for n in alpha.children if n.data and n.data.kind == "env"]
        assert agents == ["● agent fix-login (agent/fix-login)  basic · docker"]
        assert "app  Up 5 minutes" in [str(n.label) for n in alpha.children[-1].children]

    drive(app, steps)


def test_the_inbox_count_shows_and_its_screen_answers_items(backend: FakeBackend) -> None:
    alpha = str(backend.root / "alpha")
    item = InboxItem(7, "abc", alpha, None, "pypi.org", 443, "pypi.org", "GET", "/simple/",
                     1.8e9, 1.8e9, 3, "pending", None)  # fmt: skip
    backend.inbox_items = [item, replace(item, id=8, host="ads.test", entry="ads.test")]
    app = DevagentApp(backend)

    async def steps(pilot: Pilot[None]) -> None:
        assert app.sub_title == "inbox: 2 waiting (i)"
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, InboxScreen)
        await pilot.press("A")  # the first row: allowed for good
        await settle(pilot)
        assert ("answer", 7, Answer(allow=True, always=True)) in backend.calls
        assert "Inbox item 7: allowed pypi.org for good." in text_of(app, "#message")
        await pilot.press("i", "down", "r")
        await settle(pilot)
        assert ("answer", 8, Answer(allow=False)) in backend.calls
        assert app.sub_title == ""

    drive(app, steps)


def test_start_stop_and_destroy_act_on_the_selected_environment(backend: FakeBackend) -> None:
    app = DevagentApp(backend)
    alpha = str(backend.root / "alpha")

    async def steps(pilot: Pilot[None]) -> None:
        await pilot.press("x")
        await settle(pilot)
        assert ("stop", alpha) in backend.calls
        assert tree_labels(app)[0].startswith("○ alpha")
        await pilot.press("s")
        await settle(pilot)
        assert ("start", alpha) in backend.calls
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # declined: nothing happens
        await settle(pilot)
        assert ("destroy", alpha) not in backend.calls
        await pilot.press("d", "y")
        await settle(pilot)
        assert ("destroy", alpha) in backend.calls
        assert not any(label.startswith("● alpha") for label in tree_labels(app))
        assert "Destroyed the environment of" in text_of(app, "#message")

    drive(app, steps)


def test_create_form_validates_like_the_cli_then_creates_and_selects(
    backend: FakeBackend, tmp_path: Path
) -> None:
    app = DevagentApp(backend)
    gamma = tmp_path / "gamma"
    gamma.mkdir()

    async def steps(pilot: Pilot[None]) -> None:
        await pilot.press("c")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, CreateScreen)
        path = form.query_one("#path")
        path.value = str(tmp_path / "missing")  # type: ignore[attr-defined]
        form.query_one("#allow").value = "pypi.org"  # type: ignore[attr-defined]
        form.submit()
        await pilot.pause()
        assert "is not a directory" in str(form.query_one("#error", Static).render())
        path.value = str(gamma)  # type: ignore[attr-defined]
        form.query_one("#allow").value = "pypi.org, http://bad/"  # type: ignore[attr-defined]
        form.submit()
        await pilot.pause()
        assert "is a URL" in str(form.query_one("#error", Static).render())
        form.query_one("#allow").value = "pypi.org, *.example.com"  # type: ignore[attr-defined]
        form.submit()
        await settle(pilot)
        assert ("create", str(gamma), "basic", ("pypi.org", "*.example.com")) in backend.calls
        assert not isinstance(app.screen, ProgressScreen)  # closed on success
        await settle(pilot)
        node = app.query_one("#envs", Tree).cursor_node
        assert node is not None and str(node.label).startswith("● gamma")

    drive(app, steps)


def test_a_created_environment_stays_selected_when_the_tree_changes_twice_at_once(
    backend: FakeBackend,
) -> None:
    """Two listings can land before the cursor has moved to the new environment (it
    appears, then changes state); the second must not put the cursor back where it was."""
    app = DevagentApp(backend)

    async def steps(pilot: Pilot[None]) -> None:
        gamma = backend.add("gamma", state="stopped")
        app._want = gamma.hash
        app.show_environments(backend.list().environments, {})
        backend.states[str(gamma.path)] = "running"
        app.show_environments(backend.list().environments, {})  # before any refresh
        for _ in range(3):  # (not settle: the first listing's details load was cancelled)
            await pilot.pause()
        node = app.query_one("#envs", Tree).cursor_node
        assert node is not None and str(node.label).startswith("● gamma")
        assert app.selected == gamma.hash

    drive(app, steps)


def test_a_late_highlight_from_a_rebuild_does_not_take_the_selection_away(
    backend: FakeBackend,
) -> None:
    """A rebuild's highlight of the first row can arrive after the cursor moved to the
    environment just created: it must not select the first row."""
    app = DevagentApp(backend)

    async def steps(pilot: Pilot[None]) -> None:
        gamma = backend.add("gamma")
        app._want = gamma.hash
        app.show_environments(backend.list().environments, {})
        for _ in range(3):
            await pilot.pause()
        tree = app.query_one("#envs", Tree)
        first = tree.root.children[0]
        assert str(first.label).startswith("● alpha") and app.selected == gamma.hash
        tree.post_message(Tree.NodeHighlighted(first))  # news from before the move
        for _ in range(3):
            await pilot.pause()
        assert app.selected == gamma.hash
        await pilot.press("up")  # the user's own move still counts
        for _ in range(3):
            await pilot.pause()
        assert app.selected != gamma.hash

    drive(app, steps)


def test_errors_are_shown_in_place_and_the_ui_carries_on(backend: FakeBackend) -> None:
    backend.fail["start"] = EngineError("docker compose start failed", hint="see `docker ps`")
    app = DevagentApp(backend)

    async def steps(pilot: Pilot[None]) -> None:
        await pilot.press("s")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ProgressScreen)
        outcome = str(screen.query_one("#outcome", Static).render())
        assert "Failed: docker compose start failed (see `docker ps`)" in outcome
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ProgressScreen)
        await pilot.press("x")  # the next action works
        await settle(pilot)
        assert ("stop", str(backend.root / "alpha")) in backend.calls
        backend.fail["list"] = EngineError("Cannot connect to the Docker daemon")
        await pilot.press("r")
        await settle(pilot)
        assert "Cannot connect to the Docker daemon" in text_of(app, "#message")

    drive(app, steps)


def test_a_blocked_request_in_the_log_is_allowed_after_confirmation(
    backend: FakeBackend,
) -> None:
    alpha = backend.add("alpha")
    backend.log(alpha, host="api.anthropic.com")
    backend.log(alpha, host="pypi.org", decision="blocked", reason="not in allowlist",
                status=403)  # fmt: skip
    app = DevagentApp(backend, log_interval=0.05)

    async def steps(pilot: Pilot[None]) -> None:
        table = app.query_one("#log", DataTable)
        assert table.row_count == 2
        assert [str(c) for c in table.get_row_at(1)][:3] == ["08:30:00", "BLOCKED", "pypi.org:443"]
        table.focus()
        table.move_cursor(row=0)
        await pilot.press("w")  # an allowed row: nothing to allow
        await pilot.pause()
        assert "select a blocked request" in text_of(app, "#message")
        table.move_cursor(row=1)
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert ("allow", str(alpha.path), ("pypi.org",)) in backend.calls
        assert "Allowed pypi.org" in text_of(app, "#message")
        # New lines appear live.
        backend.log(alpha, host="pypi.org", path="/simple/")
        await pilot.pause(0.2)
        assert table.row_count == 3

    drive(app, steps)


def test_allow_entry_keeps_a_non_default_port() -> None:
    assert allow_entry({"host": "pypi.org", "port": 443}) == "pypi.org"
    assert allow_entry({"host": "example.test", "port": 8443}) == "example.test:8443"
    assert allow_entry({"host": "::1", "port": 8080}) == "[::1]:8080"


def test_shell_claude_and_sessions(backend: FakeBackend) -> None:
    alpha = str(backend.root / "alpha")
    backend.session_list[alpha] = (Session("work", 1, False),)
    app = DevagentApp(backend)
    app.suspend = contextlib.nullcontext  # type: ignore[assignment,method-assign]

    async def steps(pilot: Pilot[None]) -> None:
        await pilot.press("o")
        await pilot.pause()
        assert backend.calls[-1][0] == "interactive" and backend.calls[-1][1][-2:] == ("bash", "-l")
        await pilot.press("a")
        await pilot.pause()
        assert backend.calls[-1][1][-3:] == ("tmux", "new-session", "-A")
        assert "Back from the sandbox (exit code 0)" in text_of(app, "#message")
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"notes", "enter")
        await settle(pilot)
        assert ("new_session", alpha, "notes") in backend.calls
        assert "tmux notes (detached)" in tree_labels(app)
        await pilot.press("k")  # not on a session node
        await pilot.pause()
        assert "select a tmux session" in text_of(app, "#message")
        await pilot.press("down", "down")  # app, then its first session
        await pilot.press("k", "y")
        await settle(pilot)
        assert ("kill_session", alpha, "work") in backend.calls
        assert "tmux work (detached)" not in tree_labels(app)
        await pilot.press("down", "down", "enter")  # enter on a session node attaches to it
        await pilot.pause()
        assert backend.calls[-1][1][-3:] == ("attach", "-t", "notes")

    drive(app, steps)


def test_actions_that_need_a_running_environment_say_so(backend: FakeBackend) -> None:
    backend.states = {k: "stopped" for k in backend.states}
    app = DevagentApp(backend)

    async def steps(pilot: Pilot[None]) -> None:
        await pilot.press("o")
        await pilot.pause()
        assert "the environment is stopped; start it with s" in text_of(app, "#message")
        assert not any(call[0] == "interactive" for call in backend.calls)

    drive(app, steps)


def test_question_mark_lists_every_key(backend: FakeBackend) -> None:
    app = DevagentApp(backend)

    async def steps(pilot: Pilot[None]) -> None:
        await pilot.press("question_mark")
        await pilot.pause()
        assert app.screen.query("HelpPanel")
        await pilot.press("question_mark")
        await pilot.pause()
        assert not app.screen.query("HelpPanel")

    drive(app, steps)


def test_verify_reports_each_check_and_a_failure_says_so(backend: FakeBackend) -> None:
    app = DevagentApp(backend)

    async def steps(pilot: Pilot[None]) -> None:
        await pilot.press("v")
        await settle(pilot)
        report = app.screen
        assert isinstance(report, ReportScreen)
        assert report.title_text.endswith(": isolated")
        assert "ok   the only route leads to the proxy" in str(
            report.query_one("#report", Static).render()
        )
        await pilot.press("escape")
        backend.leaky = True
        await pilot.press("v")
        await settle(pilot)
        assert isinstance(app.screen, ReportScreen)
        assert app.screen.title_text.endswith("NOT isolated: do not use it")
        assert "FAIL an external name does not resolve" in str(
            app.screen.query_one("#report", Static).render()
        )

    drive(app, steps)


def test_deny_removes_an_entry_and_blocked_only_filters_the_log(backend: FakeBackend) -> None:
    alpha = backend.add("alpha")
    backend.allowed[str(alpha.path)] = ["pypi.org"]
    backend.log(alpha, host="api.anthropic.com")
    backend.log(alpha, host="evil.example", decision="blocked", status=403)
    app = DevagentApp(backend, log_interval=0.05)

    async def steps(pilot: Pilot[None]) -> None:
        await pilot.press("minus")
        await pilot.pause()
        await pilot.press(*"pypi.org", "enter")
        await settle(pilot)
        assert ("deny", str(alpha.path), ("pypi.org",)) in backend.calls
        assert "Denied: pypi.org." in text_of(app, "#message")
        assert "pypi.org" not in text_of(app, "#facts")
        table = app.query_one("#log", DataTable)
        assert table.row_count == 2
        await pilot.press("b")
        await pilot.pause(0.2)
        assert [r["host"] for r in app.records] == ["evil.example"] and table.row_count == 1
        backend.log(alpha, host="api.anthropic.com")  # allowed: not shown
        backend.log(alpha, host="x.example", decision="blocked", status=403)
        await pilot.pause(0.2)
        assert [r["host"] for r in app.records] == ["evil.example", "x.example"]
        await pilot.press("b")
        await pilot.pause(0.2)
        assert table.row_count == 4

    drive(app, steps)
