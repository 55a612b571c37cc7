"""The inbox in the terminal UI: a count of what waits for the user in the title, and a
screen to answer it (the same answers as `devagent approve` and `devagent reject`)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, Static

from devagent.errors import DevagentError
from devagent.manager.inbox import Answer
from devagent.proxy.records import bounded
from devagent.tui.base import DevagentBase
from devagent.tui.screens import DIALOG_CSS

if TYPE_CHECKING:
    from devagent.manager.inbox import InboxItem

INBOX_INTERVAL = 1.0  # seconds between looks at the inbox (a refusal shows within one)


class InboxScreen(ModalScreen[tuple[int, Answer] | None]):
    """The items that wait: a approves for 10 minutes, A for good, r declines."""

    DEFAULT_CSS = DIALOG_CSS + "InboxScreen DataTable { height: auto; max-height: 16; }"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "answer('once')", "Allow 10 min"),
        Binding("A", "answer('always')", "Allow always"),
        Binding("r", "answer('reject')", "Reject"),
        Binding("escape", "close", "Close"),
    ]

    def __init__(self, items: tuple[InboxItem, ...]) -> None:
        super().__init__()
        self.items = items

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Inbox: {len(self.items)} waiting", classes="title")
            table: DataTable[Text] = DataTable(id="items", cursor_type="row")
            table.add_columns("ID", "WHERE", "HOST", "REQUEST", "N", "LAST")
            for item in self.items:
                where = Path(item.project_path).name or item.project_hash
                where += f"/{item.agent}" if item.agent else ""
                last = datetime.datetime.fromtimestamp(item.last).strftime("%H:%M:%S")
                cells = (str(item.id), where, f"{item.host}:{item.port}",
                         f"{item.method} {item.path}", str(item.count), last)  # fmt: skip
                table.add_row(*(Text(bounded(cell, 60)) for cell in cells))
            yield table
            yield Static("a allow 10 min · A allow always · r reject · escape close")

    def action_answer(self, how: str) -> None:
        table = self.query_one("#items", DataTable)
        if not self.items or not 0 <= table.cursor_row < len(self.items):
            return
        item = self.items[table.cursor_row]
        answer = Answer(allow=how != "reject", always=how == "always")
        self.dismiss((item.id, answer))

    def action_close(self) -> None:
        self.dismiss(None)


class InboxActions(DevagentBase):
    def on_mount(self) -> None:  # Textual calls each class's handler: the base's runs too
        self.load_inbox()
        self.set_interval(INBOX_INTERVAL, self.load_inbox)

    @work(thread=True, exclusive=True, group="inbox")
    def load_inbox(self) -> None:
        try:
            pending = self.backend.inbox().pending
        except DevagentError:
            return  # the count stays as it was; the inbox screen shows the error
        self.call_from_thread(self._show_count, pending)

    def _show_count(self, pending: int) -> None:
        self.sub_title = f"inbox: {pending} waiting (i)" if pending else ""

    def action_inbox(self) -> None:
        try:
            items = self.backend.inbox().items
        except DevagentError as exc:
            self.show_error(str(exc))
            return
        self.push_screen(InboxScreen(items), self._answered)

    def _answered(self, choice: tuple[int, Answer] | None) -> None:
        if choice is not None:
            self._answer(*choice)

    @work(thread=True, group="inbox-answer")
    def _answer(self, item: int, how: Answer) -> None:
        try:
            decided = self.backend.answer(item, how).decided
        except DevagentError as exc:
            self.call_from_thread(self.show_error, str(exc))
            return
        if decided is not None:
            said = {"allowed": f"allowed {decided.entry} for good",
                    "declined": f"declined {decided.host}"}.get(
                decided.state, f"allowed {decided.entry} for a while")  # fmt: skip
            self.call_from_thread(self.show_message, f"Inbox item {item}: {said}.")
        self.call_from_thread(self.load_inbox)
