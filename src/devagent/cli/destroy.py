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
@click.option("--agents", "with_agents", is_flag=True,
              help="Also remove the project's agents: their sandboxes and worktrees (their "
              "branches stay).")  # fmt: skip
@click.option("--force", is_flag=True, help="With --agents: even worktrees with unsaved work.")
def destroy(
    app: AppContext, project: Project, purge: bool, with_agents: bool, force: bool
) -> LifecycleResult:
    """Destroy the environment of a project. The workspace is never touched; a project
    with agents is refused unless --agents says to remove them too."""
    return app.manager.destroy(
        project, purge=purge, with_agents=with_agents, force=force, progress=app.progress
    )
