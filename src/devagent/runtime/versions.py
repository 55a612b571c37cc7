"""The one probe of the tools devagent drives: does it answer, and with which version."""

from __future__ import annotations

from collections.abc import Sequence

from devagent.errors import EngineError
from devagent.runtime.devcontainer_cli import version_argv as devcontainer_version_argv
from devagent.runtime.engine import ENGINES, Engine
from devagent.runtime.executor import CommandResult, Executor


def ran(executor: Executor, argv: Sequence[str], *, timeout: float = 30) -> CommandResult | None:
    """The result of a command that ran (any exit code), or None if it could not start."""
    try:
        return executor.run(argv, check=False, timeout=timeout)
    except EngineError:
        return None


def answers(
    executor: Executor, argv: Sequence[str], *, timeout: float = 30
) -> CommandResult | None:
    """The result of a version command that succeeded, else None."""
    result = ran(executor, argv, timeout=timeout)
    return result if result is not None and result.returncode == 0 else None


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def compose_version(executor: Executor, engine: Engine) -> str | None:
    """``"<variant> <version>"`` of the first compose tool that answers for ``engine``."""
    for candidate in engine.kind.compose_tools:
        result = answers(executor, candidate.version_argv())
        if result is not None:
            words = first_line(result.stdout).split()
            return f"{candidate.variant} {words[-1] if words else '?'}"
    return None


def tool_versions(executor: Executor) -> list[tuple[str, str]]:
    """Each tool devagent drives with its version, or why there is none (for `--version`
    and crash reports)."""
    found: list[tuple[str, str]] = []
    for name in ENGINES:
        engine = Engine(name, name)  # type: ignore[arg-type]
        result = ran(executor, engine.version_argv())
        if result is None:
            found.append((name, "not installed"))
            continue
        if result.returncode != 0:
            found.append((name, "installed, not answering"))
            continue
        found.append((name, result.stdout.strip()))
        compose = compose_version(executor, engine)
        if compose is not None:
            found.append((f"  compose ({name})", compose))
    cli = answers(executor, devcontainer_version_argv())
    found.append(("devcontainer CLI", cli.stdout.strip() if cli else "not found"))
    return found
