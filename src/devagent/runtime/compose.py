"""Compose commands on a project's files, for each compose variant devagent supports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ComposeVariant = Literal["docker compose", "docker-compose", "podman-compose", "podman compose"]


@dataclass(frozen=True)
class Compose:
    """One compose implementation: the words that start it, and what it is called."""

    variant: ComposeVariant
    command: tuple[str, ...]

    @property
    def cli_path(self) -> str:
        """What the devcontainer CLI's --docker-compose-path wants (it tries `<engine>
        compose` itself first and falls back to this binary)."""
        return self.command[0]

    def _base(self, project_name: str, compose_file: Path) -> list[str]:
        return [*self.command, "--project-name", project_name, "--file", str(compose_file)]

    def start_argv(self, project_name: str, compose_file: Path) -> list[str]:
        return [*self._base(project_name, compose_file), "start"]

    def stop_argv(self, project_name: str, compose_file: Path) -> list[str]:
        return [*self._base(project_name, compose_file), "stop"]

    def down_argv(self, project_name: str, compose_file: Path) -> list[str]:
        return [*self._base(project_name, compose_file), "down", "--remove-orphans"]

    def version_argv(self) -> list[str]:
        if self.variant == "podman-compose":
            return [*self.command, "version"]
        return [*self.command, "version", "--short"]


DOCKER_COMPOSE_V2 = Compose("docker compose", ("docker", "compose"))
DOCKER_COMPOSE_V1 = Compose("docker-compose", ("docker-compose",))
PODMAN_COMPOSE = Compose("podman-compose", ("podman-compose",))
PODMAN_COMPOSE_BUILTIN = Compose("podman compose", ("podman", "compose"))
