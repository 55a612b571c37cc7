"""Turn command results into Rich output or JSON. The only module that formats results:
``show`` finds the renderer of a result by its type; every result has ``to_json``."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from rich.console import Console
from rich.table import Table
from rich.text import Text

from devagent.manager.agentcommands import AgentResult
from devagent.manager.doctor import DoctorReport
from devagent.manager.results import (
    AllowlistResult,
    CreateResult,
    Environment,
    LifecycleResult,
    ListResult,
    LogsResult,
    ProgressEvent,
    SessionsResult,
    StatusResult,
    TemplatesResult,
)
from devagent.manager.selftest import VerifyResult
from devagent.proxy.records import bounded

STATE_STYLE = {"running": "green", "stopped": "yellow", "partial": "red", "missing": "dim"}


class Result(Protocol):
    """What every command returns: printable for people (``show``) and as JSON."""

    def to_json(self) -> dict[str, Any]: ...


R = TypeVar("R")
_RENDERERS: dict[type[Any], Callable[[Console, Any], None]] = {}


def renders(
    kind: type[R],
) -> Callable[[Callable[[Console, R], None]], Callable[[Console, R], None]]:
    """Register the function that prints results of type ``kind`` for people."""

    def register(renderer: Callable[[Console, R], None]) -> Callable[[Console, R], None]:
        _RENDERERS[kind] = renderer
        return renderer

    return register


def show(console: Console, result: Result) -> None:
    """Print ``result`` for people, with the renderer registered for its type."""
    _RENDERERS[type(result)](console, result)


def print_json(data: dict[str, Any]) -> None:
    """Machine output: plain JSON on stdout, never styled."""
    print(json.dumps(data, indent=2))


class ProgressPrinter:
    """Renders progress events: steps always, tool output only when verbose."""

    def __init__(self, console: Console, *, verbose: bool) -> None:
        self.console = console
        self.verbose = verbose

    def __call__(self, event: ProgressEvent) -> None:
        if event.kind == "step":
            self.console.print(f"[bold cyan]>[/] {event.message}")
        elif self.verbose:
            self.console.print(event.message, style="dim", markup=False, highlight=False)


def _age(created: datetime.datetime | None) -> str:
    if created is None:
        return "-"
    seconds = int((datetime.datetime.now(datetime.UTC) - created).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def _state(env: Environment) -> str:
    return f"[{STATE_STYLE[env.state]}]{env.state}[/]"


@renders(ListResult)
def render_list(console: Console, result: ListResult) -> None:
    if not result.environments:
        console.print(f"No devagent environments on {result.engine}.")
        return
    table = Table(box=None, header_style="bold")
    for column in ("PROJECT", "STATE", "TEMPLATE", "APP", "PROXY", "AGE", "ACTIVE"):
        table.add_column(column)
    shown: set[str] = set()
    for env in result.environments:
        agent = env.agent
        if agent is not None and agent["project_hash"] not in shown:
            # Its project has no environment of its own: its folder heads its agents.
            shown.add(agent["project_hash"])
            table.add_row(Text(agent["project_path"]), "[dim]none[/]", *["-"] * 5)
        shown.add(env.project_hash)
        name = Text(f"└ {agent['name']} ({agent['branch']})") if agent else Text(env.project_path)
        table.add_row(
            name,
            _state(env),
            env.template or "-",
            env.app.name if env.app else "-",
            env.proxy.name if env.proxy else "-",
            _age(env.created),
            _age(env.active) + " ago" if env.active else "-",
        )
    console.print(table)


@renders(StatusResult)
def render_status(console: Console, result: StatusResult) -> None:
    env, engine_reason, warnings = result.environment, result.engine_reason, result.warnings
    console.print(f"[bold]{env.project_path}[/]  {_state(env)}")
    rows = [
        ("engine", engine_reason or env.engine),
        ("template", env.template or "-"),
        ("app", f"{env.app.name} ({env.app.status})" if env.app else "-"),
        ("proxy", f"{env.proxy.name} ({env.proxy.status})" if env.proxy else "-"),
        ("created", _age(env.created) + " ago" if env.created else "-"),
    ]
    if (agent := env.agent) is not None:
        rows.insert(
            0, ("agent", f"{agent['name']} on {agent['branch']} of {agent['project_path']}")
        )
    for key, value in rows:
        console.print(f"  {key:<9}{value}", highlight=False)
    for warning in warnings:
        console.print(f"[yellow]warning:[/] {warning}")


@renders(AgentResult)
def render_agent(console: Console, result: AgentResult) -> None:
    agent, env = result.agent, result.environment
    if result.action == "add":
        name = env.app.name if env.app else "?"
        console.print(f"[green]Ready:[/] agent {agent.name} on {agent.branch} ({name})")
        allowed = ", ".join(result.allowlist) or "nothing (every request is blocked)"
        for key, value in (("worktree", str(agent.worktree)), ("allowlist", allowed)):
            console.print(f"  {key + ':':<11}{value}", highlight=False)
        return
    gone = "its sandbox" if result.kept_worktree else "its sandbox and worktree"
    console.print(f"Removed agent {agent.name}: {gone}; branch {agent.branch} stays",
                  highlight=False)  # fmt: skip


@renders(CreateResult)
def render_create(console: Console, result: CreateResult) -> None:
    env = result.environment
    if result.backup:
        console.print(f"[yellow]Moved the previous .devcontainer to {result.backup}[/]")
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    console.print(f"[green]Ready:[/] {env.project_path} ({env.app.name if env.app else '?'})")
    allowed = ", ".join(result.allowlist) or "nothing (every request is blocked)"
    console.print(f"  allowlist: {allowed}", highlight=False)
    console.print(f"  files:     {result.devcontainer_dir}", highlight=False)


@renders(LifecycleResult)
def render_lifecycle(console: Console, result: LifecycleResult) -> None:
    env = result.environment
    verb = {"start": "Started", "stop": "Stopped", "destroy": "Destroyed"}[result.action]
    console.print(f"{verb}: {env.project_path}  {_state(env)}")
    for item in (*result.removed_images, *result.purged):
        console.print(f"  removed {item}", highlight=False)
    for warning in result.warnings:
        console.print(Text("warning: ", style="bold red") + Text(warning))


@renders(VerifyResult)
def render_verify(console: Console, result: VerifyResult) -> None:
    for check in result.checks:
        mark = "[green]ok[/]  " if check.ok else "[red]FAIL[/]"
        console.print(f"{mark} {check.name}  [dim]{check.detail}[/]", highlight=False)
    if result.ok:
        console.print(f"[green]Isolated:[/] {result.project_path}")
    else:
        console.print(f"[red]NOT isolated:[/] {result.project_path} - do not use it")


@renders(AllowlistResult)
def render_allowlist(console: Console, result: AllowlistResult) -> None:
    """The entries in force with their sources; after allow/deny, what changed and when."""
    action, asked = result.action, result.asked
    changed = result.added if action == "allow" else result.removed
    if action:
        if changed:
            verb = "Allowed" if action == "allow" else "Denied"
            console.print(f"{verb}: {', '.join(changed)}", highlight=False)
        else:
            console.print(f"Nothing changed: {', '.join(asked)}", highlight=False)
        if changed and result.live:
            console.print("[dim]the running proxy applies it to its next request[/]")
        elif changed:
            console.print("[dim]the environment is not running: it applies at the next start[/]")
    if not result.entries:
        console.print(f"{result.project_path}: nothing is allowed (every request is blocked)")
        return
    table = Table(box=None, header_style="bold")
    table.add_column("ENTRY")
    table.add_column("FROM")
    for view in result.entries:
        table.add_row(view.entry, ", ".join(view.sources))
    console.print(table)
    if result.denied:
        console.print(f"[dim]denied for this project: {', '.join(result.denied)}[/]")


def inert(value: object) -> Text:
    """Text from a request (the agent's words): shown as it is, never as markup, with
    control characters and escape sequences made visible (``\\x1b``)."""
    return Text(bounded(value, 4096))


DECISIONS = {
    "blocked": Text("BLOCKED", style="bold red"),
    "allowed": Text("allowed", style="green"),
    "error": Text("error", style="yellow"),
}


def _log_row(record: dict[str, Any]) -> tuple[Text, ...]:
    decision = str(record.get("decision", ""))
    port = record.get("port")
    host = str(record.get("host", ""))
    if port not in (None, 80, 443):
        host = f"{host}:{port}"
    status = record.get("status")
    duration = record.get("duration_ms")
    why = str(record.get("reason", "") if decision == "blocked" else (record.get("error") or ""))
    if record.get("credential"):
        why = f"{why} (credential: {record['credential']})".lstrip()
    return (
        inert(str(record.get("time", "")).replace("T", " ").rstrip("Z")),
        DECISIONS.get(decision, inert(decision)),
        inert(record.get("method", "")),
        inert(host),
        inert(record.get("path", "")),
        Text("-" if status is None else str(status)),
        Text("-" if not isinstance(duration, (int, float)) else f"{duration:.0f} ms"),
        inert(why),
    )


def render_log_record(console: Console, record: dict[str, Any]) -> None:
    """One line per request, for --follow."""
    console.print(Text("  ").join(cell for cell in _log_row(record) if cell.plain))


def render_logs(
    console: Console,
    records: Sequence[dict[str, Any]],
    blocked: Sequence[tuple[str, int]],
    allow_command: str,
) -> None:
    if not records:
        console.print("No requests logged.")
        return
    table = Table(box=None, header_style="bold")
    for column in ("TIME", "DECISION", "METHOD", "HOST", "PATH", "STATUS", "TOOK", "WHY"):
        table.add_column(column)
    for record in records:
        table.add_row(*_log_row(record))
    console.print(table)
    if blocked:
        console.print()
        console.print("[bold]Blocked hosts[/] (allow one with the command shown):")
        for host, count in blocked:
            line = Text("  ") + inert(host) + Text(f"  {count}x  ", style="dim")
            console.print(line + inert(allow_command.format(host=host)))


@renders(LogsResult)
def _show_logs(console: Console, result: LogsResult) -> None:
    render_logs(console, result.records, result.blocked_hosts, result.allow_command)


@renders(TemplatesResult)
def render_templates(console: Console, result: TemplatesResult) -> None:
    table = Table(box=None, header_style="bold")
    for column in ("NAME", "DESCRIPTION", "WHERE"):
        table.add_column(column)
    for template in result.templates:
        where = "built-in" if template.builtin else template.directory
        table.add_row(template.name, template.description, where)
    console.print(table)


@renders(SessionsResult)
def render_sessions(console: Console, result: SessionsResult) -> None:
    if not result.sessions:
        console.print("No tmux sessions.", highlight=False)
    for session in result.sessions:
        console.print(inert(session.describe()))


DOCTOR_MARK = {"ok": "[green]ok[/]  ", "warn": "[yellow]warn[/]", "fail": "[red]FAIL[/]"}


@renders(DoctorReport)
def render_doctor(console: Console, report: DoctorReport) -> None:
    for check in report.checks:
        console.print(f"{DOCTOR_MARK[check.status]} {check.name}: {check.detail}", highlight=False)
        if check.fix and check.status != "ok":
            console.print(f"       [dim]fix: {check.fix}[/]", highlight=False)
    for item in report.leftovers:
        line = Text("left: ", style="yellow") + inert(f"{item.kind} {item.name}")
        console.print(line + Text(f" ({item.why}; project {item.project})", style="dim"))
    for removed in report.removed:
        console.print(Text("removed: ") + inert(removed))
    if report.leftovers and not report.removed:
        console.print("[dim]`devagent doctor --fix` removes what is listed as left[/]")
    verdict = "[green]ready[/]" if report.ok else "[red]not ready[/]"
    console.print(f"devagent is {verdict} on this machine")
