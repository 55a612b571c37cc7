"""The UI's dialogs: confirm, ask a name, the create form, and an operation's progress."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Collapsible, Input, Label, RichLog, Select, Static

from devagent.errors import DevagentError
from devagent.manager.results import ProgressEvent

DIALOG_CSS = """
ModalScreen { align: center middle; }
.dialog {
    width: 76; max-width: 100%; height: auto; max-height: 100%;
    border: thick $accent; background: $surface; padding: 0 1;
}
.dialog Label.title { text-style: bold; margin-bottom: 1; }
.dialog .error { color: $error; height: auto; }
.dialog Horizontal.buttons { height: auto; align-horizontal: right; margin-top: 1; }
.dialog Button { margin-left: 1; min-width: 10; }
"""


class ConfirmScreen(ModalScreen[bool]):
    """Yes or no; y/enter confirms, n/escape declines."""

    DEFAULT_CSS = DIALOG_CSS
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str, *, confirm: str = "Yes") -> None:
        super().__init__()
        self.question, self.confirm = question, confirm

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question)
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="no")
                yield Button(self.confirm, id="yes", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


_SESSION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class AskScreen(ModalScreen[str | None]):
    """Ask for one word; ``check`` returns what is wrong with an answer, or None."""

    DEFAULT_CSS = DIALOG_CSS
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self, title: str, placeholder: str, check: Callable[[str], str | None], note: str = ""
    ) -> None:
        super().__init__()
        self.title_text, self.placeholder, self.check, self.note = title, placeholder, check, note

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="title")
            if self.note:
                yield Static(self.note)
            yield Input(placeholder=self.placeholder, id="answer")
            yield Static("", id="error", classes="error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        problem = self.check(event.value.strip())
        if problem is None:
            self.dismiss(event.value.strip())
        else:
            self.query_one("#error", Static).update(problem)

    def action_cancel(self) -> None:
        self.dismiss(None)


def session_name_problem(name: str) -> str | None:
    return None if _SESSION_NAME.match(name) else "Use 1-32 letters, digits, - or _."


class ReportScreen(ModalScreen[None]):
    """Lines of a result (the isolation self-test), closed with escape or enter."""

    DEFAULT_CSS = DIALOG_CSS
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,enter", "close", "Close")]

    def __init__(self, title: str, body: Text) -> None:
        super().__init__()
        self.title_text, self.body = title, body

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Label(self.title_text, classes="title")
            yield Static(self.body, id="report")
            with Horizontal(classes="buttons"):
                yield Button("Close", id="close")

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True)
class CreateRequest:
    path: str
    template: str
    allow: tuple[str, ...]


Validate = Callable[[CreateRequest], None]


class CreateScreen(ModalScreen[CreateRequest | None]):
    """The create form; ``validate`` is the Manager's own check (it raises DevagentError)."""

    DEFAULT_CSS = DIALOG_CSS
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, templates: list[str], default_path: str, validate: Validate) -> None:
        super().__init__()
        self.template_names, self.default_path, self.validate = templates, default_path, validate

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Label("Create an environment", classes="title")
            yield Label("Project folder")
            yield Input(self.default_path, id="path")
            yield Label("Template")
            yield Select(
                [(name, name) for name in self.template_names],
                value=self.template_names[0] if self.template_names else Select.BLANK,
                allow_blank=False,
                id="template",
            )
            yield Label("Extra allowed domains (space or comma separated)")
            yield Input(placeholder="e.g. pypi.org *.example.com", id="allow")
            yield Static("", id="error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Create", id="create", variant="primary")

    def request(self) -> CreateRequest:
        allow = self.query_one("#allow", Input).value.replace(",", " ").split()
        template = self.query_one("#template", Select).value
        return CreateRequest(
            self.query_one("#path", Input).value.strip(),
            str(template) if template is not Select.BLANK else "",
            tuple(allow),
        )

    def submit(self) -> None:
        request = self.request()
        try:
            self.validate(request)
        except DevagentError as exc:
            self.query_one("#error", Static).update(str(exc))
            return
        self.dismiss(request)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "create":
            self.submit()
        else:
            self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.submit()

    def action_cancel(self) -> None:
        self.dismiss(None)


class ProgressScreen(ModalScreen[None]):
    """A long operation: its steps, its tool output (collapsed), then its outcome."""

    DEFAULT_CSS = (
        DIALOG_CSS
        + """
    ProgressScreen #steps { height: auto; }
    ProgressScreen RichLog { height: 10; }
    """
    )
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,enter", "close", "Close")]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title
        self.steps: list[str] = []
        self.finished = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="title")
            yield Static("", id="steps")
            with Collapsible(title="Output", collapsed=True):
                yield RichLog(id="output", wrap=True, markup=False, max_lines=2000)
            yield Static("", id="outcome")
            with Horizontal(classes="buttons"):
                yield Button("Close", id="close", disabled=True)

    def add_event(self, event: ProgressEvent) -> None:
        if event.kind == "step":
            self.steps.append(f"- {event.message}")
            self.query_one("#steps", Static).update("\n".join(self.steps[-6:]))
        else:
            self.query_one("#output", RichLog).write(event.message)

    def finish(self, outcome: str, *, error: bool) -> None:
        self.finished = True
        outcome_widget = self.query_one("#outcome", Static)
        outcome_widget.update(outcome)
        outcome_widget.set_class(error, "error")
        button = self.query_one("#close", Button)
        button.disabled = False
        button.focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_close()

    def action_close(self) -> None:
        if self.finished:
            self.dismiss(None)
