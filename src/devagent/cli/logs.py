"""devagent logs: what the proxy let through and what it refused, for one project."""

from __future__ import annotations

import datetime
import json
import shlex

import click

from devagent.cli.context import AppContext
from devagent.manager.requestlog import LogFilter, blocked_hosts, follow, parse_since, read
from devagent.render import print_json, render_log_record, render_logs


def _since(text: str | None) -> datetime.datetime | None:
    if text is None:
        return None
    try:
        return datetime.datetime.now(datetime.UTC) - parse_since(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from exc


@click.command()
@click.argument("target", required=False, metavar="[PATH|CONTAINER]")
@click.option("-f", "--follow", "following", is_flag=True, help="Keep printing new requests.")
@click.option("--blocked", is_flag=True, help="Only refused requests.")
@click.option("--since", metavar="DURATION", help="Only the last DURATION (30s, 10m, 2h, 1d).")
@click.option("--json", "as_json", is_flag=True, help="JSON (with --follow: one per line).")
@click.pass_obj
def logs(
    app: AppContext, target: str | None, following: bool, blocked: bool, since: str | None,
    as_json: bool,
) -> None:  # fmt: skip
    """Show the proxy's request log of a project (default: the current directory)."""
    project = app.manager.resolve(target)
    log_dir = app.paths.proxy_logs_dir(project.hash)
    keep = LogFilter(blocked_only=blocked, since=_since(since))
    allow = "devagent allow {host} " + shlex.quote(str(project.path))
    if following:
        for record in follow(log_dir, keep):
            if as_json:
                print(json.dumps(record, sort_keys=True), flush=True)
            else:
                render_log_record(app.console, record)
        return
    records = read(log_dir, keep)
    hosts = blocked_hosts(records)
    if as_json:
        print_json(
            {
                "project_path": str(project.path),
                "records": records,
                "blocked_hosts": [
                    {"host": host, "count": count, "allow_command": allow.format(host=host)}
                    for host, count in hosts
                ],
            }
        )
    else:
        render_logs(app.console, records, hosts, allow)
