"""devagent agent: several agents on one project, each with a worktree, a branch and a
sandbox of its own (`agent add`, `agent rm`, `agent list`)."""

from __future__ import annotations

import click

from devagent.cli.command import output
from devagent.cli.context import AppContext
from devagent.manager.agentcommands import AgentResult
from devagent.manager.results import ListResult


@click.group()
def agent() -> None:
    """Agents of a project: a worktree on branch agent/NAME and its own sandbox each."""


@agent.command("add")
@click.argument("path", type=click.Path(file_okay=False))
@click.argument("name")
@click.option("--branch", help="The branch to work on (default: agent/NAME; made from HEAD).")
@click.option("--allow", "allow", multiple=True, metavar="DOMAIN",
              help="Also allow DOMAIN for this agent (the project's own apply too).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def add(
    app: AppContext, path: str, name: str, branch: str | None, allow: tuple[str, ...],
    as_json: bool,
) -> int:  # fmt: skip
    """Add agent NAME to the git repository at PATH (or take it up again)."""
    result: AgentResult = app.manager.add_agent(
        path, name, branch=branch, allow=allow, progress=app.progress
    )
    return output(app, result, as_json=as_json)


@agent.command("rm")
@click.argument("path", type=click.Path(file_okay=False))
@click.argument("name")
@click.option("--force", is_flag=True, help="Remove the worktree even with unsaved work.")
@click.option("--keep-worktree", is_flag=True, help="Remove the sandbox alone.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def remove(
    app: AppContext, path: str, name: str, force: bool, keep_worktree: bool, as_json: bool
) -> int:
    """Remove agent NAME: its sandbox, and its worktree unless it holds unsaved work. Its
    branch always stays."""
    result = app.manager.remove_agent(
        path, name, force=force, keep_worktree=keep_worktree, progress=app.progress
    )
    return output(app, result, as_json=as_json)


@agent.command("list")
@click.argument("path", required=False, type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def list_agents(app: AppContext, path: str | None, as_json: bool) -> int:
    """The project's environment and its agents' (default: the current directory)."""
    manager = app.manager
    project = manager.resolve(path)
    keys = {project.hash} | {manager.resolve(path, a.name).hash for a in manager.agents(project)}
    listed = manager.list()
    kept = tuple(e for e in listed.environments if e.project_hash in keys)
    return output(app, ListResult(listed.engine, kept), as_json=as_json)
