"""devagent claude: attach to Claude Code in a tmux session in the sandbox (or start it)."""

from __future__ import annotations

import shlex

import click

from devagent.cli.command import agent_option
from devagent.cli.context import AppContext
from devagent.cli.exec_cmd import attached_to_terminal, split_project


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("words", nargs=-1, type=click.UNPROCESSED, metavar="[PATH] [-- ARGS]")
@click.option("--print", "print_only", is_flag=True, help="Print the engine command instead.")
@agent_option
@click.pass_obj
def claude(app: AppContext, words: tuple[str, ...], print_only: bool, agent: str | None) -> int:
    """Attach to the tmux session running Claude Code (starting it with ARGS if needed).

    Detach with Ctrl-b d: Claude keeps working in the sandbox.
    """
    target, args = split_project(words)
    manager = app.manager
    project = manager.resolve(target, agent)
    argv = manager.claude_argv(project, args, tty=attached_to_terminal())
    if print_only:
        click.echo(shlex.join(argv))
        return 0
    return manager.run_interactive(argv)
