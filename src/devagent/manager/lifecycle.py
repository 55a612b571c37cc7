"""devagent start, stop and destroy: compose on the generated files, the netguard step
again after every start, and removal by label of whatever compose leaves behind."""

from __future__ import annotations

import logging

from devagent.errors import EngineError, IsolationError, ProjectError
from devagent.generate.files import read_marker
from devagent.manager import isolation, state
from devagent.manager.context import Context
from devagent.manager.environments import require_files, status
from devagent.manager.results import LifecycleResult, Progress, ProgressEvent, no_progress
from devagent.project import Project
from devagent.runtime.removal import project_containers, project_network_names

log = logging.getLogger("devagent.lifecycle")


def start(
    context: Context, project: Project, *, progress: Progress = no_progress
) -> LifecycleResult:
    require_files(project)
    generated = state.check_generated(context, project)
    if not generated.ok:
        raise IsolationError(
            f"{project.devcontainer_dir} is not what devagent generated ({generated.detail});"
            " those files define the sandbox, so devagent will not start from them",
            hint=f"review the change; `devagent create {project.path}` writes them anew "
            "(keeping the changed ones in a backup)",
        )
    if status(context, project).state == "missing":
        raise ProjectError(
            f"the containers of {project.path} do not exist",
            hint=f"re-create them with `devagent create {project.path}`",
        )
    progress(ProgressEvent("step", "Starting proxy and app"))
    state.prepare_secrets(context, project)  # a token replaced since create reaches the app
    state.remember_project(context, project)
    runtime = context.runtime
    runtime.compose_start(project)
    # The restarted app has a fresh network namespace, so the netguard step must run
    # again, after the app. podman-compose starts all containers at once: run it here.
    step = runtime.run_step(project.netguard_container)
    if step.returncode != 0:
        raise IsolationError(
            f"the step that restricts the app's routes failed (exit {step.returncode}): "
            f"{(step.stdout + step.stderr).strip()[-300:]}",
            hint="the environment is not safe to use; `devagent create` rebuilds it",
        )
    isolation.wait_until_isolated(context, project)
    isolation.wait_for_proxy(context, project)
    isolation.require(context, project)
    return LifecycleResult(
        "start", status(context, project), warnings=state.git_warnings(context, project)
    )


def stop(
    context: Context, project: Project, *, progress: Progress = no_progress
) -> LifecycleResult:
    require_files(project)
    progress(ProgressEvent("step", "Stopping app and proxy"))
    context.runtime.compose_stop(project)
    return LifecycleResult("stop", status(context, project))


def destroy(
    context: Context, project: Project, *, purge: bool = False, progress: Progress = no_progress
) -> LifecycleResult:
    """Remove containers, networks and images (with purge, the state); never the workspace."""
    runtime = context.runtime
    progress(ProgressEvent("step", "Removing containers and networks"))
    # The app runs an image the devcontainer CLI derived (vsc-...-uid): ask before removal.
    used = {c.image for c in project_containers(runtime.engine, runtime.executor, project.hash)}
    remove_containers(context, project)
    progress(ProgressEvent("step", "Removing images"))
    images = runtime.remove_images(sorted(used.union(project.images) - {""}))
    purged: tuple[str, ...] = ()
    if purge:
        progress(ProgressEvent("step", "Removing per-project state"))
        purged = state.purge(context, project)
    return LifecycleResult("destroy", status(context, project), purged, images)


def remove_containers(context: Context, project: Project) -> None:
    """Take the project's containers and networks off the engine, whatever state a failed
    or interrupted command left them in. Compose goes first where its files are intact;
    what it leaves (or cannot remove) goes by label, in dependency order."""
    if project.compose_file.exists() and read_marker(project.devcontainer_dir) is not None:
        try:
            context.runtime.compose_down(project)
        except EngineError as exc:  # half-created projects trip compose; the labels do not
            log.info("compose down failed, removing by label: %s", exc)
    context.runtime.remove_leftovers(project)


def leftovers(context: Context, project: Project) -> tuple[str, ...]:
    """What the project has on the engine: its containers and networks, by name."""
    runtime = context.runtime
    containers = project_containers(runtime.engine, runtime.executor, project.hash)
    networks = project_network_names(runtime.engine, runtime.executor, project.hash)
    return (
        *(f"container {c.name} ({c.state or 'created'})" for c in containers),
        *(f"network {n}" for n in networks),
    )
