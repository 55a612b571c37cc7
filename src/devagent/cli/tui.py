"""devagent tui: watch and steer every environment in a terminal UI."""

from __future__ import annotations

import click

from devagent.cli.context import AppContext


@click.command()
@click.pass_obj
def tui(app: AppContext) -> None:
    """Open the terminal UI: environments, their facts and live request logs, and actions.

    Also what bare `devagent` opens on a terminal. Press ? in it for the keys.
    """
    from devagent.tui import run

    run(app.manager)
