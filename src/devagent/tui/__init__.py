"""devagent's terminal UI (Textual): ``devagent tui``, or bare ``devagent`` on a terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devagent.tui.backend import Backend


def run(backend: Backend) -> None:
    from devagent.tui.app import DevagentApp

    DevagentApp(backend).run()
