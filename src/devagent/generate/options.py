"""Everything the generators need to describe one project's environment, resolved."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from devagent.generate.layout import (
    PROXY_HOST,
    PROXY_PORT,
)

if TYPE_CHECKING:
    from devagent.config import Resources
    from devagent.project import Project
    from devagent.templates import Template


@dataclass(frozen=True)
class EnvironmentOptions:
    """Inputs of ComposeGenerator and DevcontainerGenerator; generation is a pure function."""

    project: Project
    template: Template
    allowlist: tuple[str, ...]
    resources: Resources
    engine: str
    proxy_user: str
    claude_config_dir: Path
    proxy_certs_dir: Path
    proxy_logs_dir: Path
    proxy_ca_cert: bytes
    internal_subnet: ipaddress.IPv4Network
    rootless: bool = False
    proxy_resources: Resources | None = None  # None: the defaults of config.proxy_resources
    # Names under the project's .git mounted read-only into the app (see devagent.manager.gitguard).
    git_metadata: tuple[str, ...] = ()
    extra_ca_certificates: bytes = b""
    # Host names on which pull-request merges are refused (empty: merges are not guarded).
    merge_guarded_hosts: tuple[str, ...] = ()
    # Credential files to mount read-only into the app: (name, host path of devagent's copy).
    secrets: tuple[tuple[str, Path], ...] = ()

    @property
    def remote_user(self) -> str:
        return self.template.manifest.remote_user

    @property
    def remote_home(self) -> str:
        return "/root" if self.remote_user == "root" else f"/home/{self.remote_user}"

    @property
    def proxy_ip(self) -> str:
        """Fixed address of the proxy on the internal network (.1 is the engine's gateway)."""
        return str(self.internal_subnet.network_address + 2)

    @property
    def proxy_limits(self) -> Resources:
        if self.proxy_resources is not None:
            return self.proxy_resources
        from devagent.config import Config

        return Config().proxy_resources

    @property
    def proxy_url(self) -> str:
        return f"http://{PROXY_HOST}:{PROXY_PORT}"
