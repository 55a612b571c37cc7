"""Getting into a running environment: exec, shell, claude and tmux sessions, always as
the agent's user in the workspace."""

from __future__ import annotations

import json
from collections.abc import Sequence

from devagent.errors import ProjectError
from devagent.manager import tmux
from devagent.manager.context import Context
from devagent.manager.environments import require_running
from devagent.project import Project


def exec_argv(
    context: Context, project: Project, command: Sequence[str], *, tty: bool, login: bool = False
) -> list[str]:
    """The engine command that runs ``command`` as the agent, in the workspace.

    ``login`` runs it through a login shell (the user's profile: PATH and the like).
    """
    require_running(context, project)
    try:
        settings = json.loads(
            (project.devcontainer_dir / "devcontainer.json").read_text(encoding="utf-8")
        )
    except (OSError, ValueError) as exc:
        raise ProjectError(f"cannot read {project.devcontainer_dir}/devcontainer.json") from exc
    if login:
        command = ["bash", "-lc", 'exec "$@"', "devagent", *command]
    return context.runtime.engine.exec_argv(
        project.app_container,
        command,
        user=str(settings.get("remoteUser", "root")),
        workdir=str(settings.get("workspaceFolder", project.workspace_folder)),
        interactive=True,
        tty=tty,
    )


def sessions(context: Context, project: Project) -> tuple[tmux.Session, ...]:
    """The tmux sessions in the app container (none when tmux has no server)."""
    argv = exec_argv(context, project, tmux.list_command(), tty=False)
    result = context.runtime.executor.run(argv, check=False)
    if result.returncode != 0 and not tmux.no_server(result.stderr):
        raise ProjectError(f"cannot list tmux sessions: {result.stderr.strip()}")
    return tmux.parse_sessions(result.stdout)


def run_tmux(context: Context, project: Project, command: list[str]) -> None:
    argv = exec_argv(context, project, command, tty=False)
    result = context.runtime.executor.run(argv, check=False)
    if result.returncode != 0:
        raise ProjectError(f"tmux: {result.stderr.strip() or 'failed'}")
