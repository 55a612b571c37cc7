"""devagent sessions: the tmux sessions in a project's app container."""

from __future__ import annotations

import shlex

import click

from devagent.cli.command import agent_option, output
from devagent.cli.context import AppContext
from devagent.manager import tmux

ACTIONS = ("new", "kill")


@click.command()
@click.argument("words", nargs=-1, metavar="[new NAME | kill NAME] [PATH]")
@click.option("--print", "print_only", is_flag=True, help="Print the engine command instead.")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@agent_option
@click.pass_obj
def sessions(
    app: AppContext, words: tuple[str, ...], print_only: bool, as_json: bool, agent: str | None
) -> int:
    """List tmux sessions; `sessions new NAME` starts a detached one in the workspace,
    `sessions kill NAME` ends one."""
    action = words[0] if words and words[0] in ACTIONS else "list"
    if action == "list":
        if len(words) > 1:
            raise click.UsageError("sessions takes at most one PATH")
        name, target = "", (words[0] if words else None)
    else:
        if len(words) not in (2, 3):
            raise click.UsageError(f"usage: devagent sessions {action} NAME [PATH]")
        name, target = words[1], (words[2] if len(words) == 3 else None)
    manager = app.manager
    project = manager.resolve(target, agent)
    if print_only:
        if action == "list":
            command = tmux.list_command()
        else:
            command = (tmux.new_command if action == "new" else tmux.kill_command)(name)
        click.echo(shlex.join(manager.exec_argv(project, command, tty=False)))
        return 0
    if action == "new":
        manager.new_session(project, name)
    elif action == "kill":
        manager.kill_session(project, name)
    else:
        return output(app, manager.sessions_report(project), as_json=as_json)
    return 0
