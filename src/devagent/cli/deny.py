"""devagent deny: take hosts off a project's allowlist, live."""

from __future__ import annotations

import click

from devagent.cli.allow import split_target
from devagent.cli.command import agent_option, result_command
from devagent.cli.context import AppContext
from devagent.manager.results import AllowlistResult


@result_command()
@click.argument("arguments", nargs=-1, required=True, metavar="HOST... [PATH]")
@agent_option
def deny(app: AppContext, arguments: tuple[str, ...], agent: str | None) -> AllowlistResult:
    """Remove HOSTs from the allowlist of the project at PATH (default: the current
    directory), whether config, template or project listed them. Live, like allow."""
    hosts, target = split_target(arguments)
    return app.manager.deny(app.manager.resolve(target, agent), hosts)
