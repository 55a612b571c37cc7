"""What every operation works with: the runtime, devagent's paths and the user's config."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from devagent.runtime import Runtime

if TYPE_CHECKING:
    from devagent.config import Config
    from devagent.paths import Paths


@dataclass
class Context:
    """``config`` may be a loader: only the operations that read it (create) validate it,
    so that list, status, start and stop never import the config model."""

    runtime: Runtime
    paths: Paths
    config_source: Config | Callable[[], Config]

    @functools.cached_property
    def config(self) -> Config:
        source = self.config_source
        return source() if callable(source) else source
