"""devagent verify: run the isolation self-test against a real environment."""

from __future__ import annotations

from devagent.cli.command import project_command
from devagent.cli.context import AppContext
from devagent.manager.selftest import VerifyResult
from devagent.project import Project


@project_command()
def verify(app: AppContext, project: Project) -> VerifyResult:
    """Try the ways out from inside the app; exit 1 if any of them works."""
    return app.manager.verify(project)
