"""devagent allowlist: the hosts a project's environment may reach, and why."""

from __future__ import annotations

import click

from devagent.cli.context import AppContext
from devagent.render import print_json, render_allowlist


@click.command()
@click.argument("target", required=False, metavar="[PATH|CONTAINER]")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def allowlist(app: AppContext, target: str | None, as_json: bool) -> None:
    """Show the allowlist in force for a project, with the source of each entry."""
    manager = app.manager
    result = manager.allowlist(manager.resolve(target))
    if as_json:
        print_json(result.to_json())
    else:
        render_allowlist(app.console, result)
