"""devagent deny: take hosts off a project's allowlist, live."""

from __future__ import annotations

import click

from devagent.cli.allow import split_target
from devagent.cli.context import AppContext
from devagent.render import print_json, render_allowlist


@click.command()
@click.argument("arguments", nargs=-1, required=True, metavar="HOST... [PATH]")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def deny(app: AppContext, arguments: tuple[str, ...], as_json: bool) -> None:
    """Remove HOSTs from the allowlist of the project at PATH (default: the current
    directory), whether config, template or project listed them. Live, like allow."""
    hosts, target = split_target(arguments)
    manager = app.manager
    result = manager.deny(manager.resolve(target), hosts)
    if as_json:
        print_json(result.to_json())
    else:
        render_allowlist(app.console, result, asked=hosts, action="deny")
