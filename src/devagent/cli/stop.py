"""devagent stop: stop a project's app and proxy containers with compose."""

from __future__ import annotations

from devagent.cli.command import project_command
from devagent.cli.context import AppContext
from devagent.manager.results import LifecycleResult
from devagent.project import Project


@project_command()
def stop(app: AppContext, project: Project) -> LifecycleResult:
    """Stop the environment of a project (default: the current directory)."""
    return app.manager.stop(project, progress=app.progress)
