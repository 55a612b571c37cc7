"""devagent destroy: remove a project's containers, networks and images; never its files."""

from __future__ import annotations

import click

from devagent.cli.context import AppContext
from devagent.render import ProgressPrinter, print_json, render_lifecycle


@click.command()
@click.argument("target", required=False, metavar="[PATH|CONTAINER]")
@click.option(
    "--purge",
    is_flag=True,
    help="Also delete the per-project state (Claude config, proxy CA, request logs).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def destroy(app: AppContext, target: str | None, purge: bool, as_json: bool) -> None:
    """Destroy the environment of a project. The workspace is never touched."""
    manager = app.manager
    progress = ProgressPrinter(app.error_console, verbose=app.verbose)
    result = manager.destroy(manager.resolve(target), purge=purge, progress=progress)
    if as_json:
        print_json(result.to_json())
    else:
        render_lifecycle(app.console, result)
