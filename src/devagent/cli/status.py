"""devagent status: one project's environment in detail."""

from __future__ import annotations

import click

from devagent.cli.context import AppContext
from devagent.render import print_json, render_status


@click.command()
@click.argument("target", required=False, metavar="[PATH|CONTAINER]")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def status(app: AppContext, target: str | None, as_json: bool) -> None:
    """Show the state of a project's environment (default: the current directory)."""
    manager = app.manager
    project = manager.resolve(target)
    environment = manager.status(project)
    warnings = (*manager.git_warnings(project), *manager.warnings())
    if as_json:
        reason = manager.runtime.reason
        print_json({**environment.to_json(), "engine_reason": reason, "warnings": list(warnings)})
    else:
        render_status(
            app.console, environment, engine_reason=manager.runtime.reason, warnings=warnings
        )
