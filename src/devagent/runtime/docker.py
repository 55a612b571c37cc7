"""Docker: how its CLI prints containers, facts and networks, and its compose tools."""

from __future__ import annotations

import datetime
import ipaddress
import json
import re
from collections.abc import Mapping
from typing import Any

from devagent.runtime.compose import DOCKER_COMPOSE_V1, DOCKER_COMPOSE_V2
from devagent.runtime.models import ContainerInfo, EngineFacts, EngineKind, IPNetwork

# Docker's `ps` prints labels as one "k=v,k=v" string. Split only at commas that start a
# new label key, so values holding commas (paths can) survive unless they also hold "=".
_LABEL_SPLIT = re.compile(r",(?=[A-Za-z0-9][A-Za-z0-9._/-]*=)")


def version_argv(binary: str) -> list[str]:
    """Prints the version only when the daemon really answers."""
    return [binary, "version", "--format", "{{.Server.Version}}"]


def parse_ps(stdout: str) -> list[ContainerInfo]:
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
                created=_parse_time(row.get("CreatedAt", "")),
                labels=parse_label_string(row.get("Labels", "")),
            )
        )
    return containers


def parse_label_string(text: str) -> dict[str, str]:
    labels = {}
    for part in _LABEL_SPLIT.split(text) if text else []:
        key, _, value = part.partition("=")
        labels[key] = value
    return labels


def _parse_time(text: str) -> datetime.datetime | None:
    # e.g. "2026-11-28 02:40:11 +0000 UTC"
    try:
        return datetime.datetime.strptime(" ".join(text.split()[:3]), "%Y-%m-%d %H:%M:%S %z")
    except ValueError:
        return None


def parse_info(stdout: str) -> EngineFacts:
    info: dict[str, Any] = json.loads(stdout)
    options = info.get("SecurityOptions") or []
    return EngineFacts(
        rootless=any("rootless" in str(option) for option in options),
        cgroup_version=str(info.get("CgroupVersion", "")),
    )


def parse_network_subnets(stdout: str) -> dict[str, list[IPNetwork]]:
    """Subnets per network name, from `network inspect` (IPAM's shape)."""
    found: dict[str, list[IPNetwork]] = {}
    for network in json.loads(stdout or "[]") or []:
        raw = [entry.get("Subnet", "") for entry in network.get("IPAM", {}).get("Config") or []]
        found[network.get("Name", "")] = [
            ipaddress.ip_network(text, strict=False) for text in raw if text
        ]
    return found


def bridge_of(network: Mapping[str, object]) -> str | None:
    options = network.get("Options")
    name = options.get("com.docker.network.bridge.name") if isinstance(options, dict) else None
    return str(name) if name else None


DOCKER = EngineKind(
    name="docker",
    json_format="{{json .}}",
    version_argv=version_argv,
    parse_ps=parse_ps,
    parse_info=parse_info,
    parse_network_subnets=parse_network_subnets,
    bridge_of=bridge_of,
    compose_tools=(DOCKER_COMPOSE_V2, DOCKER_COMPOSE_V1),
    maps_user_ids=False,
    isolates_networks=False,
    shares_host_firewall=False,
)
