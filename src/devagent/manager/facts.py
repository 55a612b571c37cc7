"""What is really in force for a container, read back from the engine's `inspect`.

The terminal UI shows these rather than what the compose file asked for: a limit the
engine ignored (rootless Podman without cgroup delegation) shows as missing here.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ContainerFacts:
    name: str
    user: str
    capabilities: tuple[str, ...]  # effective, when the engine says; else what was added
    dropped: tuple[str, ...]
    security_options: tuple[str, ...]
    privileged: bool
    read_only_root: bool
    memory_bytes: int  # 0: unlimited
    cpus: float  # 0: unlimited
    pids_limit: int  # 0 or less: unlimited
    networks: tuple[str, ...]
    started_at: datetime.datetime | None

    @classmethod
    def from_inspect(cls, data: Mapping[str, Any]) -> ContainerFacts:
        host = data.get("HostConfig") or {}
        config = data.get("Config") or {}
        networks = (data.get("NetworkSettings") or {}).get("Networks") or {}
        dropped = tuple(host.get("CapDrop") or ())
        # Podman reports the capabilities the process really has; Docker only the request.
        effective = data.get("EffectiveCaps")
        capabilities = tuple(effective if effective is not None else host.get("CapAdd") or ())
        return cls(
            name=str(data.get("Name", "")).lstrip("/"),
            user=str(config.get("User") or "root"),
            capabilities=capabilities,
            dropped=dropped,
            security_options=tuple(host.get("SecurityOpt") or ()),
            privileged=bool(host.get("Privileged")),
            read_only_root=bool(host.get("ReadonlyRootfs")),
            memory_bytes=int(host.get("Memory") or 0),
            cpus=int(host.get("NanoCpus") or 0) / 1e9,
            pids_limit=int(host.get("PidsLimit") or 0),
            networks=tuple(sorted(networks)),
            started_at=_timestamp((data.get("State") or {}).get("StartedAt")),
        )

    def lines(self) -> list[str]:
        """Short human-readable facts (they fit a narrow pane)."""
        caps = ", ".join(self.capabilities) if self.capabilities else "none"
        dropped = "all" if "ALL" in self.dropped else ", ".join(self.dropped) or "none"
        memory = f"{self.memory_bytes / 2**30:.1f} GiB" if self.memory_bytes else "unlimited"
        pids = str(self.pids_limit) if self.pids_limit > 0 else "unlimited"
        return [
            f"user {self.user}{' PRIVILEGED' if self.privileged else ''}"
            f" · caps {caps} (dropped {dropped})",
            f"{', '.join(self.security_options) or 'default security options'}"
            f" · root fs {'read-only' if self.read_only_root else 'writable'}",
            f"memory {memory} · cpus {self.cpus:g} · pids {pids}",
            f"networks {', '.join(self.networks) or 'none'}",
        ]


def _timestamp(text: object) -> datetime.datetime | None:
    if not isinstance(text, str) or text.startswith("0001-"):
        return None
    # Engines give nanoseconds; Python parses microseconds at most.
    head, dot, rest = text.partition(".")
    if dot:
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits) :]
        text = f"{head}.{digits[:6]}{'+00:00' if zone in ('Z', '') else zone}"
    try:
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        return None


def uptime(started: datetime.datetime | None, now: datetime.datetime | None = None) -> str:
    """'3d 4h', '2h 5m', '7m', '12s' since ``started``; '' when unknown."""
    if started is None:
        return ""
    now = now or datetime.datetime.now(datetime.UTC)
    seconds = max(0, int((now - started).total_seconds()))
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m" if minutes else f"{seconds}s"
