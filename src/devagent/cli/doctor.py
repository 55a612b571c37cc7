"""devagent doctor: check this machine, with a fix for each problem found."""

from __future__ import annotations

import os
from dataclasses import replace

import click

from devagent.cli.command import result_command
from devagent.cli.context import AppContext
from devagent.manager.doctor import DoctorReport


@result_command(json_help="Print the report as JSON.")
@click.option("--fix", is_flag=True, help="Remove the leftovers it lists (it says which first).")
def doctor(app: AppContext, fix: bool) -> DoctorReport:
    """Check engines, compose, the devcontainer CLI, disk and known conflicts.

    Exits 1 when something makes devagent unusable here, 0 otherwise (warnings included).
    """
    from devagent.manager.doctor import Doctor
    from devagent.runtime.engine import ENGINES
    from devagent.runtime.executor import SubprocessExecutor

    configured = app.config.runtime if app.paths.config_file.exists() else "auto"
    choice = app.runtime_choice or configured
    if choice == "auto" and os.environ.get("DEVAGENT_RUNTIME") in ENGINES:
        choice = os.environ["DEVAGENT_RUNTIME"]  # as engine detection does
    report = Doctor(app.executor or SubprocessExecutor(), choice).run()
    if not any(c.name in ENGINES and c.status == "ok" for c in report.checks):
        return report  # no engine answers: nothing to look for leftovers on
    manager = app.manager
    found = manager.leftovers()
    if not (fix and found):
        return replace(report, leftovers=found)
    app.error_console.print(f"Removing {len(found)} leftovers:", highlight=False)
    for item in found:
        app.error_console.print(f"  {item.kind} {item.name} ({item.why})", highlight=False)
    return replace(report, leftovers=found, removed=manager.remove_leftovers(found))
