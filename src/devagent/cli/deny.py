"""devagent deny: take hosts off a project's allowlist, live."""

from __future__ import annotations

import click

from devagent.cli.allow import change_allowlist
from devagent.cli.context import AppContext


@click.command()
@click.argument("arguments", nargs=-1, required=True, metavar="HOST... [PATH]")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def deny(app: AppContext, arguments: tuple[str, ...], as_json: bool) -> None:
    """Remove HOSTs from the allowlist of the project at PATH (default: the current
    directory), whether config, template or project listed them. Live, like allow."""
    change_allowlist(app, arguments, as_json, "deny")
