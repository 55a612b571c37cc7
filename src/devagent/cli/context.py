"""What every subcommand shares: options from the group, and lazily built services."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from devagent.config import Config, Paths
    from devagent.manager import Manager
    from devagent.runtime.executor import Executor


@dataclass
class AppContext:
    config_dir: str | None = None
    runtime_choice: str | None = None
    verbose: bool = False
    executor: Executor | None = None

    @functools.cached_property
    def console(self) -> Console:
        return Console(highlight=False)

    @functools.cached_property
    def error_console(self) -> Console:
        return Console(stderr=True, highlight=False)

    @functools.cached_property
    def paths(self) -> Paths:
        from devagent.config import Paths

        return Paths.discover(Path(self.config_dir) if self.config_dir else None)

    @functools.cached_property
    def config(self) -> Config:
        from devagent.config import load

        return load(self.paths)

    @functools.cached_property
    def manager(self) -> Manager:
        from devagent.manager import Manager
        from devagent.runtime import detect

        choice = self.runtime_choice or self.config.runtime
        runtime = detect(choice, self.executor)  # type: ignore[arg-type]
        return Manager(runtime, self.paths, self.config)
