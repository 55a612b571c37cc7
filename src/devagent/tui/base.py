"""The TUI's frame: its widgets, what it shows (environments, details, the request log) and
how an operation runs (in a worker thread, its progress on a screen of its own).

Everything goes through the Backend (the Manager): the operations are the CLI's. Engine
calls run in worker threads so that the screen never freezes; their results come back to
the UI thread with ``call_from_thread``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer, Static, Tree
from textual.widgets.tree import TreeNode

from devagent.errors import DevagentError
from devagent.manager.facts import ContainerFacts
from devagent.manager.results import AllowlistResult, Environment, Progress
from devagent.manager.tmux import Session
from devagent.project import Project, identify
from devagent.tui.backend import Backend
from devagent.tui.screens import ProgressScreen
from devagent.tui.widgets import EnvironmentTree, Node, RequestLog, details_text


def project_of(env: Environment) -> Project:
    return identify(env.project_path, must_exist=False)


class DevagentBase(App[None]):
    def __init__(
        self, backend: Backend, *, poll_interval: float = 3.0, log_interval: float = 0.5
    ) -> None:
        super().__init__()
        self.backend = backend
        self.poll_interval, self.log_interval = poll_interval, log_interval
        self.environments: dict[str, Environment] = {}
        self.selected: str | None = None
        self.highlighted: Node | None = None
        self._signature: object = None
        self._want: str | None = None  # an environment to select once it appears
        self._moving_to: Node | None = None  # where the cursor goes after a rebuild
        self._builds = 0  # rebuilds of the tree so far: a move is for the latest only

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield EnvironmentTree("environments", id="envs")
            with Vertical(id="right"):
                with VerticalScroll(id="details"):
                    yield Static("Select an environment.", id="facts")
                yield RequestLog(id="log")
        yield Static("", id="message")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        tree = self.query_one(EnvironmentTree)
        tree.show_root = False
        tree.border_title = "Environments"
        self.query_one("#details").border_title = "Details"
        self.request_log.border_title = "Requests"
        self.action_refresh()
        self.set_interval(self.poll_interval, self.action_refresh)
        self.set_interval(self.log_interval, self.request_log.poll)

    @property
    def request_log(self) -> RequestLog:
        return self.query_one(RequestLog)

    # --- messages ----------------------------------------------------------------------
    def show_message(self, text: str) -> None:
        message = self.query_one("#message", Static)
        message.remove_class("error")
        message.update(text)

    def show_error(self, text: str) -> None:
        message = self.query_one("#message", Static)
        message.add_class("error")
        message.update(Text(f"Error: {text}"))
        self.notify(text, severity="error", timeout=8)

    # --- the tree ----------------------------------------------------------------------
    def action_refresh(self) -> None:
        self.load_environments()

    @work(thread=True, exclusive=True, group="refresh")
    def load_environments(self) -> None:
        try:
            listing = self.backend.list()
            found: dict[str, tuple[Session, ...]] = {}
            for env in listing.environments:
                if env.state == "running":
                    try:
                        found[env.project_hash] = self.backend.sessions(project_of(env))
                    except DevagentError:
                        found[env.project_hash] = ()
        except DevagentError as exc:
            self.call_from_thread(self.show_error, str(exc))
            return
        self.call_from_thread(self.show_environments, listing.environments, found)

    def show_environments(
        self, environments: tuple[Environment, ...], sessions: dict[str, tuple[Session, ...]]
    ) -> None:
        self.environments = {env.project_hash: env for env in environments}
        # What the tree is made of; containers' status texts ("Up 5 seconds") change every
        # second and are relabelled in place: rebuilding would move the cursor each time.
        signature = tuple(
            (env.project_hash, env.state, env.template, env.app.state if env.app else "",
             env.proxy.state if env.proxy else "", sessions.get(env.project_hash, ()))
            for env in environments
        )  # fmt: skip
        tree = self.query_one(EnvironmentTree)
        if signature == self._signature:
            tree.relabel(environments)
            return
        self._signature = signature
        keep = self._moving_to or self.highlighted  # a move on its way wins over the past
        if self._want in self.environments:
            keep, self._want = Node("env", self._want), None
        target = tree.show(environments, sessions, keep)
        if target is not None:
            # Until the cursor is back on it, highlights from the rebuild are not choices.
            self._moving_to = target.data
            self._builds += 1
            self.call_after_refresh(self._restore_cursor, tree, target, self._builds)
        else:
            self.select(None)
        if self.selected in self.environments:
            self.load_details()

    def _restore_cursor(self, tree: EnvironmentTree, target: TreeNode[Node], build: int) -> None:
        if build != self._builds:
            return  # a later rebuild replaced the node; that rebuild's own move follows
        tree.move_cursor(target)
        self._moving_to = None
        self._highlight(target.data)  # not left to an event: one may come late, or none

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[Node]) -> None:
        moving_to = self._moving_to
        if moving_to is not None and event.node.data != moving_to:
            return
        if event.node is not event.control.cursor_node:
            return  # late news from a rebuild: the cursor is elsewhere since
        self._highlight(event.node.data)

    def _highlight(self, node: Node | None) -> None:
        self.highlighted = node
        if self.highlighted is not None and self.highlighted.project_hash != self.selected:
            self.select(self.highlighted.project_hash)

    def select(self, project_hash: str | None) -> None:
        self.selected = project_hash
        env = self.environments.get(project_hash or "")
        self.request_log.follow(self.backend.request_log_dir(project_of(env)) if env else None)
        if env is None:
            self.query_one("#facts", Static).update(
                "Select an environment, or press c to create one."
            )
        else:
            self.load_details()

    # --- details -----------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="details")
    def load_details(self) -> None:
        project_hash = self.selected
        env = self.environments.get(project_hash or "")
        if env is None:
            return
        project = project_of(env)
        facts: tuple[ContainerFacts, ...] = ()
        allowlist: AllowlistResult | None = None
        problems = []
        try:
            facts = self.backend.facts(project) if env.state != "missing" else ()
        except DevagentError as exc:
            problems.append(str(exc))
        try:
            allowlist = self.backend.allowlist(project)
        except DevagentError as exc:
            problems.append(str(exc))
        text = details_text(env, facts, allowlist, problems, self.backend.request_log_dir(project))
        self.call_from_thread(self._show_details, project_hash, text)

    def _show_details(self, project_hash: str | None, text: Text) -> None:
        if project_hash == self.selected:
            self.query_one("#facts", Static).update(text)

    # --- operations --------------------------------------------------------------------
    def selected_project(self, *, running: bool = False) -> Project | None:
        env = self.environments.get(self.selected or "")
        if env is None:
            self.show_error("select an environment first (or press c to create one)")
            return None
        if running and env.state != "running":
            self.show_error(f"the environment is {env.state}; start it with s")
            return None
        return project_of(env)

    def operate(self, title: str, operation: Callable[[Progress], object], done: str) -> None:
        screen = ProgressScreen(title)
        self.push_screen(screen)
        self._operate(screen, operation, done)

    @work(thread=True, group="operation")
    def _operate(
        self, screen: ProgressScreen, operation: Callable[[Progress], object], done: str
    ) -> None:
        def progress(event: Any) -> None:
            self.call_from_thread(screen.add_event, event)

        try:
            operation(progress)
        except DevagentError as exc:
            self.call_from_thread(screen.finish, f"Failed: {exc}", error=True)
        except Exception as exc:  # shown in place: the UI outlives a bug in one operation
            self.call_from_thread(
                screen.finish, f"Unexpected error: {type(exc).__name__}: {exc}", error=True
            )
        else:
            self.call_from_thread(self._succeeded, screen, done)
        self.call_from_thread(self.action_refresh)

    def _succeeded(self, screen: ProgressScreen, done: str) -> None:
        screen.finish(done, error=False)
        screen.dismiss(None)
        self.show_message(done)
