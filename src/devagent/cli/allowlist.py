"""devagent allowlist: the hosts a project's environment may reach, and why."""

from __future__ import annotations

from devagent.cli.command import project_command
from devagent.cli.context import AppContext
from devagent.manager.results import AllowlistResult
from devagent.project import Project


@project_command()
def allowlist(app: AppContext, project: Project) -> AllowlistResult:
    """Show the allowlist in force for a project, with the source of each entry."""
    return app.manager.allowlist(project)
