"""What the runtime reports, the same shape for every engine; and what an engine is."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from devagent.project import LABEL_PROJECT_HASH, LABEL_SIDECAR_OF

if TYPE_CHECKING:
    from devagent.runtime.compose import Compose

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

    @property
    def project_hash(self) -> str:
        """The project it belongs to: a sidecar's by its label, the app's by its own."""
        return self.labels.get(LABEL_SIDECAR_OF) or self.labels.get(LABEL_PROJECT_HASH, "")


@dataclass(frozen=True)
class EngineKind:
    """Everything in which one engine differs from another: one instance per engine module
    (``runtime/docker.py``, ``runtime/podman.py``), found through ``engine.ENGINES``."""

    name: str
    # `--format` of `ps` and `info` that prints JSON.
    json_format: str
    version_argv: Callable[[str], list[str]]
    parse_ps: Callable[[str], list[ContainerInfo]]
    parse_info: Callable[[str], EngineFacts]
    parse_network_subnets: Callable[[str], dict[str, list[IPNetwork]]]
    # The Linux bridge of a network, from its `network inspect` entry (None: not shown).
    bridge_of: Callable[[Mapping[str, object]], str | None]
    compose_tools: tuple[Compose, ...]
    # Rootless, it maps the host user onto the container user (keep-id): the app's user
    # owns the workspace files, and the devcontainer CLI must not change its uid.
    maps_user_ids: bool
    # Its networks can be isolated from every other network (netavark's `isolate`).
    isolates_networks: bool
    # Rootful, its bridges pass through the host's iptables, where Docker's FORWARD DROP
    # cuts traffic inside them.
    shares_host_firewall: bool
