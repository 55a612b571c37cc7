"""devagent shell: an interactive shell in a project's app container, as the agent."""

from __future__ import annotations

import shlex

import click

from devagent.cli.command import agent_option
from devagent.cli.context import AppContext
from devagent.cli.exec_cmd import attached_to_terminal


@click.command()
@click.argument("target", required=False, metavar="[PATH|CONTAINER]")
@click.option("--print", "print_only", is_flag=True, help="Print the engine command instead.")
@agent_option
@click.pass_obj
def shell(app: AppContext, target: str | None, print_only: bool, agent: str | None) -> int:
    """Open a login shell as the container user in the workspace."""
    manager = app.manager
    argv = manager.shell_argv(manager.resolve(target, agent), tty=attached_to_terminal())
    if print_only:
        click.echo(shlex.join(argv))
        return 0
    return manager.run_interactive(argv)
