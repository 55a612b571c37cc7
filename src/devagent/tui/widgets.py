"""The TUI's widgets: the tree of environments, the live request log, the details text."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any, NamedTuple

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable, Tree
from textual.widgets.tree import TreeNode

from devagent.manager.facts import ContainerFacts, uptime
from devagent.manager.inbox import entry_for
from devagent.manager.requestlog import Tail
from devagent.manager.results import AllowlistResult, Environment
from devagent.manager.tmux import Session
from devagent.proxy.records import bounded
from devagent.runtime.models import ContainerInfo

STATE_MARK = {"running": "●", "stopped": "○", "partial": "◐", "missing": "·"}
STATE_STYLE = {"running": "green", "stopped": "dim", "partial": "yellow", "missing": "dim"}
LOG_ROWS = 500
LOG_COLUMNS = (("time", 8), ("decision", 8), ("destination", 24), ("status", 6), ("request", 40))


class Node(NamedTuple):
    """What a tree node stands for: an environment, one of its containers, or a session."""

    kind: str  # "env", "app", "proxy", "session"
    project_hash: str
    name: str = ""


class EnvironmentTree(Tree[Node]):
    """Each environment with its app (and its tmux sessions) and its proxy."""

    def show(
        self,
        environments: tuple[Environment, ...],
        sessions: dict[str, tuple[Session, ...]],
        keep: Node | None,
    ) -> TreeNode[Node] | None:
        """Rebuild the tree; returns the node to put the cursor on (``keep``'s, if it is
        still there, else its environment's, else the first environment's)."""
        self.clear()
        target: TreeNode[Node] | None = None
        tops: dict[str, TreeNode[Node]] = {}
        for env in environments:
            # An agent's environment sits under its project's (the listing puts it after).
            agent = env.agent
            parent = tops.get(agent["project_hash"], self.root) if agent else self.root
            node = parent.add(env_label(env), data=Node("env", env.project_hash))
            tops.setdefault(env.project_hash, node)
            node.expand()
            target = target or node
            if keep is not None and keep.project_hash == env.project_hash:
                target = node
            for role, container in (("app", env.app), ("proxy", env.proxy)):
                if container is None:
                    continue
                child = node.add(
                    container_label(role, container), data=Node(role, env.project_hash)
                )
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
        return target

    def relabel(self, environments: tuple[Environment, ...]) -> None:
        """Refresh the containers' status texts in place (the tree stays as it is)."""
        found = {env.project_hash: env for env in environments}
        pending = list(self.root.children)
        while pending:  # agents' environments are one level down
            node = pending.pop()
            pending += node.children
            if node.data is None or node.data.kind not in ("app", "proxy"):
                continue
            env = found.get(node.data.project_hash)
            container = getattr(env, node.data.kind, None) if env else None
            if container is not None:
                node.set_label(container_label(node.data.kind, container))


def container_label(role: str, container: ContainerInfo) -> Text:
    return Text.assemble((role, "bold"), f"  {container.status or container.state}")


def env_label(env: Environment) -> Text:
    name = Path(env.project_path).name or env.project_path
    if (agent := env.agent) is not None:
        name = f"agent {agent['name']} ({agent['branch']})"
    return Text.assemble(
        (STATE_MARK[env.state], STATE_STYLE[env.state]),
        " ",
        (name, "bold"),
        f"  {env.template or '?'} · {env.engine}",
    )


class RequestLog(DataTable[Text]):
    """The last LOG_ROWS requests of one environment, followed as the proxy logs them."""

    class ReadFailed(Message):
        """The request log could not be read; following it stopped."""

        def __init__(self, problem: str) -> None:
            super().__init__()
            self.problem = problem

    def __init__(self, *, id: str) -> None:
        super().__init__(id=id, cursor_type="row")
        self.records: list[dict[str, Any]] = []  # the rows, in order
        self.blocked_only = False
        self._tail: Tail | None = None

    def on_mount(self) -> None:
        for label, width in LOG_COLUMNS:
            self.add_column(label, width=width)

    def follow(self, log_dir: Path | None) -> None:
        """Show the log in ``log_dir`` from its start (None: show nothing)."""
        self.clear()
        self.records = []
        self._tail = Tail(log_dir, from_start=True) if log_dir is not None else None
        self.poll()

    def toggle_blocked_only(self) -> None:
        self.blocked_only = not self.blocked_only
        self.border_title = "Requests: blocked only (b: all)" if self.blocked_only else "Requests"

    def poll(self) -> None:
        if self._tail is None:
            return
        try:
            new = self._tail.poll()
        except (OSError, UnicodeDecodeError) as exc:
            self._tail = None
            self.post_message(self.ReadFailed(f"cannot read the request log: {exc}"))
            return
        new = [r for r in new if not self.blocked_only or r.get("decision") == "blocked"]
        if not new:
            return
        new = new[-LOG_ROWS:]
        overflow = len(self.records) + len(new) - LOG_ROWS
        if overflow > 0:
            self.clear()
            self.records = self.records[overflow:]
            for record in self.records:
                self.add_row(*log_row(record))
        at_end = self.cursor_row >= self.row_count - 1
        for record in new:
            self.records.append(record)
            self.add_row(*log_row(record))
        if at_end and not self.has_focus:
            self.move_cursor(row=self.row_count - 1)

    def current_record(self) -> dict[str, Any] | None:
        if not self.records or not 0 <= self.cursor_row < len(self.records):
            return None
        return self.records[self.cursor_row]


def allow_entry(record: dict[str, Any]) -> str:
    """The allowlist entry that lets a blocked request's destination through."""
    port = record.get("port")
    return entry_for(str(record.get("host", "")), port if isinstance(port, int) else 443,
                     str(record.get("reason", "")))  # fmt: skip


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
