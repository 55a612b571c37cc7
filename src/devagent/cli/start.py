"""devagent start: start a project's app and proxy containers with compose."""

from __future__ import annotations

from devagent.cli.command import project_command
from devagent.cli.context import AppContext
from devagent.manager.results import LifecycleResult
from devagent.project import Project


@project_command()
def start(app: AppContext, project: Project) -> LifecycleResult:
    """Start the environment of a project (default: the current directory)."""
    return app.manager.start(project, progress=app.progress)
