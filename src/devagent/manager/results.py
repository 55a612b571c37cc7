"""Small frozen results that commands return; the CLI, --json and the TUI render them."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from devagent.manager.tmux import Session
from devagent.project import (
    LABEL_AGENT,
    LABEL_AGENT_BRANCH,
    LABEL_AGENT_OF,
    LABEL_AGENT_PROJECT,
    LABEL_PROJECT_PATH,
    LABEL_SIDECAR_OF,
    LABEL_SIDECAR_TYPE,
    LABEL_TEMPLATE,
)
from devagent.runtime.engine import ContainerInfo

State = Literal["running", "stopped", "partial", "missing"]


@dataclass(frozen=True)
class ProgressEvent:
    """A step starting (kind 'step') or a line of tool output (kind 'output')."""

    kind: Literal["step", "output"]
    message: str


Progress = Callable[[ProgressEvent], None]


def no_progress(event: ProgressEvent) -> None:
    del event


@dataclass(frozen=True)
class Environment:
    """A project's environment as the engine reports it."""

    project_path: str
    project_hash: str
    engine: str
    app: ContainerInfo | None = None
    proxy: ContainerInfo | None = None
    active: datetime.datetime | None = None  # the last request through its proxy

    @property
    def template(self) -> str:
        return self.app.labels.get(LABEL_TEMPLATE, "") if self.app else ""

    @property
    def state(self) -> State:
        present = [c for c in (self.app, self.proxy) if c is not None]
        if not present:
            return "missing"
        running = [c.running for c in present]
        if len(present) == 2 and all(running):
            return "running"
        return "stopped" if not any(running) and len(present) == 2 else "partial"

    @property
    def created(self) -> datetime.datetime | None:
        return self.app.created if self.app else None

    def _label(self, key: str) -> str:
        for container in (self.app, self.proxy):
            if container is not None and key in container.labels:
                return container.labels[key]
        return ""

    @property
    def agent(self) -> dict[str, str] | None:
        """For an agent's environment: its name, branch and project (hash and folder)."""
        name = self._label(LABEL_AGENT)
        if not name:
            return None
        return {"name": name, "branch": self._label(LABEL_AGENT_BRANCH),
                "project_hash": self._label(LABEL_AGENT_OF),
                "project_path": self._label(LABEL_AGENT_PROJECT)}  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        def container(c: ContainerInfo | None) -> dict[str, Any] | None:
            if c is None:
                return None
            return {"name": c.name, "id": c.id, "state": c.state, "status": c.status}

        return {
            "project_path": self.project_path,
            "project_hash": self.project_hash,
            "state": self.state,
            "template": self.template,
            "engine": self.engine,
            "created": self.created.isoformat() if self.created else None,
            "app": container(self.app),
            "proxy": container(self.proxy),
            "agent": self.agent,
            "active": self.active.isoformat() if self.active else None,
        }

    @staticmethod
    def project_path_of(container: ContainerInfo) -> str:
        return container.labels.get(LABEL_PROJECT_PATH, "")


@dataclass(frozen=True)
class CreateResult:
    environment: Environment
    devcontainer_dir: str
    backup: str | None
    allowlist: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment.to_json(),
            "devcontainer_dir": self.devcontainer_dir,
            "backup": self.backup,
            "allowlist": list(self.allowlist),
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class LifecycleResult:
    """What start, stop and destroy return."""

    action: Literal["start", "stop", "destroy"]
    environment: Environment
    purged: tuple[str, ...] = field(default_factory=tuple)
    removed_images: tuple[str, ...] = field(default_factory=tuple)
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "environment": self.environment.to_json(),
            "purged": list(self.purged),
            "removed_images": list(self.removed_images),
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class ListResult:
    engine: str
    environments: tuple[Environment, ...]

    def to_json(self) -> dict[str, Any]:
        return {"engine": self.engine, "environments": [e.to_json() for e in self.environments]}


@dataclass(frozen=True)
class AllowlistEntryView:
    entry: str
    sources: tuple[str, ...]  # "config", "template", "project"


@dataclass(frozen=True)
class AllowlistResult:
    """A project's allowlist in force, and what a change did to it."""

    project_path: str
    entries: tuple[AllowlistEntryView, ...]
    denied: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    live: bool = False  # the running proxy picks the change up within a second
    # What was asked, for the words around the table (not part of the JSON).
    action: Literal["", "allow", "deny"] = ""
    asked: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "project_path": self.project_path,
            "entries": [{"entry": e.entry, "sources": list(e.sources)} for e in self.entries],
            "denied": list(self.denied),
            "added": list(self.added),
            "removed": list(self.removed),
            "live": self.live,
        }


@dataclass(frozen=True)
class StatusResult:
    """One project's environment, how the engine was chosen, and what needs a word."""

    environment: Environment
    engine_reason: str = ""
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            **self.environment.to_json(),
            "engine_reason": self.engine_reason,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class LogsResult:
    """A project's request log, oldest first, and the hosts it refused most."""

    project_path: str
    records: tuple[dict[str, Any], ...]
    blocked_hosts: tuple[tuple[str, int], ...]
    # The command that allows a host, with "{host}" where the host goes.
    allow_command: str

    def to_json(self) -> dict[str, Any]:
        return {
            "project_path": self.project_path,
            "records": list(self.records),
            "blocked_hosts": [
                {
                    "host": host,
                    "count": count,
                    "allow_command": self.allow_command.format(host=host),
                }
                for host, count in self.blocked_hosts
            ],
        }


@dataclass(frozen=True)
class TemplateView:
    name: str
    description: str
    builtin: bool
    directory: str
    allowlist: tuple[str, ...]


@dataclass(frozen=True)
class TemplatesResult:
    templates: tuple[TemplateView, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "templates": [
                {
                    "name": t.name,
                    "description": t.description,
                    "builtin": t.builtin,
                    "directory": t.directory,
                    "allowlist": list(t.allowlist),
                }
                for t in self.templates
            ]
        }


@dataclass(frozen=True)
class SessionsResult:
    """The tmux sessions in a project's app container."""

    project_path: str
    sessions: tuple[Session, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "project_path": self.project_path,
            "sessions": [
                {"name": s.name, "windows": s.windows, "attached": s.attached}
                for s in self.sessions
            ],
        }


def group_environments(containers: Sequence[ContainerInfo], engine: str) -> list[Environment]:
    """Pair each project's app and proxy containers into one Environment."""
    apps: dict[str, ContainerInfo] = {}
    proxies: dict[str, ContainerInfo] = {}
    paths: dict[str, str] = {}
    for container in containers:
        sidecar_of = container.labels.get(LABEL_SIDECAR_OF)
        key = container.project_hash
        if not key:
            continue
        if sidecar_of is None:
            apps[key] = container
        elif container.labels.get(LABEL_SIDECAR_TYPE) == "proxy":
            proxies[key] = container
        else:
            continue  # the netguard step: it runs and exits
        paths.setdefault(key, Environment.project_path_of(container))
    found = [
        Environment(
            project_path=paths[key] or "?",
            project_hash=key,
            engine=engine,
            app=apps.get(key),
            proxy=proxies.get(key),
        )
        for key in paths
    ]

    def order(env: Environment) -> tuple[str, str, str]:
        """Each project, then its agents by name."""
        agent = env.agent
        if agent is None:
            return (env.project_path, "", env.project_hash)
        return (agent["project_path"], agent["name"], env.project_hash)

    return sorted(found, key=order)
