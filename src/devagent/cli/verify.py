"""devagent verify: run the isolation self-test against a real environment."""

from __future__ import annotations

import click

from devagent.cli.context import AppContext
from devagent.render import print_json, render_verify


@click.command()
@click.argument("target", required=False, metavar="[PATH|CONTAINER]")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def verify(app: AppContext, target: str | None, as_json: bool) -> int:
    """Try the ways out from inside the app; exit 1 if any of them works."""
    manager = app.manager
    result = manager.verify(manager.resolve(target))
    if as_json:
        print_json(result.to_json())
    else:
        render_verify(app.console, result)
    return 0 if result.ok else 1
