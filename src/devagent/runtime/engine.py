"""The container engine (docker or podman): argv builders and parsers for its JSON."""

from __future__ import annotations

import datetime
import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

EngineName = Literal["docker", "podman"]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class EngineFacts:
    """What the engine can enforce, from its `info`."""

    rootless: bool
    cgroup_version: str

    @property
    def enforces_limits(self) -> bool:
        # Rootless engines delegate limits through cgroups v2 only.
        return not (self.rootless and self.cgroup_version == "1")


# Docker's `ps` prints labels as one "k=v,k=v" string. Split only at commas that start a
# new label key, so values holding commas (paths can) survive unless they also hold "=".
_LABEL_SPLIT = re.compile(r",(?=[A-Za-z0-9][A-Za-z0-9._/-]*=)")


@dataclass(frozen=True)
class ContainerInfo:
    """One container as `ps` reports it, the same shape for docker and podman."""

    id: str
    name: str
    image: str
    state: str
    status: str
    created: datetime.datetime | None
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.state == "running"


@dataclass(frozen=True)
class Engine:
    name: EngineName
    binary: str

    def ps_argv(self, label_filters: Mapping[str, str | None]) -> list[str]:
        argv = [self.binary, "ps", "--all", "--no-trunc"]
        for key, value in sorted(label_filters.items()):
            argv += ["--filter", f"label={key}" if value is None else f"label={key}={value}"]
        argv += ["--format", "json" if self.name == "podman" else "{{json .}}"]
        return argv

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
        if self.name == "podman":
            return [self.binary, "info", "--format", "{{.Version.Version}}"]
        return [self.binary, "version", "--format", "{{.Server.Version}}"]

    def info_argv(self) -> list[str]:
        return [self.binary, "info", "--format", "json" if self.name == "podman" else "{{json .}}"]

    def parse_info(self, stdout: str) -> EngineFacts:
        info: dict[str, Any] = json.loads(stdout)
        if self.name == "podman":
            host = info.get("host", {})
            return EngineFacts(
                rootless=bool(host.get("security", {}).get("rootless")),
                cgroup_version=str(host.get("cgroupVersion", "")).removeprefix("v"),
            )
        options = info.get("SecurityOptions") or []
        return EngineFacts(
            rootless=any("rootless" in str(option) for option in options),
            cgroup_version=str(info.get("CgroupVersion", "")),
        )

    def network_inspect_argv(self, names: Sequence[str]) -> list[str]:
        return [self.binary, "network", "inspect", *names]

    def parse_network_subnets(self, stdout: str) -> dict[str, list[IPNetwork]]:
        """Subnets per network name, from `network inspect` (docker IPAM or netavark shape)."""
        found: dict[str, list[IPNetwork]] = {}
        for network in json.loads(stdout or "[]") or []:
            name = network.get("Name") or network.get("name") or ""
            if self.name == "podman":
                raw = [entry.get("subnet", "") for entry in network.get("subnets") or []]
            else:
                raw = [
                    entry.get("Subnet", "") for entry in network.get("IPAM", {}).get("Config") or []
                ]
            found[name] = [ipaddress.ip_network(text, strict=False) for text in raw if text]
        return found

    def network_ls_argv(self, label_filters: Mapping[str, str]) -> list[str]:
        argv = [self.binary, "network", "ls", "--quiet"]
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

    def rm_argv(self, names: Sequence[str]) -> list[str]:
        return [self.binary, "rm", "--force", *names]

    def parse_ps(self, stdout: str) -> list[ContainerInfo]:
        return parse_podman_ps(stdout) if self.name == "podman" else parse_docker_ps(stdout)


def parse_docker_ps(stdout: str) -> list[ContainerInfo]:
    """Docker prints one JSON object per line, names and labels as strings."""
    containers = []
    for line in stdout.splitlines():
        if not line.strip():
            continue
        row: dict[str, Any] = json.loads(line)
        containers.append(
            ContainerInfo(
                id=row["ID"],
                name=row["Names"].split(",")[0],
                image=row.get("Image", ""),
                state=row.get("State", ""),
                status=row.get("Status", ""),
                created=_parse_docker_time(row.get("CreatedAt", "")),
                labels=parse_label_string(row.get("Labels", "")),
            )
        )
    return containers


def parse_podman_ps(stdout: str) -> list[ContainerInfo]:
    """Podman prints one JSON array, names as a list, labels as a map, times as unix."""
    rows: list[dict[str, Any]] = json.loads(stdout or "[]") or []
    return [
        ContainerInfo(
            id=row["Id"],
            name=(row.get("Names") or [""])[0],
            image=row.get("Image", ""),
            state=row.get("State", ""),
            status=row.get("Status", ""),
            created=(
                datetime.datetime.fromtimestamp(row["Created"], datetime.UTC)
                if isinstance(row.get("Created"), int)
                else None
            ),
            labels=dict(row.get("Labels") or {}),
        )
        for row in rows
    ]


def parse_label_string(text: str) -> dict[str, str]:
    labels = {}
    for part in _LABEL_SPLIT.split(text) if text else []:
        key, _, value = part.partition("=")
        labels[key] = value
    return labels


def _parse_docker_time(text: str) -> datetime.datetime | None:
    # e.g. "2026-11-28 02:40:11 +0000 UTC"
    try:
        return datetime.datetime.strptime(" ".join(text.split()[:3]), "%Y-%m-%d %H:%M:%S %z")
    except ValueError:
        return None
