"""devagent's own errors: each says what failed and what to do about it."""

from __future__ import annotations


class DevagentError(Exception):
    """An expected failure, reported to the user as one clear line plus a hint."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(DevagentError):
    """A config or template file is missing, unreadable or invalid."""


class ProjectError(DevagentError):
    """A project path or its generated files are not in a usable state."""


class EngineError(DevagentError):
    """The container engine, compose or the devcontainer CLI failed or is missing."""


class CommandFailed(EngineError):
    """An external command exited non-zero; carries everything needed to explain it."""

    def __init__(
        self, argv: tuple[str, ...], returncode: int, stdout: str, stderr: str, *, hint: str = ""
    ) -> None:
        import shlex

        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        tail = (stderr.strip() or stdout.strip()).splitlines()[-15:]
        detail = "\n  ".join(tail)
        message = f"command failed with exit code {returncode}: {shlex.join(argv)}"
        if detail:
            message += f"\n  {detail}"
        super().__init__(message, hint=hint)


class Interrupted(DevagentError):
    """A command stopped by Ctrl-C or a closed terminal, with what it left behind."""

    exit_code = 130


class IsolationError(DevagentError):
    """The environment's isolation self-test found a way out."""
