"""devagent list: every devagent environment on the engine."""

from __future__ import annotations

from devagent.cli.command import result_command
from devagent.cli.context import AppContext
from devagent.manager.results import ListResult


@result_command("list")
def list_command(app: AppContext) -> ListResult:
    """List environments with their state, template and age."""
    return app.manager.list()
