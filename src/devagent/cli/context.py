"""What every subcommand shares: options from the group, and lazily built services."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from devagent.config import Config
    from devagent.manager import Manager
    from devagent.paths import Paths
    from devagent.render import ProgressPrinter
    from devagent.runtime.executor import Executor


@dataclass
class AppContext:
    config_dir: str | None = None
    runtime_choice: str | None = None
    verbose: bool = False
    executor: Executor | None = None

    @functools.cached_property
    def console(self) -> Console:
        from rich.console import Console

        return Console(highlight=False)

    @functools.cached_property
    def error_console(self) -> Console:
        from rich.console import Console

        return Console(stderr=True, highlight=False)

    @functools.cached_property
    def progress(self) -> ProgressPrinter:
        """Steps as they start (and, verbose, the tools' output) on stderr."""
        from devagent.render import ProgressPrinter

        return ProgressPrinter(self.error_console, verbose=self.verbose)

    @functools.cached_property
    def paths(self) -> Paths:
        from devagent.paths import Paths

        return Paths.discover(Path(self.config_dir) if self.config_dir else None)

    @functools.cached_property
    def config(self) -> Config:
        from devagent.config import load

        return load(self.paths)

    @functools.cached_property
    def manager(self) -> Manager:
        from devagent.manager import Manager
        from devagent.runtime import detect

        configured = "auto"
        if self.paths.config_file.exists():
            configured = _configured_runtime(self.paths.config_file) or self.config.runtime
        choice = self.runtime_choice or configured
        runtime = detect(
            choice,  # type: ignore[arg-type]
            self.executor,
            cache_dir=self.paths.state_dir,
        )
        return Manager(runtime, self.paths, lambda: self.config)


def _configured_runtime(config_file: Path) -> str | None:
    """The config's ``runtime`` read without the config model (importing pydantic doubled
    the time of `devagent list`); None when the file needs the full check and its errors."""
    import yaml

    from devagent.runtime.engine import ENGINES

    try:
        data = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    value = data.get("runtime", "auto") if isinstance(data, dict) else None
    return value if value == "auto" or value in ENGINES else None
