"""The one interface to the outside: engine, compose and devcontainer CLI behind one object."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from devagent.errors import CommandFailed, EngineError
from devagent.project import LABEL_MANAGED, Project
from devagent.runtime import devcontainer_cli, firewall, removal
from devagent.runtime.compose import Compose
from devagent.runtime.devcontainer_cli import UpOutcome
from devagent.runtime.engine import (
    ENGINES,
    ContainerInfo,
    Engine,
    EngineFacts,
    IPNetwork,
)
from devagent.runtime.executor import CommandResult, Executor, LineCallback, SubprocessExecutor
from devagent.runtime.versions import answers
from devagent.safefs import replace_file

RuntimeChoice = Literal["auto", "docker", "podman"]

__all__ = [
    "CommandResult",
    "ContainerInfo",
    "Engine",
    "Executor",
    "Runtime",
    "SubprocessExecutor",
    "detect",
]


ENDED = frozenset({"exited", "stopped", "dead"})  # states a container does not leave alone


@dataclass(frozen=True)
class EngineChoice:
    engine: Engine
    reason: str


def choose_engine(choice: RuntimeChoice, executor: Executor) -> EngineChoice:
    """Pick the engine: the one asked for (which must answer), or the first that answers."""
    names = tuple(ENGINES) if choice == "auto" else (choice,)
    for name in names:
        engine = Engine(name, name)  # type: ignore[arg-type]
        result = answers(executor, engine.version_argv(), timeout=20)
        if result is not None:
            how = "chosen in config or --runtime" if choice != "auto" else "first engine answering"
            return EngineChoice(engine, f"{name} {result.stdout.strip()} ({how})")
    if choice == "auto":
        raise EngineError(
            f"no container engine is answering (tried {', then '.join(names)})",
            hint="install and start Docker or Podman; `devagent doctor` shows what is missing",
        )
    raise EngineError(
        f"{choice} is not installed or not answering",
        hint=f"check `{choice} info`; or choose another engine with --runtime",
    )


class Runtime:
    """Engine + compose + devcontainer CLI, all run through one injected executor."""

    def __init__(
        self,
        engine: Engine,
        executor: Executor,
        *,
        reason: str = "",
        compose: Compose | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.engine = engine
        self.executor = executor
        self.reason = reason
        # Where the compose tool found is remembered (None: ask every time).
        self.compose_cache = cache_dir / f"compose-{engine.name}.json" if cache_dir else None
        if compose is not None:
            self.__dict__["compose"] = compose

    @functools.cached_property
    def compose(self) -> Compose:
        """The first compose tool that answers; a standalone one that answered before and
        has not changed since is taken without asking again (docker-compose v1 needs 0.4 s
        to print its version, on every start and stop)."""
        tools = self.engine.kind.compose_tools
        for candidate in tools:
            if self._answered_before(candidate):
                return candidate
            if answers(self.executor, candidate.version_argv()) is not None:
                self._remember(candidate)
                return candidate
        tried = ", ".join(c.variant for c in tools)
        raise EngineError(
            f"no compose tool found for {self.engine.name} (tried {tried})",
            hint="install docker-compose (Docker) or podman-compose (Podman)",
        )

    def _binary_stamp(self, candidate: Compose) -> str | None:
        """Path and modification time of a standalone compose binary (None for plugins)."""
        if self.compose_cache is None or len(candidate.command) != 1:
            return None
        found = shutil.which(candidate.command[0])
        if found is None:
            return None
        try:
            return f"{found}@{Path(found).stat().st_mtime_ns}"
        except OSError:
            return None

    def _answered_before(self, candidate: Compose) -> bool:
        stamp = self._binary_stamp(candidate)
        if stamp is None or self.compose_cache is None:
            return False
        try:
            known = json.loads(self.compose_cache.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return isinstance(known, dict) and known.get(candidate.variant) == stamp

    def _remember(self, candidate: Compose) -> None:
        stamp = self._binary_stamp(candidate)
        if stamp is None or self.compose_cache is None:
            return
        with contextlib.suppress(OSError):
            replace_file(
                self.compose_cache, (json.dumps({candidate.variant: stamp}) + "\n").encode()
            )

    # --- engine -----------------------------------------------------------------------
    def ps(self, labels: Mapping[str, str | None]) -> list[ContainerInfo]:
        result = self.executor.run(self.engine.ps_argv(labels))
        return self.engine.parse_ps(result.stdout)

    def managed_containers(self) -> list[ContainerInfo]:
        return self.ps({LABEL_MANAGED: "true"})

    @functools.cached_property
    def facts(self) -> EngineFacts:
        return self.engine.parse_info(self.executor.run(self.engine.info_argv()).stdout)

    def network_subnets(self) -> dict[str, list[IPNetwork]]:
        names = self.executor.run([self.engine.binary, "network", "ls", "--quiet"]).stdout.split()
        if not names:
            return {}
        result = self.executor.run(self.engine.network_inspect_argv(names))
        return self.engine.parse_network_subnets(result.stdout)

    def bridge_blocked(self, network: str) -> str | None:
        """The bridge of ``network`` if Docker's FORWARD DROP cuts traffic inside it."""
        state = firewall.parse_forward(
            self.executor.run(firewall.forward_rules_argv(), check=False).stdout
        )
        if not state.docker_blocks_bridges:
            return None
        inspected = self.executor.run(self.engine.network_inspect_argv([network]), check=False)
        try:
            bridge = self.engine.kind.bridge_of(json.loads(inspected.stdout)[0])
        except (ValueError, LookupError, TypeError, AttributeError):
            return None
        if bridge is None:
            return None
        rules = self.executor.run(firewall.docker_user_rules_argv(), check=False).stdout
        return None if firewall.bridge_allowed(rules, bridge) else bridge

    def inspect(self, names: Sequence[str]) -> list[dict[str, Any]]:
        result = self.executor.run(self.engine.inspect_argv(names))
        data: list[dict[str, Any]] = json.loads(result.stdout or "[]")
        return data

    def exit_code(self, container: str) -> int | None:
        """The container's exit code once it has ended; None while it has not (or is not
        there at all)."""
        result = self.executor.run(self.engine.ended_argv(container), check=False, timeout=30)
        state, _, code = result.stdout.strip().partition(" ")
        if result.returncode != 0 or state not in ENDED or not code.lstrip("-").isdigit():
            return None
        return int(code)

    def last_output(self, container: str, *, lines: int = 20) -> str:
        """The container's last lines of output (both streams), or "" if it is gone."""
        result = self.executor.run(self.engine.logs_argv(container, tail=lines), check=False,
                                   timeout=30)  # fmt: skip
        return (result.stdout + result.stderr).strip() if result.returncode == 0 else ""

    def run_step(self, container: str, *, timeout: float = 120) -> CommandResult:
        """Run a one-shot container again and wait for it to finish."""
        return self.executor.run(
            self.engine.start_attached_argv(container), check=False, timeout=timeout
        )

    def exec(
        self, container: str, command: Sequence[str], *, user: str | None = None,
        workdir: str | None = None, timeout: float | None = 120,
    ) -> CommandResult:  # fmt: skip
        argv = self.engine.exec_argv(container, command, user=user, workdir=workdir)
        return self.executor.run(argv, check=False, timeout=timeout)

    # --- compose ----------------------------------------------------------------------
    def _compose(self, argv: list[str], project: Project) -> CommandResult:
        env = {"COMPOSE_PROJECT_NAME": project.compose_project}
        return self.executor.run(argv, cwd=project.devcontainer_dir, env=env, timeout=600)

    def compose_start(self, project: Project) -> None:
        self._compose(
            self.compose.start_argv(project.compose_project, project.compose_file), project
        )

    def compose_stop(self, project: Project) -> None:
        self._compose(
            self.compose.stop_argv(project.compose_project, project.compose_file), project
        )

    def compose_down(self, project: Project) -> None:
        self._compose(
            self.compose.down_argv(project.compose_project, project.compose_file), project
        )

    def remove_leftovers(self, project: Project) -> None:
        """Remove the project's containers and networks by label (see ``removal``)."""
        removal.remove_containers_and_networks(self.engine, self.executor, project)

    def remove_images(self, references: Sequence[str]) -> tuple[str, ...]:
        return removal.remove_images(self.engine, self.executor, references)

    # --- devcontainer CLI -------------------------------------------------------------
    def devcontainer_up(
        self, project: Project, *, on_line: LineCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> UpOutcome:  # fmt: skip
        argv = devcontainer_cli.up_argv(
            workspace=project.path,
            config=project.devcontainer_dir / "devcontainer.json",
            docker_path=self.engine.binary,
            compose_path=self.compose.cli_path,
        )
        env = {"COMPOSE_PROJECT_NAME": project.compose_project}
        result = self.executor.run(
            argv, check=False, cwd=project.devcontainer_dir, env=env, on_line=on_line,
            timeout=3600, cancel=cancel,
        )  # fmt: skip
        try:
            return devcontainer_cli.parse_up(result.stdout)
        except EngineError:
            if result.returncode != 0:
                raise CommandFailed(
                    tuple(argv), result.returncode, result.stdout, result.stderr
                ) from None
            raise


def detect(
    choice: RuntimeChoice, executor: Executor | None = None, *, cache_dir: Path | None = None
) -> Runtime:
    """The runtime for a config/CLI choice; DEVAGENT_RUNTIME overrides 'auto' (tests use it).

    ``cache_dir`` is where the compose tool found is remembered."""
    executor = executor or SubprocessExecutor()
    env_choice = os.environ.get("DEVAGENT_RUNTIME", "")
    if choice == "auto" and env_choice in ENGINES:
        choice = env_choice  # type: ignore[assignment]
    picked = choose_engine(choice, executor)
    return Runtime(picked.engine, executor, reason=picked.reason, cache_dir=cache_dir)
