"""The one place devagent starts processes: argv in, CommandResult out, failures explained."""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from devagent.errors import CommandFailed, EngineError

log = logging.getLogger("devagent.commands")

LineCallback = Callable[[str], None]


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


class Executor(Protocol):
    """Runs one external command. Injected everywhere, so tests can record and replay."""

    def run(
        self,
        argv: Sequence[str],
        *,
        check: bool = True,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        on_line: LineCallback | None = None,
        timeout: float | None = None,
        cancel: threading.Event | None = None,
    ) -> CommandResult: ...

    def interactive(self, argv: Sequence[str]) -> int:
        """Run with the terminal attached (shells, exec); return the exit code."""
        ...


_KNOWN_FAILURES: tuple[tuple[str, str], ...] = (
    (
        "Cannot connect to the Docker daemon",
        "the Docker daemon is not running: start it (e.g. `sudo systemctl start docker`, "
        "or `dockerd &` where there is no systemd)",
    ),
    (
        "permission denied while trying to connect to the Docker daemon socket",
        "your user may not use the Docker socket: add it to the `docker` group "
        "(`sudo usermod -aG docker $USER`, then log in again)",
    ),
    (
        "Cannot connect to Podman",
        "the Podman service is not reachable: check `podman info` and XDG_RUNTIME_DIR",
    ),
)


def explain(argv: Sequence[str], stderr: str) -> str:
    """A fix for failures whose cause is known from their message, else ''."""
    for needle, hint in _KNOWN_FAILURES:
        if needle in stderr:
            return hint
    return ""


def _drain(stream: IO[str], sink: list[str], on_line: LineCallback | None) -> None:
    for line in stream:
        sink.append(line)
        if on_line is not None:
            on_line(line.rstrip("\n"))


def _stop(process: subprocess.Popen[str], grace: float = 10.0) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc; none where there is no /proc)."""
    children: dict[int, list[int]] = {}
    try:
        entries = [entry for entry in Path("/proc").iterdir() if entry.name.isdigit()]
    except OSError:
        return []
    for entry in entries:
        try:
            fields = (entry / "stat").read_text(errors="replace").rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        below = children.get(queue.pop(), [])
        found += below
        queue += below
    return found


def _cancel_when(cancel: threading.Event, process: subprocess.Popen[str]) -> None:
    """Stop the command's whole tree once ``cancel`` is set (its tools would not stop their
    children: podman-compose outlives the devcontainer CLI)."""
    while not cancel.wait(0.5):
        if process.poll() is not None:
            return
    tree = _descendants(process.pid)
    for pid in tree:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    _stop(process)
    for pid in tree:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


class SubprocessExecutor:
    """Runs commands for real, logging each command line before it starts."""

    def run(
        self,
        argv: Sequence[str],
        *,
        check: bool = True,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        on_line: LineCallback | None = None,
        timeout: float | None = None,
        cancel: threading.Event | None = None,
    ) -> CommandResult:
        """``cancel``, once set, stops the command and every process it started."""
        argv = tuple(argv)
        log.info("run: %s", shlex.join(argv))
        full_env = {**os.environ, **env} if env else None
        try:
            process = subprocess.Popen(
                argv,
                cwd=cwd,
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                errors="replace",
            )
        except FileNotFoundError as exc:
            raise EngineError(
                f"{argv[0]} is not installed or not on PATH",
                hint=f"install {argv[0]} (see `devagent doctor` and the README's requirements)",
            ) from exc
        except PermissionError as exc:
            raise EngineError(f"{argv[0]} cannot be executed: {exc.strerror}") from exc
        out: list[str] = []
        err: list[str] = []
        assert process.stdout is not None and process.stderr is not None
        reader = threading.Thread(target=_drain, args=(process.stderr, err, on_line), daemon=True)
        reader.start()
        if cancel is not None:
            threading.Thread(target=_cancel_when, args=(cancel, process), daemon=True).start()
        try:
            _drain(process.stdout, out, None)
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            process.kill()
            raise EngineError(f"timed out after {timeout}s: {shlex.join(argv)}") from exc
        except BaseException:
            # Interrupted (Ctrl-C, the terminal closed): the command stops with devagent,
            # so that nothing keeps changing the engine behind the next command's back.
            _stop(process)
            raise
        finally:
            reader.join(timeout=5)
        result = CommandResult(argv, returncode, "".join(out), "".join(err))
        log.debug("exit %d: %s", returncode, shlex.join(argv))
        if check and returncode != 0:
            raise CommandFailed(
                argv, returncode, result.stdout, result.stderr, hint=explain(argv, result.stderr)
            )
        return result

    def interactive(self, argv: Sequence[str]) -> int:
        log.info("interactive: %s", shlex.join(argv))
        try:
            return subprocess.call(list(argv))
        except FileNotFoundError as exc:
            raise EngineError(f"{argv[0]} is not installed or not on PATH") from exc
