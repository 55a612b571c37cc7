"""The container engine: argv builders for what every engine's CLI shares, and the registry
of engines (``ENGINES``) that supplies what differs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from devagent.runtime.docker import DOCKER
from devagent.runtime.models import ContainerInfo, EngineFacts, EngineKind, IPNetwork
from devagent.runtime.podman import PODMAN

EngineName = Literal["docker", "podman"]

# Every engine devagent drives, in the order `auto` tries them.
ENGINES: dict[str, EngineKind] = {kind.name: kind for kind in (DOCKER, PODMAN)}

__all__ = ["ENGINES", "ContainerInfo", "Engine", "EngineFacts", "EngineName", "IPNetwork"]


@dataclass(frozen=True)
class Engine:
    name: EngineName
    binary: str

    @property
    def kind(self) -> EngineKind:
        return ENGINES[self.name]

    def ps_argv(self, label_filters: Mapping[str, str | None]) -> list[str]:
        argv = [self.binary, "ps", "--all", "--no-trunc"]
        for key, value in sorted(label_filters.items()):
            argv += ["--filter", f"label={key}" if value is None else f"label={key}={value}"]
        return [*argv, "--format", self.kind.json_format]

    def parse_ps(self, stdout: str) -> list[ContainerInfo]:
        return self.kind.parse_ps(stdout)

    def inspect_argv(self, names: Sequence[str]) -> list[str]:
        return [self.binary, "inspect", *names]

    def exec_argv(
        self,
        container: str,
        command: Sequence[str],
        *,
        user: str | None = None,
        workdir: str | None = None,
        interactive: bool = False,
        tty: bool = False,
        env: Mapping[str, str] | None = None,
    ) -> list[str]:
        argv = [self.binary, "exec"]
        if interactive:
            argv.append("--interactive")
        if tty:
            argv.append("--tty")
        if user:
            argv += ["--user", user]
        if workdir:
            argv += ["--workdir", workdir]
        for key, value in sorted((env or {}).items()):
            argv += ["--env", f"{key}={value}"]
        return [*argv, container, *command]

    def version_argv(self) -> list[str]:
        """Prints the version only when the engine really answers (docker: its daemon)."""
        return self.kind.version_argv(self.binary)

    def info_argv(self) -> list[str]:
        return [self.binary, "info", "--format", self.kind.json_format]

    def parse_info(self, stdout: str) -> EngineFacts:
        return self.kind.parse_info(stdout)

    def network_inspect_argv(self, names: Sequence[str]) -> list[str]:
        return [self.binary, "network", "inspect", *names]

    def parse_network_subnets(self, stdout: str) -> dict[str, list[IPNetwork]]:
        return self.kind.parse_network_subnets(stdout)

    def network_ls_argv(self, label_filters: Mapping[str, str]) -> list[str]:
        """IDs of the networks with these labels."""
        return self._network_ls(label_filters, "--quiet")

    def network_names_argv(self, label_filters: Mapping[str, str]) -> list[str]:
        """Names of the networks with these labels."""
        return self._network_ls(label_filters, "--format", "{{.Name}}")

    def _network_ls(self, label_filters: Mapping[str, str], *output: str) -> list[str]:
        argv = [self.binary, "network", "ls", *output]
        for key, value in sorted(label_filters.items()):
            argv += ["--filter", f"label={key}={value}"]
        return argv

    def network_rm_argv(self, names: Sequence[str]) -> list[str]:
        return [self.binary, "network", "rm", *names]

    def start_attached_argv(self, container: str) -> list[str]:
        """Start a stopped container and wait for it, exiting with its exit code."""
        return [self.binary, "start", "--attach", container]

    def rmi_argv(self, images: Sequence[str]) -> list[str]:
        return [self.binary, "rmi", *images]

    def images_argv(self, references: Sequence[str]) -> list[str]:
        """Names of the images that exist among ``references`` (repeated filters: any of)."""
        argv = [self.binary, "images", "--format", "{{.Repository}}:{{.Tag}}"]
        for reference in references:
            argv += ["--filter", f"reference={reference}"]
        return argv

    def ended_argv(self, container: str) -> list[str]:
        """The container's state and exit code, as "<state> <code>"."""
        return [self.binary, "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}",
                container]  # fmt: skip

    def logs_argv(self, container: str, *, tail: int) -> list[str]:
        return [self.binary, "logs", "--tail", str(tail), container]

    def rm_argv(self, names: Sequence[str]) -> list[str]:
        return [self.binary, "rm", "--force", *names]
