"""devagent's terminal UI: every environment in one tree, its facts, its live request log.

The App itself is its keys and looks; what it shows is in ``base``, what it does in
``actions``, ``access`` and ``inbox``, its parts in ``widgets`` and ``screens``.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType

from devagent.tui.access import AccessActions
from devagent.tui.actions import EnvironmentActions
from devagent.tui.inbox import InboxActions
from devagent.tui.widgets import allow_entry

__all__ = ["DevagentApp", "allow_entry"]


class DevagentApp(EnvironmentActions, AccessActions, InboxActions):
    TITLE = "devagent"
    CSS = """
    #envs { width: 34; border: round $primary; overflow-x: hidden; }
    #right { width: 1fr; }
    #details { height: 11; border: round $primary; padding: 0 1; }
    #log { height: 1fr; border: round $primary; }
    #message { height: 1; padding: 0 1; }
    #message.error { color: $error; text-style: bold; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        # In the order of the help bar, which shows what fits in the terminal's width.
        Binding("c", "create", "Create"),
        Binding("s", "start", "Start"),
        Binding("x", "stop", "Stop"),
        Binding("d", "destroy", "Destroy"),
        Binding("o", "shell", "Shell"),
        Binding("a", "claude", "Claude"),
        Binding("w", "allow", "Allow"),
        Binding("question_mark", "keys", "Keys"),
        Binding("q", "quit", "Quit"),
        Binding("n", "new_session", "New session"),
        Binding("k", "kill_session", "Kill session"),
        Binding("v", "verify", "Verify isolation"),
        Binding("minus", "deny", "Deny entry"),
        Binding("b", "blocked_only", "Blocked only"),
        Binding("r", "refresh", "Refresh"),
        Binding("i", "inbox", "Inbox"),
    ]
