"""tmux sessions in the app container: the commands that list, start and end them.

The CLI (`devagent sessions`, `shell`, `claude`) and the terminal UI use these, through the
Manager, so both run exactly the same commands.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

CLAUDE_SESSION = "claude"
LOGIN_SHELL = ("bash", "-l")
# tmux prints control characters as "_": fields are set apart by two spaces.
_FORMAT = "#{session_name}  #{session_windows}  #{?session_attached,attached,detached}"


@dataclass(frozen=True)
class Session:
    name: str
    windows: int
    attached: bool

    def describe(self) -> str:
        state = "attached" if self.attached else "detached"
        return f"{self.name}  {self.windows} windows  {state}"


def list_command() -> list[str]:
    return ["tmux", "list-sessions", "-F", _FORMAT]


def parse_sessions(stdout: str) -> tuple[Session, ...]:
    sessions = []
    for line in stdout.splitlines():
        name, _, rest = line.partition("  ")
        windows, _, state = rest.partition("  ")
        if name and windows.isdigit():
            sessions.append(Session(name, int(windows), state.strip() == "attached"))
    return tuple(sessions)


def new_command(name: str) -> list[str]:
    """A detached session with a login shell in the workspace."""
    return ["tmux", "new-session", "-d", "-s", name, *LOGIN_SHELL]


def attach_command(name: str) -> list[str]:
    return ["tmux", "attach-session", "-t", name]


def kill_command(name: str) -> list[str]:
    return ["tmux", "kill-session", "-t", name]


def claude_command(args: Sequence[str] = ()) -> list[str]:
    """Attach to the Claude session, starting Claude Code with ``args`` if it is not there."""
    start = shlex.join(["claude", *args])
    # A login shell in the session, so that the profile (PATH and the like) is read.
    return ["tmux", "new-session", "-A", "-s", CLAUDE_SESSION, f"bash -lc {shlex.quote(start)}"]


def no_server(stderr: str) -> bool:
    """tmux's answer when no session exists at all (not an error for a listing)."""
    return "no server running" in stderr or "error connecting" in stderr
