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


# What the app holds instead of each kind of credential: the shape of the real thing, so
# that the tools take it for a credential and send it; the proxy swaps it on its hosts.
PLACEHOLDERS: dict[str, dict[str, str]] = {
    "anthropic-oauth": {
        "CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-oat01-devagent-placeholder-" + "0" * 64 + "-AA"
    },
    "anthropic-key": {"ANTHROPIC_API_KEY": "sk-ant-api03-devagent-placeholder-" + "0" * 64},
    "github": {
        "GH_TOKEN": "ghp_devagentPlaceholder000000000000000",
        "GH_ENTERPRISE_TOKEN": "ghp_devagentPlaceholder000000000000000",
    },
}


@dataclass(frozen=True)
class CredentialBinding:
    """A credential the proxy puts on the wire: its name (its file's), its kind (which
    headers, which placeholder) and the hosts it is added on (allowlist entries)."""

    name: str
    kind: str
    hosts: tuple[str, ...]

    @property
    def family(self) -> str:
        """What the proxy needs to know: anthropic or github."""
        return self.kind.split("-", 1)[0]


@dataclass(frozen=True)
class AgentGit:
    """An agent's environment: its name and branch, and the project's repository, whose
    ``.git`` the app sees at the same absolute path as the host (the worktree's ``.git``
    file names it), ``guarded`` parts read-only, the other agents' metadata hidden."""

    name: str
    branch: str
    project_path: Path
    project_hash: str
    guarded: tuple[str, ...] = ()

    @property
    def git_dir(self) -> Path:
        return self.project_path / ".git"

    @property
    def admin_dir(self) -> Path:
        return self.git_dir / "worktrees" / self.name


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
    # GitHub's hosts, where pushes and API writes are read (empty: GitHub is not guarded).
    github_guarded_hosts: tuple[str, ...] = ()
    # The branches pushes may create or move (patterns of names under refs/heads/).
    push_branches: tuple[str, ...] = ("agent/*",)
    # The credentials the proxy puts on the wire, and the directory of their values (on the
    # host; mounted read-only into the proxy alone).
    credentials: tuple[CredentialBinding, ...] = ()
    secrets_dir: Path | None = None
    agent: AgentGit | None = None  # set when the project is an agent's worktree

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
    def credential_environment(self) -> dict[str, str]:
        """The placeholders the app's processes find in their environment."""
        return {k: v for c in self.credentials for k, v in PLACEHOLDERS[c.kind].items()}

    @property
    def rules_hosts(self) -> tuple[str, ...]:
        """The hosts mitmproxy inspects: credentials' and guarded GitHub's."""
        hosts = [h for c in self.credentials for h in c.hosts]
        return tuple(dict.fromkeys([*hosts, *self.github_guarded_hosts]))

    @property
    def proxy_url(self) -> str:
        return f"http://{PROXY_HOST}:{PROXY_PORT}"
