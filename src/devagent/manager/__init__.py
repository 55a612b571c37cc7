"""The manager: the one facade that the CLI and the TUI call. Knows no terminal.

Each method is one line into the module of its operation group:
``create``, ``lifecycle`` (start, stop, destroy), ``agentcommands`` (agent add and rm,
destroy with agents), ``agents`` (their records), ``inbox`` (what waits for the user),
``isolation`` and ``selftest`` (verify), ``access`` (exec, shell, claude, tmux),
``allowlist``, ``state`` (per-project state), ``environments`` (list, status, facts),
``doctor``; results are in ``results``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from devagent.manager import (
    access,
    agentcommands,
    agents,
    allowlist,
    create,
    environments,
    inbox,
    isolation,
    leftovers,
    lifecycle,
    requestlog,
    state,
)
from devagent.manager import tmux as tmux
from devagent.manager.agentcommands import AgentResult
from devagent.manager.agents import Agent
from devagent.manager.allowlist import merge_allowlists as merge_allowlists
from devagent.manager.context import Context
from devagent.manager.inbox import Answer, InboxResult
from devagent.manager.leftovers import Leftover
from devagent.manager.requestlog import LogFilter
from devagent.manager.results import (
    AllowlistResult,
    CreateResult,
    Environment,
    LifecycleResult,
    ListResult,
    LogsResult,
    Progress,
    SessionsResult,
    StatusResult,
    TemplatesResult,
    TemplateView,
    no_progress,
)
from devagent.manager.selftest import Check, VerifyResult
from devagent.project import Project
from devagent.runtime import Runtime

if TYPE_CHECKING:
    from devagent.config import Config
    from devagent.generate.options import EnvironmentOptions
    from devagent.manager.facts import ContainerFacts
    from devagent.paths import Paths
    from devagent.templates import Template


class Manager:
    """devagent's operations on one user's environments, for any front end."""

    def __init__(
        self, runtime: Runtime, paths: Paths, config: Config | Callable[[], Config]
    ) -> None:
        """``config`` may be a loader: only operations that need it (create) validate it."""
        self.context = Context(runtime, paths, config)

    @property
    def runtime(self) -> Runtime:
        return self.context.runtime

    @property
    def paths(self) -> Paths:
        return self.context.paths

    @property
    def config(self) -> Config:
        return self.context.config

    # --- finding environments ---------------------------------------------------------
    def resolve(self, target: str | None, agent: str | None = None) -> Project:
        """A project by path or container name; with ``agent``, that agent's worktree."""
        return agents.resolve(self.context, environments.resolve(self.context, target), agent)

    def status(self, project: Project) -> Environment:
        return environments.status(self.context, project)

    def facts(self, project: Project) -> tuple[ContainerFacts, ...]:
        return environments.facts(self.context, project)

    def warnings(self) -> tuple[str, ...]:
        return environments.engine_warnings(self.context)

    def status_report(self, project: Project) -> StatusResult:
        """The status with how the engine was chosen and every warning that applies."""
        warnings = (*state.git_warnings(self.context, project), *self.warnings())
        return StatusResult(self.status(project), self.runtime.reason, warnings)

    def templates(self) -> list[Template]:
        from devagent.templates import discover

        return discover(self.paths)

    def templates_report(self) -> TemplatesResult:
        return TemplatesResult(tuple(
            TemplateView(t.name, t.manifest.description, t.builtin, str(t.directory),
                         tuple(t.manifest.allowlist))
            for t in self.templates()
        ))  # fmt: skip

    # --- create, start, stop, destroy -------------------------------------------------
    def check_create(
        self, path: str | Path | None, *, template: str | None, allow: Sequence[str]
    ) -> tuple[Project, Template]:
        return create.check(self.context, path, template=template, allow=allow)

    def options_for(
        self, project: Project, template: Template, allow: Sequence[str]
    ) -> EnvironmentOptions:
        """Prepare the state the options point at (it writes), then resolve them."""
        prepared = create.prepare_state(self.context, project, template, allow)
        return create.options_for(self.context, project, template, prepared)

    def create(
        self, path: str | Path | None, *, template: str | None = None,
        allow: Sequence[str] = (), force: bool = False, progress: Progress = no_progress,
    ) -> CreateResult:  # fmt: skip
        return create.create(
            self.context, path, template=template, allow=allow, force=force, progress=progress
        )

    def start(self, project: Project, *, progress: Progress = no_progress) -> LifecycleResult:
        return lifecycle.start(self.context, project, progress=progress)

    def stop(self, project: Project, *, progress: Progress = no_progress) -> LifecycleResult:
        return lifecycle.stop(self.context, project, progress=progress)

    def destroy(
        self, project: Project, *, purge: bool = False, with_agents: bool = False,
        force: bool = False, progress: Progress = no_progress,
    ) -> LifecycleResult:  # fmt: skip
        return agentcommands.destroy_project(
            self.context, project, purge=purge, with_agents=with_agents, force=force,
            progress=progress,
        )  # fmt: skip

    # --- agents -------------------------------------------------------------------------
    def agents(self, project: Project) -> tuple[Agent, ...]:
        return agents.of_project(self.context, project)

    def add_agent(
        self, path: str | Path | None, name: str, *, branch: str | None = None,
        allow: Sequence[str] = (), progress: Progress = no_progress,
    ) -> AgentResult:  # fmt: skip
        return agentcommands.add(
            self.context, path, name, branch=branch, allow=allow, progress=progress
        )

    def remove_agent(
        self, path: str | Path | None, name: str, *, force: bool = False,
        keep_worktree: bool = False, progress: Progress = no_progress,
    ) -> AgentResult:  # fmt: skip
        return agentcommands.remove(
            self.context, path, name, force=force, keep_worktree=keep_worktree, progress=progress
        )

    # --- isolation and state ------------------------------------------------------------
    def verify(self, project: Project) -> VerifyResult:
        return isolation.verify(self.context, project)

    def isolation(self, project: Project) -> VerifyResult:
        return isolation.check(self.context, project)

    def require_isolation(self, project: Project) -> None:
        isolation.require(self.context, project)

    def wait_until_isolated(self, project: Project, *, timeout: float = 60.0) -> None:
        isolation.wait_until_isolated(self.context, project, timeout=timeout)

    def wait_for_proxy(self, project: Project, *, timeout: float = 30.0) -> None:
        isolation.wait_for_proxy(self.context, project, timeout=timeout)

    def check_generated(self, project: Project) -> Check:
        return state.check_generated(self.context, project)

    def record_generated(self, project: Project) -> None:
        state.record_generated(self.context, project)

    def prepare_secrets(self, project: Project) -> tuple[tuple[str, str], ...]:
        return state.prepare_secrets(self.context, project)

    def credential_warnings(self) -> tuple[str, ...]:
        return state.credential_warnings(self.context)

    def request_log_dir(self, project: Project) -> Path:
        return self.paths.proxy_logs_dir(project.hash)

    def logs(self, project: Project, keep: LogFilter) -> LogsResult:
        return requestlog.report(project, self.request_log_dir(project), keep)

    def leftovers(self) -> tuple[Leftover, ...]:
        return leftovers.find(self.context)

    def remove_leftovers(self, items: tuple[Leftover, ...]) -> tuple[str, ...]:
        return leftovers.remove(self.context, items)

    # --- getting in -------------------------------------------------------------------
    def exec_argv(
        self, project: Project, command: Sequence[str], *, tty: bool, login: bool = False
    ) -> list[str]:
        return access.exec_argv(self.context, project, command, tty=tty, login=login)

    def shell_argv(self, project: Project, *, tty: bool) -> list[str]:
        return self.exec_argv(project, tmux.LOGIN_SHELL, tty=tty)

    def claude_argv(self, project: Project, args: Sequence[str] = (), *, tty: bool) -> list[str]:
        return self.exec_argv(project, tmux.claude_command(args), tty=tty)

    def attach_argv(self, project: Project, session: str, *, tty: bool) -> list[str]:
        return self.exec_argv(project, tmux.attach_command(session), tty=tty)

    def sessions(self, project: Project) -> tuple[tmux.Session, ...]:
        return access.sessions(self.context, project)

    def sessions_report(self, project: Project) -> SessionsResult:
        return SessionsResult(str(project.path), self.sessions(project))

    def new_session(self, project: Project, name: str) -> None:
        access.run_tmux(self.context, project, tmux.new_command(name))

    def kill_session(self, project: Project, name: str) -> None:
        access.run_tmux(self.context, project, tmux.kill_command(name))

    def run_interactive(self, argv: Sequence[str]) -> int:
        """Run a command attached to this terminal; returns its exit code."""
        return self.runtime.executor.interactive(argv)

    # --- the inbox --------------------------------------------------------------------
    def inbox(self, *, everything: bool = False) -> InboxResult:
        return inbox.items(self.context, everything=everything)

    def answer(self, item: int, how: Answer) -> InboxResult:
        return inbox.decide(self.context, item, how)

    # --- allowlist --------------------------------------------------------------------
    def allowlist(self, project: Project) -> AllowlistResult:
        return allowlist.show(self.context, project)

    def allow(self, project: Project, entries: Sequence[str]) -> AllowlistResult:
        return allowlist.change(self.context, project, allow=entries)

    def deny(self, project: Project, entries: Sequence[str]) -> AllowlistResult:
        return allowlist.change(self.context, project, deny=entries)

    # Last: inside the class body, `list` names this method from here on.
    def list(self) -> ListResult:
        return environments.list_environments(self.context)
