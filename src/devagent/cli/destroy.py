"""devagent destroy: remove a project's containers, networks and images; never its files."""

from __future__ import annotations

import click

from devagent.cli.command import project_command
from devagent.cli.context import AppContext
from devagent.manager.results import LifecycleResult
from devagent.project import Project


@project_command()
@click.option(
    "--purge",
    is_flag=True,
    help="Also delete the per-project state (Claude config, proxy CA, request logs).",
)
def destroy(app: AppContext, project: Project, purge: bool) -> LifecycleResult:
    """Destroy the environment of a project. The workspace is never touched."""
    return app.manager.destroy(project, purge=purge, progress=app.progress)
