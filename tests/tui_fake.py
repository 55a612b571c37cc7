"""A fake Backend for the terminal UI's tests: environments in memory, calls recorded."""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

from devagent.errors import DevagentError, ProjectError
from devagent.manager.allowlist import canonical
from devagent.manager.facts import ContainerFacts
from devagent.manager.inbox import Answer, InboxItem, InboxResult
from devagent.manager.results import (
    AllowlistEntryView,
    AllowlistResult,
    CreateResult,
    Environment,
    LifecycleResult,
    ListResult,
    Progress,
    ProgressEvent,
    no_progress,
)
from devagent.manager.selftest import Check, VerifyResult
from devagent.manager.tmux import Session
from devagent.project import (
    LABEL_AGENT,
    LABEL_AGENT_BRANCH,
    LABEL_AGENT_OF,
    LABEL_AGENT_PROJECT,
    LABEL_TEMPLATE,
    Project,
    identify,
)
from devagent.runtime.engine import ContainerInfo

CREATED = datetime.datetime(2026, 11, 28, 8, 0, tzinfo=datetime.UTC)


class FakeTemplate(NamedTuple):
    name: str


class FakeBackend:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.states: dict[str, str] = {}  # project path -> "running" / "stopped"
        self.templates_of: dict[str, str] = {}
        self.session_list: dict[str, tuple[Session, ...]] = {}
        self.allowed: dict[str, list[str]] = {}
        self.calls: list[tuple[Any, ...]] = []
        self.fail: dict[str, DevagentError] = {}  # operation name -> error it raises next
        self.leaky = False  # verify reports a way out
        self.agent_labels: dict[str, dict[str, str]] = {}  # an agent's worktree -> its labels
        self.inbox_items: list[InboxItem] = []

    # --- helpers for tests -------------------------------------------------------------
    def add(self, name: str, state: str = "running", template: str = "basic") -> Project:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        self.states[str(path)] = state
        self.templates_of[str(path)] = template
        return identify(path)

    def add_agent(self, parent: str, name: str) -> Project:
        """An agent of the project ``parent`` (its worktree sorts after the project)."""
        project = self.add(f"{parent}~agent-{name}")
        self.agent_labels[str(project.path)] = {
            LABEL_AGENT: name, LABEL_AGENT_BRANCH: f"agent/{name}",
            LABEL_AGENT_OF: identify(self.root / parent).hash,
            LABEL_AGENT_PROJECT: str(self.root / parent),
        }  # fmt: skip
        return project

    def log(self, project: Project, **record: Any) -> None:
        base = {
            "time": "2026-11-28T08:30:00Z", "decision": "allowed", "reason": "allowlisted",
            "method": "GET", "scheme": "https", "port": 443, "path": "/", "status": 200,
        }  # fmt: skip
        directory = self.request_log_dir(project)
        directory.mkdir(parents=True, exist_ok=True)
        with (directory / "requests.jsonl").open("a") as handle:
            handle.write(json.dumps(base | record) + "\n")

    def _raise(self, operation: str) -> None:
        if operation in self.fail:
            raise self.fail.pop(operation)

    def _environment(self, path: str) -> Environment:
        project = identify(path, must_exist=False)
        state = self.states[path]
        running = state == "running"

        def container(role: str) -> ContainerInfo:
            labels = {LABEL_TEMPLATE: self.templates_of[path]} if role == "app" else {}
            labels |= self.agent_labels.get(path, {})
            return ContainerInfo(
                id=f"{role}-{project.hash}",
                name=f"devagent-{project.hash}-{role}",
                image=f"devagent-{project.hash}-{role}:latest",
                state="running" if running else "exited",
                status="Up 5 minutes" if running else "Exited (0) 1 minute ago",
                created=CREATED,
                labels=labels,
            )

        return Environment(path, project.hash, "docker", container("app"), container("proxy"))

    # --- the Backend -------------------------------------------------------------------
    def list(self) -> ListResult:
        self._raise("list")
        return ListResult("docker", tuple(self._environment(p) for p in sorted(self.states)))

    def facts(self, project: Project) -> tuple[ContainerFacts, ...]:
        return (
            ContainerFacts(
                name=project.app_container, user="vscode", capabilities=(), dropped=("ALL",),
                security_options=("no-new-privileges:true",), privileged=False,
                read_only_root=False, memory_bytes=4 << 30, cpus=2.0, pids_limit=512,
                networks=(f"devagent-{project.hash}-net",), started_at=None,
            ),
        )  # fmt: skip

    def allowlist(self, project: Project) -> AllowlistResult:
        entries = ("api.anthropic.com", *self.allowed.get(str(project.path), []))
        return AllowlistResult(
            str(project.path), tuple(AllowlistEntryView(e, ("template",)) for e in entries)
        )

    def allow(self, project: Project, entries: Sequence[str]) -> AllowlistResult:
        self.calls.append(("allow", str(project.path), tuple(entries)))
        self._raise("allow")
        self.allowed.setdefault(str(project.path), []).extend(entries)
        return self.allowlist(project)

    def deny(self, project: Project, entries: Sequence[str]) -> AllowlistResult:
        self.calls.append(("deny", str(project.path), tuple(entries)))
        current = self.allowed.setdefault(str(project.path), [])
        removed = tuple(e for e in entries if e in current)
        self.allowed[str(project.path)] = [e for e in current if e not in entries]
        return replace(self.allowlist(project), removed=removed)

    def verify(self, project: Project) -> VerifyResult:
        self.calls.append(("verify", str(project.path)))
        self._raise("verify")
        return VerifyResult(
            str(project.path),
            (
                Check("the only route leads to the proxy", True, "proxy 10.213.0.2"),
                Check("an external name does not resolve", not self.leaky, "getent exit 2"),
            ),
        )

    def templates(self) -> list[FakeTemplate]:
        return [FakeTemplate("basic"), FakeTemplate("python-project")]

    def check_create(
        self, path: str | Path | None, *, template: str | None, allow: Sequence[str]
    ) -> tuple[Project, FakeTemplate]:
        project = identify(path or Path.cwd())  # the real checks: the folder exists ...
        if template not in (None, "basic", "python-project"):
            raise ProjectError(f"no template named {template!r}")
        canonical(allow)  # ... and every entry parses
        return project, FakeTemplate(template or "basic")

    def create(
        self,
        path: str | Path | None,
        *,
        template: str | None = None,
        allow: Sequence[str] = (),
        force: bool = False,
        progress: Progress = no_progress,
    ) -> CreateResult:
        self.calls.append(("create", str(path), template, tuple(allow)))
        project, chosen = self.check_create(path, template=template, allow=allow)
        progress(ProgressEvent("step", "Building the app image"))
        progress(ProgressEvent("output", "#5 RUN apt-get install -y git"))
        self._raise("create")
        self.states[str(project.path)] = "running"
        self.templates_of[str(project.path)] = chosen.name
        env = self._environment(str(project.path))
        return CreateResult(env, str(project.devcontainer_dir), None, tuple(allow))

    def _lifecycle(self, action: str, project: Project, progress: Progress) -> LifecycleResult:
        self.calls.append((action, str(project.path)))
        progress(ProgressEvent("step", f"{action} {project.path}"))
        self._raise(action)
        if action == "destroy":
            env = self._environment(str(project.path))
            del self.states[str(project.path)]
            return LifecycleResult("destroy", env)
        self.states[str(project.path)] = "running" if action == "start" else "stopped"
        return LifecycleResult(action, self._environment(str(project.path)))  # type: ignore[arg-type]

    def start(self, project: Project, *, progress: Progress = no_progress) -> LifecycleResult:
        return self._lifecycle("start", project, progress)

    def stop(self, project: Project, *, progress: Progress = no_progress) -> LifecycleResult:
        return self._lifecycle("stop", project, progress)

    def destroy(
        self, project: Project, *, purge: bool = False, progress: Progress = no_progress
    ) -> LifecycleResult:
        return self._lifecycle("destroy", project, progress)

    def sessions(self, project: Project) -> tuple[Session, ...]:
        return self.session_list.get(str(project.path), ())

    def new_session(self, project: Project, name: str) -> None:
        self.calls.append(("new_session", str(project.path), name))
        current = self.session_list.get(str(project.path), ())
        self.session_list[str(project.path)] = (*current, Session(name, 1, False))

    def kill_session(self, project: Project, name: str) -> None:
        self.calls.append(("kill_session", str(project.path), name))
        current = self.session_list.get(str(project.path), ())
        self.session_list[str(project.path)] = tuple(s for s in current if s.name != name)

    def shell_argv(self, project: Project, *, tty: bool) -> list[str]:
        return ["docker", "exec", "-it", project.app_container, "bash", "-l"]

    def claude_argv(self, project: Project, args: Sequence[str] = (), *, tty: bool) -> list[str]:
        return ["docker", "exec", "-it", project.app_container, "tmux", "new-session", "-A"]

    def attach_argv(self, project: Project, session: str, *, tty: bool) -> list[str]:
        return ["docker", "exec", "-it", project.app_container, "tmux", "attach", "-t", session]

    def run_interactive(self, argv: Sequence[str]) -> int:
        self.calls.append(("interactive", tuple(argv)))
        return 0

    def inbox(self, *, everything: bool = False) -> InboxResult:
        self._raise("inbox")
        shown = self.inbox_items if everything else [i for i in self.inbox_items
                                                     if i.state == "pending"]  # fmt: skip
        return InboxResult(tuple(shown))

    def answer(self, item: int, how: Answer) -> InboxResult:
        self.calls.append(("answer", item, how))
        state = "declined" if not how.allow else "allowed" if how.always else "allowed for a while"
        self.inbox_items = [replace(i, state=state) if i.id == item else i
                            for i in self.inbox_items]  # fmt: skip
        decided = next(i for i in self.inbox_items if i.id == item)
        return InboxResult(tuple(self.inbox_items), decided)

    def request_log_dir(self, project: Project) -> Path:
        return self.root / "logs" / project.hash
