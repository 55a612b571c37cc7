"""devagent doctor: check this machine, with a fix for each problem found."""

from __future__ import annotations

import os

import click

from devagent.cli.context import AppContext
from devagent.render import print_json, render_doctor


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def doctor(app: AppContext, as_json: bool) -> int:
    """Check engines, compose, the devcontainer CLI, disk and known conflicts.

    Exits 1 when something makes devagent unusable here, 0 otherwise (warnings included).
    """
    from devagent.manager.doctor import Doctor
    from devagent.runtime.executor import SubprocessExecutor

    configured = app.config.runtime if app.paths.config_file.exists() else "auto"
    choice = app.runtime_choice or configured
    if choice == "auto" and os.environ.get("DEVAGENT_RUNTIME") in ("docker", "podman"):
        choice = os.environ["DEVAGENT_RUNTIME"]  # as engine detection does
    report = Doctor(app.executor or SubprocessExecutor(), choice).run()
    if as_json:
        print_json(report.to_json())
    else:
        render_doctor(app.console, report)
    return 0 if report.ok else 1
