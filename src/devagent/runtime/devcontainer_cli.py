"""The devcontainer CLI: `up` argv and its JSON outcome."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from devagent.errors import EngineError

DEVCONTAINER = "devcontainer"


@dataclass(frozen=True)
class UpOutcome:
    container_id: str
    remote_user: str
    remote_workspace_folder: str


def up_argv(
    *,
    workspace: Path,
    config: Path,
    docker_path: str,
    compose_path: str,
    binary: str = DEVCONTAINER,
) -> list[str]:
    return [
        binary,
        "up",
        "--workspace-folder", str(workspace),
        "--config", str(config),
        "--docker-path", docker_path,
        "--docker-compose-path", compose_path,
        "--log-format", "json",
    ]  # fmt: skip


def version_argv(binary: str = DEVCONTAINER) -> list[str]:
    return [binary, "--version"]


def parse_up(stdout: str) -> UpOutcome:
    """The last JSON line of `devcontainer up` says whether it worked and where."""
    for line in reversed(stdout.strip().splitlines()):
        try:
            outcome = json.loads(line)
        except ValueError:
            continue
        if not isinstance(outcome, dict) or "outcome" not in outcome:
            continue
        if outcome["outcome"] != "success":
            message = outcome.get("message") or outcome.get("description") or "unknown error"
            raise EngineError(f"devcontainer up failed: {message}")
        return UpOutcome(
            container_id=outcome.get("containerId", ""),
            remote_user=outcome.get("remoteUser", ""),
            remote_workspace_folder=outcome.get("remoteWorkspaceFolder", ""),
        )
    raise EngineError("devcontainer up printed no outcome", hint="re-run with --verbose")
