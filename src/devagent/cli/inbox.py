"""devagent inbox / approve / reject: the requests that wait for the user, everywhere."""

from __future__ import annotations

import datetime
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from devagent.cli.command import result_command
from devagent.cli.context import AppContext
from devagent.manager.inbox import Answer, InboxResult
from devagent.manager.requestlog import parse_since
from devagent.render import inert, renders


@result_command()
@click.option("--all", "everything", is_flag=True, help="Answered items too.")
def inbox(app: AppContext, everything: bool) -> InboxResult:
    """Requests the proxies refused that wait for you, across every project and agent.

    Answer one with `devagent approve ID` (for 10 minutes; --always adds it to the
    allowlist; --for 1h) or `devagent reject ID` (the agent is told not to retry)."""
    return app.manager.inbox(everything=everything)


@result_command()
@click.argument("item", type=int)
@click.option("--always", is_flag=True, help="Add the entry to the allowlist for good.")
@click.option("--for", "for_", metavar="DURATION", default="10m", show_default=True,
              help="How long to allow it (30s, 10m, 2h, 1d).")  # fmt: skip
def approve(app: AppContext, item: int, always: bool, for_: str) -> InboxResult:
    """Let item ITEM's requests through, live: the agent's next try passes."""
    try:
        seconds = parse_since(for_).total_seconds()
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--for") from None
    return app.manager.answer(item, Answer(allow=True, always=always, seconds=seconds))


@result_command()
@click.argument("item", type=int)
def reject(app: AppContext, item: int) -> InboxResult:
    """Decline item ITEM: its requests stay refused, and the refusal tells the agent not to
    retry."""
    return app.manager.answer(item, Answer(allow=False))


@renders(InboxResult)
def render_inbox(console: Console, result: InboxResult) -> None:
    if (item := result.decided) is not None:
        what = {"allowed": f"allowed {item.entry} for good",
                "declined": f"declined {item.host}: the agent is told not to retry"}.get(
            item.state, f"allowed {item.entry} until {_clock(item.until)}")  # fmt: skip
        console.print(Text(f"Item {item.id}: {what}"))
        return
    if not result.items:
        console.print("Nothing waits for you.")
        return
    table = Table(box=None, header_style="bold")
    for column in ("ID", "WHERE", "HOST", "REQUEST", "COUNT", "LAST", "STATE"):
        table.add_column(column)
    for item in result.items:
        where = Path(item.project_path).name or item.project_hash
        where += f" / agent {item.agent}" if item.agent else ""
        table.add_row(str(item.id), inert(where), inert(f"{item.host}:{item.port}"),
                      inert(f"{item.method} {item.path}".strip()), str(item.count),
                      _clock(item.last), item.state)  # fmt: skip
    console.print(table)
    console.print("approve: devagent approve ID [--always | --for 1h]; decline: devagent reject ID",
                  highlight=False)  # fmt: skip


def _clock(moment: float | None) -> str:
    if moment is None:
        return "-"
    return datetime.datetime.fromtimestamp(moment).strftime("%H:%M:%S")
