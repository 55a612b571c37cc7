"""devagent logs: what the proxy let through and what it refused, for one project."""

from __future__ import annotations

import datetime
import json

import click

from devagent.cli.command import project_command
from devagent.cli.context import AppContext
from devagent.manager.requestlog import LogFilter, follow, parse_since
from devagent.manager.results import LogsResult
from devagent.project import Project
from devagent.render import render_log_record


def _since(text: str | None) -> datetime.datetime | None:
    if text is None:
        return None
    try:
        return datetime.datetime.now(datetime.UTC) - parse_since(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from exc


@project_command(json_help="JSON (with --follow: one per line).")
@click.option("-f", "--follow", "following", is_flag=True, help="Keep printing new requests.")
@click.option("--blocked", is_flag=True, help="Only refused requests.")
@click.option("--since", metavar="DURATION", help="Only the last DURATION (30s, 10m, 2h, 1d).")
@click.option(
    "--credential",
    metavar="NAME",
    help="Only the requests the proxy put this credential on (claude, github).",
)
@click.pass_context
def logs(
    ctx: click.Context, app: AppContext, project: Project, following: bool, blocked: bool,
    since: str | None, credential: str | None,
) -> LogsResult | None:  # fmt: skip
    """Show the proxy's request log of a project (default: the current directory)."""
    keep = LogFilter(blocked_only=blocked, since=_since(since), credential=credential)
    if not following:
        return app.manager.logs(project, keep)
    as_json = bool(ctx.params.get("as_json"))
    for record in follow(app.manager.request_log_dir(project), keep):
        if as_json:
            print(json.dumps(record, sort_keys=True), flush=True)
        else:
            render_log_record(app.console, record)
    return None
