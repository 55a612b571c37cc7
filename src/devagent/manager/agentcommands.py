"""The agent commands: add one (a worktree and its environment), remove one, and destroy
a project with its agents. The records and the worktrees are in ``agents``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devagent.errors import ProjectError
from devagent.manager.agents import (
    Agent,
    find,
    forget,
    give_to_container_user,
    of_project,
    prepare,
    unsaved,
)
from devagent.manager.allowlist import ProjectEntries
from devagent.manager.context import Context
from devagent.manager.create import check, create
from devagent.manager.lifecycle import destroy
from devagent.manager.results import (
    Environment,
    LifecycleResult,
    Progress,
    ProgressEvent,
    no_progress,
)
from devagent.manager.worktrees import check_name
from devagent.project import Project, identify


@dataclass(frozen=True)
class AgentResult:
    """An agent added (with its environment) or removed (what stays: the branch)."""

    action: str  # "add" or "rm"
    agent: Agent
    environment: Environment
    allowlist: tuple[str, ...] = ()
    kept_worktree: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "agent": self.agent.to_json(),
                "environment": self.environment.to_json(), "allowlist": list(self.allowlist),
                "kept_worktree": self.kept_worktree}  # fmt: skip


def add(
    context: Context, path: str | Path | None, name: str, *, branch: str | None = None,
    allow: Sequence[str] = (), progress: Progress = no_progress,
) -> AgentResult:  # fmt: skip
    """A worktree on the agent's branch and an environment for it (both taken up again if
    they exist: add converges like create)."""
    agent, worktree, made = prepare(context, path, name, branch=branch, progress=progress)
    parent = identify(agent.project).hash
    template = ProjectEntries.load(context.paths.project_allowlist_file(parent)).template
    _, chosen = check(context, worktree.path, template=template, allow=allow)
    if made:
        give_to_container_user(context, agent, chosen.manifest.remote_uid)
    created = create(context, worktree.path, template=template, allow=allow, progress=progress)
    return AgentResult("add", agent, created.environment, created.allowlist)


def remove(
    context: Context, path: str | Path | None, name: str, *, force: bool = False,
    keep_worktree: bool = False, progress: Progress = no_progress,
) -> AgentResult:  # fmt: skip
    """The agent's sandbox and state gone; its worktree too unless it holds unsaved work
    (refused without ``force``); its branch always stays."""
    agent = find(context, identify(path or Path.cwd()), check_name(name))
    if not keep_worktree and not force and (lost := unsaved(context, agent)):
        raise ProjectError(
            f"agent {agent.name}'s worktree {agent.worktree} holds work that is on no "
            f"branch: {'; '.join(lost)}",
            hint=f"commit it on {agent.branch} (it stays), or pass --force to lose it; "
            "--keep-worktree removes the sandbox alone",
        )
    destroyed = destroy(context, identify(agent.worktree, must_exist=False), purge=True,
                        progress=progress)  # fmt: skip
    if keep_worktree:
        return AgentResult("rm", agent, destroyed.environment, kept_worktree=True)
    progress(ProgressEvent("step", f"Removing worktree {agent.worktree} ({agent.branch} stays)"))
    forget(context, agent)
    return AgentResult("rm", agent, destroyed.environment)


def destroy_project(
    context: Context, project: Project, *, purge: bool = False, with_agents: bool = False,
    force: bool = False, progress: Progress = no_progress,
) -> LifecycleResult:  # fmt: skip
    """Destroy a project's environment; its agents' too when asked (refused otherwise,
    naming them), each worktree checked before any is removed."""
    listed = of_project(context, project)
    if listed and not with_agents:
        names = ", ".join(f"{a.name} (on {a.branch})" for a in listed)
        raise ProjectError(
            f"{project.path} has agents: {names}",
            hint=f"`devagent destroy {project.path} --agents` removes them too (their "
            f"branches stay), or `devagent agent rm {project.path} NAME` one at a time",
        )
    if not force:
        lost = {a.name: found for a in listed if (found := unsaved(context, a))}
        if lost:
            said = "; ".join(f"{name}: {', '.join(found)}" for name, found in lost.items())
            raise ProjectError(
                f"agents of {project.path} hold work that is on no branch: {said}",
                hint="commit it on their branches, or pass --force to lose it",
            )
    for agent in listed:
        remove(context, project.path, agent.name, force=True, progress=progress)
    return destroy(context, project, purge=purge, progress=progress)
