"""Two-tier error handling at the top of every command."""

from __future__ import annotations

import logging
import logging.handlers
import os
import platform
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from devagent import __version__
from devagent.errors import DevagentError

LOG_MAX_BYTES = 512 * 1024


def _state_dir() -> Path:
    import platformdirs

    return Path(os.environ.get("DEVAGENT_STATE_DIR") or platformdirs.user_state_dir("devagent"))


def setup_logging() -> Path | None:
    """devagent's own log: the commands it ran, kept small by rotation."""
    path = _state_dir() / "devagent.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=LOG_MAX_BYTES, backupCount=1)
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("devagent")
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    return path


def _crash_report(args: Sequence[str]) -> Path:
    path = _state_dir() / f"crash-{time.strftime('%Y%m%d-%H%M%S')}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        f"devagent {__version__}, Python {platform.python_version()}, {platform.platform()}",
        f"argv: {list(args)}",
        *_tool_versions(),
        "",
        traceback.format_exc(),
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _tool_versions() -> list[str]:
    from devagent.runtime.executor import SubprocessExecutor
    from devagent.runtime.versions import tool_versions

    return [f"{name.strip()}: {version}" for name, version in tool_versions(SubprocessExecutor())]


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def stop_like_ctrl_c() -> None:
    """A closed terminal (SIGHUP) or a polite kill (SIGTERM) stops a command the way Ctrl-C
    does: the running tool is stopped and the command says what it left behind."""
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGHUP, signal.SIGTERM):
            signal.signal(signum, _interrupt)


def run_guarded(body: Callable[[], Any], args: Sequence[str]) -> int:
    stop_like_ctrl_c()
    setup_logging()
    log = logging.getLogger("devagent")
    log.info("devagent %s", " ".join(args))
    try:
        result = body()
    except DevagentError as exc:
        log.info("error: %s", exc)
        click.echo(f"error: {exc.message}", err=True)
        if exc.hint:
            click.echo(f"  fix: {exc.hint}", err=True)
        return int(getattr(exc, "exit_code", 1))
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("interrupted", err=True)
        return 130
    except Exception as exc:
        report = _crash_report(args)
        log.exception("unexpected error")
        click.echo(f"devagent hit an unexpected error: {type(exc).__name__}: {exc}", err=True)
        click.echo(f"  details for a bug report: {report}", err=True)
        return 3
    if isinstance(result, int):
        return result
    sys.stdout.flush()
    return 0
