"""devagent allow: let a project's environment reach more hosts, live."""

from __future__ import annotations

from pathlib import Path

import click

from devagent.cli.context import AppContext
from devagent.render import print_json, render_allowlist


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


@click.command()
@click.argument("arguments", nargs=-1, required=True, metavar="HOST... [PATH]")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def allow(app: AppContext, arguments: tuple[str, ...], as_json: bool) -> None:
    """Allow HOSTs (example.com, *.example.com, host:8443, 'host passthrough') for the
    project at PATH (default: the current directory). A running proxy applies the change to
    its next request; nothing restarts."""
    change_allowlist(app, arguments, as_json, "allow")


def change_allowlist(
    app: AppContext, arguments: tuple[str, ...], as_json: bool, action: str
) -> None:
    """allow and deny: the same steps, one Manager call apart."""
    hosts, target = split_target(arguments)
    manager = app.manager
    change = manager.allow if action == "allow" else manager.deny
    result = change(manager.resolve(target), hosts)
    if as_json:
        print_json(result.to_json())
    else:
        render_allowlist(app.console, result, asked=hosts, action=action)
