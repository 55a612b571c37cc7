"""devagent allow: let a project's environment reach more hosts, live."""

from __future__ import annotations

from pathlib import Path

import click

from devagent.cli.command import agent_option, result_command
from devagent.cli.context import AppContext
from devagent.manager.results import AllowlistResult


def split_target(arguments: tuple[str, ...]) -> tuple[list[str], str | None]:
    """``HOST... [PATH]``: the last argument is the project when it reads as a path.

    A host name never holds a ``/``; so ``./app``, ``~/src/app`` or ``.`` is a path, and so
    is an existing directory when a host comes before it.
    """
    *hosts, last = arguments
    looks_like_path = "/" in last or last in (".", "..")
    if hosts and (looks_like_path or Path(last).is_dir()):
        return hosts, str(Path(last).expanduser())
    if not hosts and looks_like_path:
        raise click.UsageError("give at least one HOST before the PATH")
    return [*hosts, last], None


@result_command()
@click.argument("arguments", nargs=-1, required=True, metavar="HOST... [PATH]")
@agent_option
def allow(app: AppContext, arguments: tuple[str, ...], agent: str | None) -> AllowlistResult:
    """Allow HOSTs (example.com, *.example.com, host:8443, 'host tunnel') for the project at
    PATH (default: the current directory). A running proxy applies the change to its next
    request; nothing restarts."""
    hosts, target = split_target(arguments)
    return app.manager.allow(app.manager.resolve(target, agent), hosts)
