"""devagent list: every devagent environment on the engine."""

from __future__ import annotations

import click

from devagent.cli.context import AppContext
from devagent.render import print_json, render_list


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def list_command(app: AppContext, as_json: bool) -> None:
    """List environments with their state, template and age."""
    result = app.manager.list()
    if as_json:
        print_json(result.to_json())
    else:
        render_list(app.console, result)
