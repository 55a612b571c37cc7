"""devagent create: generate a project's .devcontainer/ and bring the environment up."""

from __future__ import annotations

import click

from devagent.cli.context import AppContext
from devagent.render import ProgressPrinter, print_json, render_create


@click.command()
@click.argument("path", required=False, type=click.Path(file_okay=False))
@click.option("-t", "--template", help="Template name (default: from config, else 'basic').")
@click.option("--allow", "allow", multiple=True, metavar="DOMAIN",
              help="Also allow DOMAIN (or *.DOMAIN); repeatable.")  # fmt: skip
@click.option("--force", is_flag=True, help="Move an existing non-devagent .devcontainer aside.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def create(
    app: AppContext,
    path: str | None,
    template: str | None,
    allow: tuple[str, ...],
    force: bool,
    as_json: bool,
) -> None:
    """Create (or re-create) the sandboxed environment for PATH (default: current dir)."""
    progress = ProgressPrinter(app.error_console, verbose=app.verbose)
    result = app.manager.create(
        path, template=template, allow=allow, force=force, progress=progress
    )
    if as_json:
        print_json(result.to_json())
    else:
        render_create(app.console, result)
