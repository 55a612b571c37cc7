"""What the TUI does to environments: create, start, stop, destroy, verify, and changes to
the allowlist (from a blocked request in the log, or by name)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work

from devagent.errors import DevagentError
from devagent.project import Project, identify
from devagent.tui.base import DevagentBase
from devagent.tui.screens import AskScreen, ConfirmScreen, CreateRequest, CreateScreen, ReportScreen
from devagent.tui.widgets import RequestLog, allow_entry


class EnvironmentActions(DevagentBase):
    @property
    def records(self) -> list[dict[str, Any]]:
        """The requests in the log table, in order."""
        return self.request_log.records

    def on_request_log_read_failed(self, message: RequestLog.ReadFailed) -> None:
        self.show_error(message.problem)

    def action_create(self) -> None:
        templates = [template.name for template in self.backend.templates()]

        def validate(request: CreateRequest) -> None:
            self.backend.check_create(
                request.path or None, template=request.template or None, allow=request.allow
            )

        def submitted(request: CreateRequest | None) -> None:
            if request is None:
                return
            self._want = identify(request.path or Path.cwd(), must_exist=False).hash
            self.operate(
                f"Creating {request.path}",
                lambda progress: self.backend.create(
                    request.path or None,
                    template=request.template or None,
                    allow=request.allow,
                    progress=progress,
                ),
                f"Created {request.path}.",
            )

        self.push_screen(CreateScreen(templates, str(Path.cwd()), validate), submitted)

    def action_start(self) -> None:
        self._start_or_stop("start", "Starting", "Started")

    def action_stop(self) -> None:
        self._start_or_stop("stop", "Stopping", "Stopped")

    def _start_or_stop(self, action: str, doing: str, done: str) -> None:
        if (project := self.selected_project()) is not None:
            operation = getattr(self.backend, action)
            self.operate(
                f"{doing} {project.path}",
                lambda progress: operation(project, progress=progress),
                f"{done} {project.path}.",
            )

    def action_destroy(self) -> None:
        if (project := self.selected_project()) is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.operate(
                    f"Destroying {project.path}",
                    lambda progress: self.backend.destroy(project, progress=progress),
                    f"Destroyed the environment of {project.path}.",
                )

        self.push_screen(
            ConfirmScreen(
                f"Destroy the environment of {project.path}?\n"
                "Its containers, networks and images are removed; the project folder is kept.",
                confirm="Destroy",
            ),
            answered,
        )

    def action_allow(self) -> None:
        project = self.selected_project()
        record = self.request_log.current_record()
        if project is None:
            return
        if record is None or record.get("decision") != "blocked":
            self.show_error("select a blocked request in the request log first (tab, arrows)")
            return
        entry = allow_entry(record)

        def answered(yes: bool | None) -> None:
            if yes:
                self.change_allowlist(project, entry, allow=True)

        self.push_screen(
            ConfirmScreen(
                f"Allow {entry} for {project.path}?\n"
                f"It was blocked: {record.get('reason', '?')}.\n"
                "The running proxy applies it to the next request.",
                confirm="Allow",
            ),
            answered,
        )

    def action_deny(self) -> None:
        if (project := self.selected_project()) is None:
            return

        def chosen(entry: str | None) -> None:
            if entry:
                self.change_allowlist(project, entry, allow=False)

        self.push_screen(
            AskScreen(
                f"Deny an allowlist entry for {project.path}",
                "an entry, e.g. pypi.org",
                lambda entry: None if entry else "Type the entry to remove.",
                note="The running proxy refuses it from its next request on (`devagent deny`).",
            ),
            chosen,
        )

    @work(thread=True, group="operation")
    def change_allowlist(self, project: Project, entry: str, *, allow: bool) -> None:
        """`devagent allow` or `deny` of one entry; the running proxy applies it live."""
        try:
            if allow:
                self.backend.allow(project, [entry])
            else:
                result = self.backend.deny(project, [entry])
        except DevagentError as exc:
            self.call_from_thread(self.show_error, str(exc))
            return
        if allow:
            message = f"Allowed {entry} for {project.path}."
        else:
            message = (
                f"Denied: {', '.join(result.removed) or f'nothing ({entry} was not allowed)'}."
            )
        self.call_from_thread(self.show_message, message)
        self.call_from_thread(self.load_details)

    def action_verify(self) -> None:
        if (project := self.selected_project(running=True)) is not None:
            self.show_message(f"Verifying the isolation of {project.path}...")
            self.verify(project)

    @work(thread=True, group="operation")
    def verify(self, project: Project) -> None:
        try:
            result = self.backend.verify(project)
        except DevagentError as exc:
            self.call_from_thread(self.show_error, str(exc))
            return
        body = Text()
        for check in result.checks:
            mark, style = ("ok  ", "green") if check.ok else ("FAIL", "bold red")
            body.append(mark, style)
            body.append(f" {check.name}\n     {check.detail}\n")
        verdict = "isolated" if result.ok else "NOT isolated: do not use it"
        self.call_from_thread(self.push_screen, ReportScreen(f"{project.path}: {verdict}", body))
        self.call_from_thread(self.show_message, f"Verified {project.path}: {verdict}.")

    def action_blocked_only(self) -> None:
        """Show only blocked requests (or everything again): the log is read anew."""
        self.request_log.toggle_blocked_only()
        self.select(self.selected)
