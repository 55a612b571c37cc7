"""devagent sessions: the tmux sessions in a project's app container."""

from __future__ import annotations

import shlex

import click

from devagent.cli.context import AppContext

ACTIONS = ("new", "kill")


@click.command()
@click.argument("words", nargs=-1, metavar="[new NAME | kill NAME] [PATH]")
@click.option("--print", "print_only", is_flag=True, help="Print the engine command instead.")
@click.pass_obj
def sessions(app: AppContext, words: tuple[str, ...], print_only: bool) -> int:
    """List tmux sessions; `sessions new NAME` starts a detached one in the workspace,
    `sessions kill NAME` ends one."""
    action = words[0] if words and words[0] in ACTIONS else "list"
    if action == "list":
        if len(words) > 1:
            raise click.UsageError("sessions takes at most one PATH")
        name, target = None, (words[0] if words else None)
    else:
        if len(words) not in (2, 3):
            raise click.UsageError(f"usage: devagent sessions {action} NAME [PATH]")
        name, target = words[1], (words[2] if len(words) == 3 else None)
    tmux = {
        # tmux prints control characters as "_": columns are set apart by spaces.
        "list": ["tmux", "list-sessions", "-F", "#{session_name}  #{session_windows} windows  "
                 "#{?session_attached,attached,detached}"],
        "new": ["tmux", "new-session", "-d", "-s", str(name), "bash", "-l"],
        "kill": ["tmux", "kill-session", "-t", str(name)],
    }[action]  # fmt: skip
    manager = app.manager
    argv = manager.exec_argv(manager.resolve(target), tmux, tty=False)
    if print_only:
        click.echo(shlex.join(argv))
        return 0
    result = manager.runtime.executor.run(argv, check=False)
    if action == "list" and "no server running" in result.stderr:
        click.echo("No tmux sessions.")
        return 0
    if result.stdout:
        click.echo(result.stdout.rstrip("\n"))
    if result.returncode != 0:
        click.echo(result.stderr.strip(), err=True)
    return result.returncode
