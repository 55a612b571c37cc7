"""Finding environments: every one on the engine, one project's, and what it enforces."""

from __future__ import annotations

import contextlib
import datetime
from dataclasses import replace
from pathlib import Path

from devagent.errors import ProjectError
from devagent.generate.files import read_marker
from devagent.manager.context import Context
from devagent.manager.facts import ContainerFacts
from devagent.manager.results import Environment, ListResult, group_environments
from devagent.project import Project, identify, looks_like_container_name
from devagent.proxy.records import LOG_FILES


def list_environments(context: Context) -> ListResult:
    """Every devagent environment on this engine, from one label-filtered `ps`."""
    runtime = context.runtime
    found = group_environments(runtime.managed_containers(), runtime.engine.name)
    return ListResult(runtime.engine.name, tuple(_with_activity(context, e) for e in found))


def _with_activity(context: Context, env: Environment) -> Environment:
    """When its proxy last logged a request (the newest of its log files)."""
    directory = context.paths.proxy_logs_dir(env.project_hash)
    times = []
    for name in LOG_FILES:
        with contextlib.suppress(OSError):
            times.append((directory / name).stat().st_mtime)
    if not times:
        return env
    return replace(env, active=datetime.datetime.fromtimestamp(max(times), datetime.UTC))


def status(context: Context, project: Project) -> Environment:
    for env in list_environments(context).environments:
        if env.project_hash == project.hash:
            return env
    return Environment(str(project.path), project.hash, context.runtime.engine.name)


def resolve(context: Context, target: str | None) -> Project:
    """A project from a path (default: the current directory) or a container name."""
    if target and looks_like_container_name(target):
        wanted = target.split("-")[1]
        for env in list_environments(context).environments:
            if env.project_hash == wanted:
                return identify(env.project_path, must_exist=False)
        raise ProjectError(f"no devagent environment has a container named {target}")
    return identify(target or Path.cwd(), must_exist=False)


def require_files(project: Project) -> None:
    if read_marker(project.devcontainer_dir) is None or not project.compose_file.exists():
        raise ProjectError(
            f"{project.path} has no devagent environment",
            hint=f"create one with `devagent create {project.path}`",
        )


def require_running(context: Context, project: Project) -> None:
    require_files(project)
    state = status(context, project).state
    if state != "running":
        raise ProjectError(
            f"the environment of {project.path} is {state}",
            hint=f"start it with `devagent start {project.path}`",
        )


def facts(context: Context, project: Project) -> tuple[ContainerFacts, ...]:
    """What the engine enforces for the app and the proxy (read back, not as asked)."""
    env = status(context, project)
    names = [c.name for c in (env.app, env.proxy) if c is not None]
    if not names:
        return ()
    return tuple(ContainerFacts.from_inspect(data) for data in context.runtime.inspect(names))


def engine_warnings(context: Context) -> tuple[str, ...]:
    """What the engine cannot enforce on this host, said plainly."""
    runtime = context.runtime
    if runtime.facts.enforces_limits:
        return ()
    return (
        f"{runtime.engine.name} runs rootless on cgroups v1 here, so the memory, CPU "
        "and pids limits are NOT enforced; switch the host to cgroups v2 "
        "(systemd.unified_cgroup_hierarchy=1) and delegate cpu, memory and pids to users",
    )
