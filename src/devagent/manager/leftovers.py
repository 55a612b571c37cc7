"""What failed or interrupted commands can leave behind, found and removed on request
(`devagent doctor`, `doctor --fix`): containers and networks of no complete environment,
images no container of their project uses, and state of no project.

State of a project whose folder is still there is not a leftover: `destroy` keeps it on
purpose (the allowlist, the CA, the Claude config, the request log) for the next create.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from devagent.manager.context import Context
from devagent.manager.results import group_environments
from devagent.manager.state import pieces, remove_piece
from devagent.paths import Paths
from devagent.project import LABEL_MANAGED, hash_in_name, identify
from devagent.runtime.removal import devagent_images, managed_networks, rank, remove_named

Kind = Literal["container", "network", "image", "state"]
_HASH = re.compile(r"^[0-9a-f]{12}$")


@dataclass(frozen=True)
class Leftover:
    kind: Kind
    name: str  # the engine's name, or the path of the state
    project: str  # the project's path where known, else its hash
    why: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "project": self.project, "why": self.why}


def recorded_path(paths: Paths, key: str) -> Path | None:
    try:
        text = paths.project_record_file(key).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return Path(text) if text else None


def _project_exists(key: str, path: Path | None) -> bool:
    return path is not None and path.is_dir() and identify(path, must_exist=False).hash == key


def _why_not_kept(paths: Paths, key: str, project_path: str | None) -> str | None:
    """Why the containers of project ``key`` are leftovers (None: they are not)."""
    if project_path is None:
        return "no complete environment: a create or destroy stopped half-way"
    if not _project_exists(key, Path(project_path)):
        return "its project folder is gone"
    if not paths.proxy_certs_dir(key).is_dir():
        return "its environment has no state left"
    return None


def find(context: Context) -> tuple[Leftover, ...]:
    runtime, paths = context.runtime, context.paths
    containers = runtime.ps({LABEL_MANAGED: "true"})
    complete = {
        env.project_hash: env.project_path
        for env in group_environments(containers, runtime.engine.name)
        if env.app is not None and env.proxy is not None
    }
    found: list[Leftover] = []
    broken: set[str] = set()  # projects whose containers are leftovers
    for container in sorted(containers, key=rank):
        key = container.project_hash
        why = _why_not_kept(paths, key, complete.get(key))
        if why is None:
            continue
        broken.add(key)
        found.append(Leftover("container", container.name, complete.get(key) or key, why))
    healthy = set(complete) - broken
    for network in managed_networks(runtime.engine, runtime.executor):
        key = hash_in_name(network) or ""
        if key not in healthy:
            found.append(Leftover("network", network, key, "of no environment"))
    for image in devagent_images(runtime.engine, runtime.executor):
        key = hash_in_name(image) or ""
        if key not in healthy:
            found.append(Leftover("image", image, key, "of no environment"))
    used = {c.project_hash for c in containers}
    for key in sorted(_state_keys(paths) - used):
        path = recorded_path(paths, key)
        if _project_exists(key, path):
            continue  # kept by `destroy` for the next create
        why = "its project folder is gone" if path else "state of an unknown project"
        for piece in pieces(paths, key):
            if piece.exists() or piece.is_symlink():
                found.append(Leftover("state", str(piece), str(path or key), why))
    return tuple(found)


def remove(context: Context, leftovers: tuple[Leftover, ...]) -> tuple[str, ...]:
    """Remove exactly ``leftovers`` (from ``find``); returns what was removed."""
    runtime, paths = context.runtime, context.paths
    removed: list[str] = []
    for kind in ("container", "network", "image"):
        names = [item.name for item in leftovers if item.kind == kind]
        for name in names:
            if remove_named(runtime.engine, runtime.executor, kind, name):
                removed.append(f"{kind} {name}")
    data = paths.data_dir.resolve()
    for item in leftovers:
        piece = Path(item.name)
        # Only what lies in devagent's own data directory (the piece itself, if a link,
        # is removed as a link).
        if item.kind != "state" or data not in piece.parent.resolve().parents:
            continue
        remove_piece(piece)
        removed.append(f"state {piece}")
    return tuple(removed)


def _state_keys(paths: Paths) -> set[str]:
    keys: set[str] = set()
    for key in pieces(paths, "0" * 12):
        folder = key.parent
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            name = entry.name.split(".", 1)[0]
            if _HASH.match(name):
                keys.add(name)
    return keys
