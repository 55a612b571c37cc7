"""devagent completion: the shell completion script for bash, zsh or fish."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class


@click.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL. For example, in ~/.bashrc:

    eval "$(devagent completion bash)"
    """
    root = ctx.find_root()
    completer = get_completion_class(shell)
    assert completer is not None  # click ships all three
    script = completer(root.command, {}, "devagent", "_DEVAGENT_COMPLETE").source()
    click.echo(script)
