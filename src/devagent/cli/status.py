"""devagent status: one project's environment in detail."""

from __future__ import annotations

from devagent.cli.command import project_command
from devagent.cli.context import AppContext
from devagent.manager.results import StatusResult
from devagent.project import Project


@project_command()
def status(app: AppContext, project: Project) -> StatusResult:
    """Show the state of a project's environment (default: the current directory)."""
    return app.manager.status_report(project)
