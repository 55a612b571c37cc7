"""Removing a project's containers, networks and images so that it always converges: in
dependency order (the netguard step shares the app's network namespace, the app depends on
its proxy), by label (compose files may be gone or half-written), again while the engine
still says something is in use, and never anything of another project."""

from __future__ import annotations

import time
from collections.abc import Sequence

from devagent.errors import EngineError
from devagent.project import (
    LABEL_MANAGED,
    LABEL_PROJECT_HASH,
    LABEL_SIDECAR_OF,
    LABEL_SIDECAR_TYPE,
    Project,
    hash_in_name,
)
from devagent.runtime.engine import Engine
from devagent.runtime.executor import Executor
from devagent.runtime.models import ContainerInfo

ATTEMPTS = 4
PAUSE = 1.0  # seconds between attempts: what was "in use" is usually free by then


def project_containers(engine: Engine, executor: Executor, key: str) -> list[ContainerInfo]:
    """The app (by its project label) and its sidecars (by theirs), whatever their state."""
    found = []
    for label in (LABEL_PROJECT_HASH, LABEL_SIDECAR_OF):
        found += engine.parse_ps(executor.run(engine.ps_argv({label: key})).stdout)
    return list({container.id: container for container in found}.values())


def project_networks(engine: Engine, executor: Executor, key: str) -> list[str]:
    return executor.run(engine.network_ls_argv({LABEL_SIDECAR_OF: key})).stdout.split()


def project_network_names(engine: Engine, executor: Executor, key: str) -> list[str]:
    """The project's networks by name (for people; removal goes by ID)."""
    return executor.run(engine.network_names_argv({LABEL_SIDECAR_OF: key})).stdout.split()


def rank(container: ContainerInfo) -> int:
    """Dependants first: the netguard step, then the app, then the proxy."""
    kind = container.labels.get(LABEL_SIDECAR_TYPE)
    return {"netguard": 0, None: 1, "proxy": 2}.get(kind, 3)


def remove_containers_and_networks(engine: Engine, executor: Executor, project: Project) -> None:
    """Remove what the project has on the engine, by label; raise only if something is
    still there after every attempt."""
    problems: list[str] = []
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(PAUSE)
        problems = []
        for container in sorted(project_containers(engine, executor, project.hash), key=rank):
            result = executor.run(engine.rm_argv([container.id]), check=False)
            if result.returncode != 0 and not _gone(result.stderr):
                problems.append(f"container {container.name}: {_first(result.stderr)}")
        for network in project_networks(engine, executor, project.hash):
            result = executor.run(engine.network_rm_argv([network]), check=False)
            if result.returncode != 0 and not _gone(result.stderr):
                problems.append(f"network {network}: {_first(result.stderr)}")
        if not problems:
            return
    raise EngineError(
        f"could not remove everything of {project.path}: {'; '.join(problems)}",
        hint="see what holds it with `devagent doctor`; then run the command again",
    )


def remove_images(engine: Engine, executor: Executor, references: Sequence[str]) -> tuple[str, ...]:
    """Remove (untag, when shared) those of ``references`` that exist; returns them.

    All at once first; what the engine refuses, one by one, again a few times."""
    if not references:
        return ()
    wanted = {image_name(reference) for reference in references}
    removed: set[str] = set()
    problems: list[str] = []
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(PAUSE)
        listed = executor.run(engine.images_argv(references)).stdout.split()
        # Podman lists every name of a matched image, also other projects' names for an
        # identical build (the netguard image): keep exactly the names asked for.
        found = sorted({name for name in listed if image_name(name) in wanted} - removed)
        if not found:
            return tuple(sorted(removed))
        if attempt == 0 and executor.run(engine.rmi_argv(found), check=False).returncode == 0:
            return tuple(found)
        problems = []
        for name in found:
            result = executor.run(engine.rmi_argv([name]), check=False)
            if result.returncode == 0 or _gone(result.stderr):
                removed.add(name)
            else:
                problems.append(f"{name}: {_first(result.stderr)}")
        if not problems:
            return tuple(sorted(removed))
    raise EngineError(
        f"could not remove images: {'; '.join(problems)}",
        hint="an image still in use belongs to a container: `devagent doctor` lists them",
    )


def image_name(reference: str) -> str:
    """``localhost/name:latest``, ``name:latest`` and ``name`` are one local image."""
    name = reference.removeprefix("localhost/")
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def _gone(stderr: str) -> bool:
    """The engine says the thing is not there (anymore): removed is what was wanted."""
    text = stderr.lower()
    return "no such" in text or "not found" in text or "not known" in text


def _first(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    return lines[-1][:200] if lines else "failed"


def managed_networks(engine: Engine, executor: Executor) -> list[str]:
    """Every network devagent made, of any project."""
    return executor.run(engine.network_names_argv({LABEL_MANAGED: "true"})).stdout.split()


def devagent_images(engine: Engine, executor: Executor) -> list[str]:
    """Every image named for a devagent project (``devagent-<hash>-<service>``)."""
    listed = executor.run(engine.images_argv([])).stdout.split()
    return sorted({name for name in listed if hash_in_name(name)})


def remove_named(engine: Engine, executor: Executor, kind: str, name: str) -> bool:
    """Remove one container, network or image by name; whether it is gone now."""
    argv = {
        "container": engine.rm_argv,
        "network": engine.network_rm_argv,
        "image": engine.rmi_argv,
    }[kind]([name])
    result = executor.run(argv, check=False)
    return result.returncode == 0 or _gone(result.stderr)
