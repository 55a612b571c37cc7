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


@dataclass(frozen=True)
class LogLine:
    """One line of `devcontainer up --log-format json`: a step that starts, or output."""

    step: str | None
    text: str


def read_log_line(line: str, *, post_create: str | None = None) -> LogLine:
    """Turn a JSON log line into a named step (build, up, post-create) or plain output."""
    try:
        event = json.loads(line)
    except ValueError:
        return LogLine(None, line)
    if not isinstance(event, dict):
        return LogLine(None, line)
    text = str(event.get("text", "")).rstrip("\n")
    if event.get("type") == "start":
        if text.startswith("Run: ") and " build" in text:
            return LogLine("Building images", text)
        if text.startswith("Run: ") and " up -d" in text:
            return LogLine("Starting the proxy, waiting until it is healthy, then the app", text)
        if post_create and text.startswith("Run in container: ") and post_create in text:
            return LogLine("Running the post-create command", text)
    return LogLine(None, text)
