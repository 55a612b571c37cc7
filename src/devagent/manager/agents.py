"""Agents: several sandboxes on one project, each in a git worktree on its own branch.

An agent's worktree lives in devagent's data directory (``worktrees/<project>/<name>``),
never inside the project, so that no sandbox mounts another's files. Its environment is
an ordinary one for that folder - its own containers, state, log and allowlist - plus the
project's ``.git`` at the same absolute path as on the host (what the worktree's ``.git``
file names), with the other agents' metadata hidden.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devagent.errors import ProjectError
from devagent.manager.context import Context
from devagent.manager.results import Progress, ProgressEvent, no_progress
from devagent.manager.worktrees import Repository, check_name
from devagent.project import Project, identify
from devagent.safefs import hand_over, replace_file

BRANCH_PREFIX = "agent/"


@dataclass(frozen=True)
class Agent:
    """One agent of a project: its name, branch and worktree."""

    name: str
    branch: str
    project: Path  # the project's folder (the main worktree)
    worktree: Path
    created: str = ""

    @property
    def push_branches(self) -> tuple[str, ...]:
        """The branches its pushes may create or move: its own, and below it."""
        return (self.branch, f"{self.branch}/*")

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "branch": self.branch, "project": str(self.project),
                "worktree": str(self.worktree), "created": self.created}  # fmt: skip


def _load(context: Context, project_hash: str) -> dict[str, Any]:
    try:
        data = json.loads(context.paths.agents_file(project_hash).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save(context: Context, project: Project, agents: list[Agent]) -> None:
    """The project's record of its agents (removed with its last agent)."""
    path = context.paths.agents_file(project.hash)
    if not agents:
        path.unlink(missing_ok=True)
        return
    records = {a.name: {"branch": a.branch, "created": a.created} for a in agents}
    document = {"project": str(project.path), "agents": records}
    replace_file(path, (json.dumps(document, indent=2, sort_keys=True) + "\n").encode())


def of_project(context: Context, project: Project) -> tuple[Agent, ...]:
    """The project's agents, by name."""
    data = _load(context, project.hash)
    found = []
    for name, entry in sorted((data.get("agents") or {}).items()):
        if isinstance(entry, dict) and isinstance(entry.get("branch"), str):
            worktree = context.paths.worktrees_dir / project.hash / name
            found.append(Agent(name, entry["branch"], project.path, worktree,
                               str(entry.get("created", ""))))  # fmt: skip
    return tuple(found)


def agent_of(context: Context, project: Project) -> Agent | None:
    """The agent whose worktree ``project`` is, if it is one."""
    worktrees = context.paths.worktrees_dir.expanduser().resolve()
    if project.path.parent.parent != worktrees:
        return None
    data = _load(context, project.path.parent.name)
    folder = data.get("project")
    if not isinstance(folder, str):
        return None
    for agent in of_project(context, identify(folder, must_exist=False)):
        if agent.name == project.path.name:
            return agent
    return None


def find(context: Context, project: Project, name: str) -> Agent:
    for agent in of_project(context, project):
        if agent.name == name:
            return agent
    names = ", ".join(a.name for a in of_project(context, project)) or "none"
    raise ProjectError(
        f"{project.path} has no agent named {name!r} (its agents: {names})",
        hint=f"add one with `devagent agent add {project.path} {name}`",
    )


def resolve(context: Context, project: Project, name: str | None) -> Project:
    """The project itself, or the worktree of its agent ``name``."""
    if name is None:
        return project
    return identify(find(context, project, check_name(name)).worktree, must_exist=False)


def git_root(context: Context, project: Project) -> Path:
    """Where the project's ``.git`` is: the project's own, or its agent's project's."""
    agent = agent_of(context, project)
    return agent.project if agent is not None else project.path


def prepare(
    context: Context, path: str | Path | None, name: str, *, branch: str | None = None,
    progress: Progress = no_progress,
) -> tuple[Agent, Project, bool]:  # fmt: skip
    """Make (or take up again) the agent's worktree and record it; returns the agent, the
    project its environment is created for, and whether the worktree is new."""
    project = identify(path or Path.cwd())
    repo = Repository(project.path, context.runtime.executor)
    check_name(name)
    repo.require()
    known = {agent.name: agent for agent in of_project(context, project)}
    agent = known.get(name) or Agent(
        name, branch or BRANCH_PREFIX + name, project.path,
        context.paths.worktrees_dir / project.hash / name,
        datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    )  # fmt: skip
    if branch is not None and branch != agent.branch:
        raise ProjectError(f"agent {name} works on {agent.branch}, not {branch}")
    made = not agent.worktree.is_dir()
    if made:
        progress(ProgressEvent("step", f"Making worktree {agent.worktree} on {agent.branch}"))
        repo.add(name, agent.worktree, agent.branch)
    _save(context, project, [*(a for a in known.values() if a.name != name), agent])
    return agent, identify(agent.worktree), made


def give_to_container_user(context: Context, agent: Agent, uid: int) -> None:
    """Devagent as root, on an engine that shares ids with the host: the container's user
    must write the worktree, its metadata and its branch. Done once, on a worktree just
    made; through descriptors, since other sandboxes can write parts of ``.git``."""
    if os.geteuid() != 0 or context.runtime.facts.rootless:
        return
    hand_over(agent.worktree.parent.parent, (agent.worktree.parent.name,), (agent.name,), uid,
              tree=True)  # fmt: skip
    hand_over(agent.project, (".git", "worktrees"), (agent.name,), uid, tree=True)
    branch = tuple(agent.branch.split("/"))
    for refs in ((".git", "refs", "heads"), (".git", "logs", "refs", "heads")):
        if agent.project.joinpath(*refs, *branch).exists():
            hand_over(agent.project, refs, branch, uid, tree=False)


def unsaved(context: Context, agent: Agent) -> list[str]:
    return Repository(agent.project, context.runtime.executor).unsaved(agent.name, agent.worktree)


def forget(context: Context, agent: Agent) -> None:
    """Remove the worktree (its checks passed) and its record; the branch stays."""
    project = identify(agent.project, must_exist=False)
    if agent.worktree.is_dir() and not agent.worktree.is_symlink():
        shutil.rmtree(agent.worktree)
    with contextlib.suppress(OSError):
        agent.worktree.parent.rmdir()  # the project's last agent
    repo = Repository(agent.project, context.runtime.executor)
    if repo.git_dir.is_dir():
        repo.prune()
    _save(context, project, [a for a in of_project(context, project) if a.name != agent.name])
