"""devagent start: start a project's app and proxy containers with compose."""

from __future__ import annotations

import click

from devagent.cli.context import AppContext
from devagent.render import ProgressPrinter, print_json, render_lifecycle


@click.command()
@click.argument("target", required=False, metavar="[PATH|CONTAINER]")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def start(app: AppContext, target: str | None, as_json: bool) -> None:
    """Start the environment of a project (default: the current directory)."""
    manager = app.manager
    progress = ProgressPrinter(app.error_console, verbose=app.verbose)
    result = manager.start(manager.resolve(target), progress=progress)
    if as_json:
        print_json(result.to_json())
    else:
        render_lifecycle(app.console, result)
