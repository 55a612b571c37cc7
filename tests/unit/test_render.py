from __future__ import annotations

import io

from rich.console import Console

from devagent.render import render_log_record, render_logs

HOSTILE = {
    "time": "2026-12-02T05:00:00Z",
    "decision": "blocked",
    "reason": "not in allowlist",
    "method": "GET",
    "host": "evil.test",
    "port": 80,
    "path": "/\x1b[31mred[bold red]x[/]\nline\x07",
    "status": 403,
}


def _terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=200, color_system="standard"), out


def test_request_text_is_shown_inert_in_the_table_and_when_following() -> None:
    for render in (
        lambda console: render_logs(console, [HOSTILE], [("evil.test", 1)], "allow {host}"),
        lambda console: render_log_record(console, HOSTILE),
    ):
        console, out = _terminal()
        render(console)
        text = out.getvalue()
        assert "\x1b[31mred" not in text and "\x07" not in text  # never the request's bytes
        assert "\\x1b[31mred" in text and "[bold red]x[/]" in text  # shown as the text it is
        assert "\\x0aline" in text
