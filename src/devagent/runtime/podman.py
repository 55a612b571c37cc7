"""Podman: how its CLI prints containers, facts and networks, and its compose tools."""

from __future__ import annotations

import datetime
import ipaddress
import json
from collections.abc import Mapping
from typing import Any

from devagent.runtime.compose import PODMAN_COMPOSE, PODMAN_COMPOSE_BUILTIN
from devagent.runtime.models import ContainerInfo, EngineFacts, EngineKind, IPNetwork


def version_argv(binary: str) -> list[str]:
    return [binary, "info", "--format", "{{.Version.Version}}"]


def parse_ps(stdout: str) -> list[ContainerInfo]:
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


def parse_info(stdout: str) -> EngineFacts:
    host = json.loads(stdout).get("host", {})
    return EngineFacts(
        rootless=bool(host.get("security", {}).get("rootless")),
        cgroup_version=str(host.get("cgroupVersion", "")).removeprefix("v"),
    )


def parse_network_subnets(stdout: str) -> dict[str, list[IPNetwork]]:
    """Subnets per network name, from `network inspect` (netavark's shape)."""
    found: dict[str, list[IPNetwork]] = {}
    for network in json.loads(stdout or "[]") or []:
        raw = [entry.get("subnet", "") for entry in network.get("subnets") or []]
        found[network.get("name", "")] = [
            ipaddress.ip_network(text, strict=False) for text in raw if text
        ]
    return found


def bridge_of(network: Mapping[str, object]) -> str | None:
    name = network.get("network_interface")
    return str(name) if name else None


PODMAN = EngineKind(
    name="podman",
    json_format="json",
    version_argv=version_argv,
    parse_ps=parse_ps,
    parse_info=parse_info,
    parse_network_subnets=parse_network_subnets,
    bridge_of=bridge_of,
    compose_tools=(PODMAN_COMPOSE, PODMAN_COMPOSE_BUILTIN),
    maps_user_ids=True,
    isolates_networks=True,
    shares_host_firewall=True,
)
