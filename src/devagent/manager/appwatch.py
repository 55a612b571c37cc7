"""Watching the app while `devcontainer up` runs: an app that ends at start ends create.

A template whose entrypoint exits (a typo, a missing binary) leaves the app container
exited. Docker's tools then fail on their own; podman-compose waits for it to be running
(the netguard step depends on it), trying again each second for as long as it is let. The
watch sees the app end, keeps its exit code and last output, and stops `devcontainer up`
with everything it started, so that create fails at once, saying why.
"""

from __future__ import annotations

import threading
from types import TracebackType

from devagent.errors import ProjectError
from devagent.project import Project
from devagent.runtime import Runtime

INTERVAL = 2.0  # seconds between looks at the app
SETTLED = 2  # looks in a row that find it ended (a restart in between is not an end)


class AppExitWatch:
    """A context manager around `devcontainer up` (pass it ``cancel``); ``error()`` says
    whether the app ended."""

    def __init__(self, runtime: Runtime, project: Project, *, interval: float = INTERVAL) -> None:
        self.runtime = runtime
        self.container = project.app_container
        self.interval = interval
        self.exit_code: int | None = None
        self.output = ""
        self.cancel = threading.Event()  # set when the app ended: stops `devcontainer up`
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="devagent-app-watch", daemon=True)

    def __enter__(self) -> AppExitWatch:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        seen = 0
        while not self._stop.wait(self.interval):
            seen = seen + 1 if self.runtime.exit_code(self.container) is not None else 0
            if seen >= SETTLED and not self._stop.is_set():
                self._record()
                self.cancel.set()
                return

    def _record(self) -> None:
        code = self.runtime.exit_code(self.container)
        if code is not None and self.exit_code is None:
            self.exit_code = code
            self.output = self.runtime.last_output(self.container)

    def error(self, *, look: bool = False) -> ProjectError | None:
        """The app's end as an error, if it ended; ``look`` looks once more first (after
        `devcontainer up` failed, the watch may not have seen the end settle yet)."""
        if look and self.exit_code is None:
            self._record()
        if self.exit_code is None:
            return None
        said = f"; its last output:\n{self.output}" if self.output else " (it printed nothing)"
        return ProjectError(
            f"the app's container exited at start (exit code {self.exit_code}){said}",
            hint="the template's Dockerfile must leave the app running: check its ENTRYPOINT "
            "and CMD (the devcontainer CLI runs them, then keeps the container alive)",
        )
