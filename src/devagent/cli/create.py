"""devagent create: generate a project's .devcontainer/ and bring the environment up."""

from __future__ import annotations

import click

from devagent.cli.command import result_command
from devagent.cli.context import AppContext
from devagent.manager.results import CreateResult


@result_command()
@click.argument("path", required=False, type=click.Path(file_okay=False))
@click.option("-t", "--template", help="Template name (default: from config, else 'basic').")
@click.option("--allow", "allow", multiple=True, metavar="DOMAIN",
              help="Also allow DOMAIN (or *.DOMAIN); repeatable.")  # fmt: skip
@click.option("--force", is_flag=True, help="Move an existing non-devagent .devcontainer aside.")
def create(
    app: AppContext, path: str | None, template: str | None, allow: tuple[str, ...], force: bool
) -> CreateResult:
    """Create (or re-create) the sandboxed environment for PATH (default: current dir)."""
    return app.manager.create(
        path, template=template, allow=allow, force=force, progress=app.progress
    )
