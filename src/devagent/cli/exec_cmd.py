"""devagent exec: run one command in a project's app container, as the agent."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from devagent.cli.command import agent_option
from devagent.cli.context import AppContext


def attached_to_terminal() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def split_project(words: tuple[str, ...]) -> tuple[str | None, list[str]]:
    """``[PATH] [--] WORDS``: a leading existing directory is the project, the rest is
    passed on (click drops the ``--`` itself)."""
    if words and Path(words[0]).expanduser().is_dir():
        return words[0], list(words[1:])
    return None, list(words)


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument(
    "words", nargs=-1, required=True, type=click.UNPROCESSED, metavar="[PATH] -- CMD..."
)
@click.option("--print", "print_only", is_flag=True, help="Print the engine command instead.")
@agent_option
@click.pass_obj
def exec_command(
    app: AppContext, words: tuple[str, ...], print_only: bool, agent: str | None
) -> int:
    """Run CMD as the container user in the workspace; its exit code is passed through.

    devagent exec ~/src/app -- make test
    """
    target, command = split_project(words)
    if not command:
        raise click.UsageError("give the command to run after --")
    manager = app.manager
    argv = manager.exec_argv(
        manager.resolve(target, agent), command, tty=attached_to_terminal(), login=True
    )
    if print_only:
        click.echo(shlex.join(argv))
        return 0
    return manager.run_interactive(argv)
