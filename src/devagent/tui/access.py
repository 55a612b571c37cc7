"""Getting into a running environment from the TUI: a shell, Claude, tmux sessions."""

from __future__ import annotations

from collections.abc import Callable

from textual import work
from textual.app import SuspendNotSupported
from textual.widgets import Tree

from devagent.errors import DevagentError
from devagent.project import Project
from devagent.tui.base import DevagentBase
from devagent.tui.screens import AskScreen, ConfirmScreen, session_name_problem
from devagent.tui.widgets import Node


class AccessActions(DevagentBase):
    def on_tree_node_selected(self, event: Tree.NodeSelected[Node]) -> None:
        if event.node.data is not None and event.node.data.kind == "session":
            self.attach(event.node.data)

    def action_shell(self) -> None:
        if (project := self.selected_project(running=True)) is not None:
            self.run_attached(lambda: self.backend.shell_argv(project, tty=True))

    def action_claude(self) -> None:
        if (project := self.selected_project(running=True)) is not None:
            self.run_attached(lambda: self.backend.claude_argv(project, tty=True))

    def attach(self, node: Node) -> None:
        if (project := self.selected_project(running=True)) is not None:
            self.run_attached(lambda: self.backend.attach_argv(project, node.name, tty=True))

    def run_attached(self, make_argv: Callable[[], list[str]]) -> None:
        """Hand the terminal to a command in the sandbox; come back when it ends."""
        try:
            argv = make_argv()
            with self.suspend():
                code = self.backend.run_interactive(argv)
        except DevagentError as exc:
            self.show_error(str(exc))
            return
        except SuspendNotSupported:
            self.show_error("this terminal cannot be handed over; use `devagent shell`")
            return
        self.show_message(f"Back from the sandbox (exit code {code}).")
        self.action_refresh()

    def action_new_session(self) -> None:
        if (project := self.selected_project(running=True)) is None:
            return

        def named(name: str | None) -> None:
            if name:
                self.session_action(project, name, create=True)

        self.push_screen(
            AskScreen("New tmux session", "name, e.g. work", session_name_problem), named
        )

    def action_kill_session(self) -> None:
        node = self.highlighted
        if node is None or node.kind != "session":
            self.show_error("select a tmux session in the tree first")
            return
        if (project := self.selected_project(running=True)) is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.session_action(project, node.name, create=False)

        self.push_screen(
            ConfirmScreen(f"Kill the tmux session {node.name!r}?", confirm="Kill"), answered
        )

    @work(thread=True, group="operation")
    def session_action(self, project: Project, name: str, *, create: bool) -> None:
        try:
            if create:
                self.backend.new_session(project, name)
            else:
                self.backend.kill_session(project, name)
        except DevagentError as exc:
            self.call_from_thread(self.show_error, str(exc))
            return
        verb = "Started" if create else "Killed"
        self.call_from_thread(self.show_message, f"{verb} tmux session {name}.")
        self.call_from_thread(self.action_refresh)

    def action_keys(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()
