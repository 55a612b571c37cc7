"""devagent's terminal UI: every environment in one tree, its facts, its live request log.

Everything it does goes through the Backend (the Manager): the operations are the CLI's.
Engine calls run in worker threads so that the screen never freezes; their results come
back to the UI thread with ``call_from_thread``.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult, SuspendNotSupported
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, Static, Tree
from textual.widgets.tree import TreeNode

from devagent.errors import DevagentError
from devagent.manager.facts import ContainerFacts, uptime
from devagent.manager.requestlog import Tail
from devagent.manager.results import AllowlistResult, Environment, Progress
from devagent.manager.tmux import Session
from devagent.project import Project, identify
from devagent.proxy.records import PRIVATE_ADDRESS, bounded
from devagent.tui.backend import Backend
from devagent.tui.screens import (
    AskScreen,
    ConfirmScreen,
    CreateRequest,
    CreateScreen,
    ProgressScreen,
    ReportScreen,
    session_name_problem,
)

STATE_MARK = {"running": "●", "stopped": "○", "partial": "◐", "missing": "·"}
STATE_STYLE = {"running": "green", "stopped": "dim", "partial": "yellow", "missing": "dim"}
LOG_ROWS = 500
LOG_COLUMNS = (("time", 8), ("decision", 8), ("destination", 24), ("status", 6), ("request", 40))


class Node(NamedTuple):
    """What a tree node stands for: an environment, one of its containers, or a session."""

    kind: str  # "env", "app", "proxy", "session"
    project_hash: str
    name: str = ""


def project_of(env: Environment) -> Project:
    return identify(env.project_path, must_exist=False)


def allow_entry(record: dict[str, Any]) -> str:
    """The allowlist entry that lets a blocked request's destination through."""
    host, port = str(record.get("host", "")), record.get("port")
    # Refused for resolving to a private address: the entry must say it may.
    suffix = " private" if record.get("reason") == PRIVATE_ADDRESS else ""
    if port in (None, 80, 443):
        return host + suffix
    return (f"[{host}]:{port}" if ":" in host else f"{host}:{port}") + suffix


def log_row(record: dict[str, Any]) -> list[Text]:
    blocked = record.get("decision") == "blocked"
    style = "bold red" if blocked else ""
    moment = str(record.get("time", ""))
    status = record.get("status")
    # What a request carried is shown inert: control characters made visible, no markup.
    return [
        Text(bounded(moment[11:19] if len(moment) >= 19 else moment), style),
        # A word, not only a colour: NO_COLOR terminals see it too.
        Text("BLOCKED" if blocked else "allowed", style),
        Text(bounded(f"{record.get('host', '')}:{record.get('port', '')}"), style),
        Text("" if status is None else str(status)),
        Text(bounded(f"{record.get('method', '')} {record.get('path', '')}", 4096)),
    ]


class DevagentApp(App[None]):
    TITLE = "devagent"
    CSS = """
    #envs { width: 34; border: round $primary; overflow-x: hidden; }
    #right { width: 1fr; }
    #details { height: 11; border: round $primary; padding: 0 1; }
    #log { height: 1fr; border: round $primary; }
    #message { height: 1; padding: 0 1; }
    #message.error { color: $error; text-style: bold; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        # In the order of the help bar, which shows what fits in the terminal's width.
        Binding("c", "create", "Create"),
        Binding("s", "start", "Start"),
        Binding("x", "stop", "Stop"),
        Binding("d", "destroy", "Destroy"),
        Binding("o", "shell", "Shell"),
        Binding("a", "claude", "Claude"),
        Binding("w", "allow", "Allow"),
        Binding("question_mark", "keys", "Keys"),
        Binding("q", "quit", "Quit"),
        Binding("n", "new_session", "New session"),
        Binding("k", "kill_session", "Kill session"),
        Binding("v", "verify", "Verify isolation"),
        Binding("minus", "deny", "Deny entry"),
        Binding("b", "blocked_only", "Blocked only"),
        Binding("r", "refresh", "Refresh"),
    ]

    def __init__(
        self, backend: Backend, *, poll_interval: float = 3.0, log_interval: float = 0.5
    ) -> None:
        super().__init__()
        self.backend = backend
        self.poll_interval, self.log_interval = poll_interval, log_interval
        self.environments: dict[str, Environment] = {}
        self.selected: str | None = None
        self.highlighted: Node | None = None
        self.records: list[dict[str, Any]] = []  # the rows of the log table, in order
        self.blocked_only = False
        self._tail: Tail | None = None
        self._signature: object = None
        self._want: str | None = None  # an environment to select once it appears

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Tree[Node]("environments", id="envs")
            with Vertical(id="right"):
                with VerticalScroll(id="details"):
                    yield Static("Select an environment.", id="facts")
                yield DataTable[Text](id="log", cursor_type="row")
        yield Static("", id="message")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        tree = self.query_one("#envs", Tree)
        tree.show_root = False
        tree.border_title = "Environments"
        self.query_one("#details").border_title = "Details"
        log = self.query_one("#log", DataTable)
        log.border_title = "Requests"
        for label, width in LOG_COLUMNS:
            log.add_column(label, width=width)
        self.action_refresh()
        self.set_interval(self.poll_interval, self.action_refresh)
        self.set_interval(self.log_interval, self.poll_log)

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
        signature = tuple(
            (
                env.project_hash,
                env.state,
                env.template,
                env.app.status if env.app else "",
                env.proxy.status if env.proxy else "",
                sessions.get(env.project_hash, ()),
            )
            for env in environments
        )
        if signature == self._signature:
            return
        self._signature = signature
        tree = self.query_one("#envs", Tree)
        keep = self.highlighted
        if self._want in self.environments:
            keep, self._want = Node("env", self._want), None
        tree.clear()
        target: TreeNode[Node] | None = None
        for env in environments:
            node = tree.root.add(self._env_label(env), data=Node("env", env.project_hash))
            node.expand()
            target = target or node  # the first environment, unless another was selected
            if keep is not None and keep.project_hash == env.project_hash:
                target = node  # its environment, if the node itself is gone
            for role, container in (("app", env.app), ("proxy", env.proxy)):
                if container is None:
                    continue
                label = Text.assemble((role, "bold"), f"  {container.status or container.state}")
                child = node.add(label, data=Node(role, env.project_hash))
                child.expand()
                if keep == child.data:
                    target = child
                if role != "app":
                    continue
                for session in sessions.get(env.project_hash, ()):
                    state = "attached" if session.attached else "detached"
                    leaf = child.add_leaf(
                        f"tmux {session.name} ({state})",
                        data=Node("session", env.project_hash, session.name),
                    )
                    if keep == leaf.data:
                        target = leaf
        if target is not None:
            self.call_after_refresh(tree.move_cursor, target)
        else:
            self.select(None)
        if self.selected in self.environments:
            self.load_details()

    @staticmethod
    def _env_label(env: Environment) -> Text:
        name = Path(env.project_path).name or env.project_path
        return Text.assemble(
            (STATE_MARK[env.state], STATE_STYLE[env.state]),
            " ",
            (name, "bold"),
            f"  {env.template or '?'} · {env.engine}",
        )

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[Node]) -> None:
        self.highlighted = event.node.data
        if self.highlighted is not None and self.highlighted.project_hash != self.selected:
            self.select(self.highlighted.project_hash)

    def on_tree_node_selected(self, event: Tree.NodeSelected[Node]) -> None:
        if event.node.data is not None and event.node.data.kind == "session":
            self.attach(event.node.data)

    def select(self, project_hash: str | None) -> None:
        self.selected = project_hash
        table = self.query_one("#log", DataTable)
        table.clear()
        self.records = []
        env = self.environments.get(project_hash or "")
        self._tail = (
            Tail(self.backend.request_log_dir(project_of(env)), from_start=True) if env else None
        )
        self.poll_log()
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

    # --- the request log ---------------------------------------------------------------
    def poll_log(self) -> None:
        if self._tail is None:
            return
        try:
            new = self._tail.poll()
        except (OSError, UnicodeDecodeError) as exc:
            self.show_error(f"cannot read the request log: {exc}")
            self._tail = None
            return
        new = [record for record in new if self._shown(record)]
        if not new:
            return
        table = self.query_one("#log", DataTable)
        new = new[-LOG_ROWS:]
        overflow = len(self.records) + len(new) - LOG_ROWS
        if overflow > 0:
            table.clear()
            self.records = self.records[overflow:]
            for record in self.records:
                table.add_row(*log_row(record))
        at_end = table.cursor_row >= table.row_count - 1
        for record in new:
            self.records.append(record)
            table.add_row(*log_row(record))
        if at_end and not table.has_focus:
            table.move_cursor(row=table.row_count - 1)

    def _shown(self, record: dict[str, Any]) -> bool:
        return not self.blocked_only or record.get("decision") == "blocked"

    def action_blocked_only(self) -> None:
        """Show only blocked requests (or everything again): the log is read anew."""
        self.blocked_only = not self.blocked_only
        self.query_one("#log", DataTable).border_title = (
            "Requests: blocked only (b: all)" if self.blocked_only else "Requests"
        )
        self.select(self.selected)

    def current_record(self) -> dict[str, Any] | None:
        table = self.query_one("#log", DataTable)
        if not self.records or not 0 <= table.cursor_row < len(self.records):
            return None
        return self.records[table.cursor_row]

    def action_allow(self) -> None:
        project = self.selected_project()
        record = self.current_record()
        if project is None:
            return
        if record is None or record.get("decision") != "blocked":
            self.show_error("select a blocked request in the request log first (tab, arrows)")
            return
        entry = allow_entry(record)

        def answered(yes: bool | None) -> None:
            if yes:
                self.change_allowlist(project, entry, allow=True)

        self.push_screen(
            ConfirmScreen(
                f"Allow {entry} for {project.path}?\n"
                f"It was blocked: {record.get('reason', '?')}.\n"
                "The running proxy applies it to the next request.",
                confirm="Allow",
            ),
            answered,
        )

    def action_deny(self) -> None:
        if (project := self.selected_project()) is None:
            return

        def chosen(entry: str | None) -> None:
            if entry:
                self.change_allowlist(project, entry, allow=False)

        self.push_screen(
            AskScreen(
                f"Deny an allowlist entry for {project.path}",
                "an entry, e.g. pypi.org",
                lambda entry: None if entry else "Type the entry to remove.",
                note="The running proxy refuses it from its next request on (`devagent deny`).",
            ),
            chosen,
        )

    @work(thread=True, group="operation")
    def change_allowlist(self, project: Project, entry: str, *, allow: bool) -> None:
        """`devagent allow` or `deny` of one entry; the running proxy applies it live."""
        try:
            if allow:
                self.backend.allow(project, [entry])
            else:
                result = self.backend.deny(project, [entry])
        except DevagentError as exc:
            self.call_from_thread(self.show_error, str(exc))
            return
        if allow:
            message = f"Allowed {entry} for {project.path}."
        else:
            message = (
                f"Denied: {', '.join(result.removed) or f'nothing ({entry} was not allowed)'}."
            )
        self.call_from_thread(self.show_message, message)
        self.call_from_thread(self.load_details)

    def action_verify(self) -> None:
        if (project := self.selected_project(running=True)) is not None:
            self.show_message(f"Verifying the isolation of {project.path}...")
            self.verify(project)

    @work(thread=True, group="operation")
    def verify(self, project: Project) -> None:
        try:
            result = self.backend.verify(project)
        except DevagentError as exc:
            self.call_from_thread(self.show_error, str(exc))
            return
        body = Text()
        for check in result.checks:
            mark, style = ("ok  ", "green") if check.ok else ("FAIL", "bold red")
            body.append(mark, style)
            body.append(f" {check.name}\n     {check.detail}\n")
        verdict = "isolated" if result.ok else "NOT isolated: do not use it"
        self.call_from_thread(self.push_screen, ReportScreen(f"{project.path}: {verdict}", body))
        self.call_from_thread(self.show_message, f"Verified {project.path}: {verdict}.")

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

    def action_create(self) -> None:
        templates = [template.name for template in self.backend.templates()]

        def validate(request: CreateRequest) -> None:
            self.backend.check_create(
                request.path or None, template=request.template or None, allow=request.allow
            )

        def submitted(request: CreateRequest | None) -> None:
            if request is None:
                return
            self._want = identify(request.path or Path.cwd(), must_exist=False).hash
            self.operate(
                f"Creating {request.path}",
                lambda progress: self.backend.create(
                    request.path or None,
                    template=request.template or None,
                    allow=request.allow,
                    progress=progress,
                ),
                f"Created {request.path}.",
            )

        self.push_screen(CreateScreen(templates, str(Path.cwd()), validate), submitted)

    def action_start(self) -> None:
        self._start_or_stop("start", "Starting", "Started")

    def action_stop(self) -> None:
        self._start_or_stop("stop", "Stopping", "Stopped")

    def _start_or_stop(self, action: str, doing: str, done: str) -> None:
        if (project := self.selected_project()) is not None:
            operation = getattr(self.backend, action)
            self.operate(
                f"{doing} {project.path}",
                lambda progress: operation(project, progress=progress),
                f"{done} {project.path}.",
            )

    def action_destroy(self) -> None:
        if (project := self.selected_project()) is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.operate(
                    f"Destroying {project.path}",
                    lambda progress: self.backend.destroy(project, progress=progress),
                    f"Destroyed the environment of {project.path}.",
                )

        self.push_screen(
            ConfirmScreen(
                f"Destroy the environment of {project.path}?\n"
                "Its containers, networks and images are removed; the project folder is kept.",
                confirm="Destroy",
            ),
            answered,
        )

    # --- getting in --------------------------------------------------------------------
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


def details_text(
    env: Environment,
    facts: tuple[ContainerFacts, ...],
    allowlist: AllowlistResult | None,
    problems: list[str],
    log_dir: Path,
) -> Text:
    text = Text()
    text.append(f"{env.project_path}\n", "bold")
    text.append(f"{env.state}", STATE_STYLE[env.state])
    text.append(f" · {env.template or '?'} · {env.engine} · {env.project_hash}\n")
    for fact in facts:
        since = uptime(fact.started_at, datetime.datetime.now(datetime.UTC))
        text.append(fact.name, "bold")
        text.append(f"  up {since}\n" if since else "\n")
        for line in fact.lines():
            text.append(f"  {line}\n")
    if allowlist is not None:
        entries = [view.entry for view in allowlist.entries]
        text.append(f"allowlist ({len(entries)}) ", "bold")
        text.append(", ".join(entries) + "\n")
        if allowlist.denied:
            text.append(f"denied {', '.join(allowlist.denied)}\n")
    text.append(f"request log {log_dir}\n", "dim")
    for problem in problems:
        text.append(f"{problem}\n", "red")
    return text
