"""devagent doctor: check this machine, with a fix for each problem found."""

from __future__ import annotations

import os

from devagent.cli.command import result_command
from devagent.cli.context import AppContext
from devagent.manager.doctor import DoctorReport


@result_command(json_help="Print the report as JSON.")
def doctor(app: AppContext) -> DoctorReport:
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
    return Doctor(app.executor or SubprocessExecutor(), choice).run()
