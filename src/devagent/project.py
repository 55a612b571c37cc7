"""Project identity: the absolute path, its 12-character hash and every name derived from it."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from devagent.errors import ProjectError

LABEL_MANAGED = "devagent.managed"
LABEL_PROJECT_PATH = "devagent.project_path"
LABEL_PROJECT_HASH = "devagent.project_hash"
LABEL_TEMPLATE = "devagent.template"
LABEL_SIDECAR_OF = "devagent.sidecar_of"
LABEL_SIDECAR_TYPE = "devagent.sidecar_type"
# An agent's environment: its name, branch, and the project (hash and folder) it works on.
LABEL_AGENT = "devagent.agent"
LABEL_AGENT_BRANCH = "devagent.agent_branch"
LABEL_AGENT_OF = "devagent.agent_of"
LABEL_AGENT_PROJECT = "devagent.agent_project"

DEVCONTAINER_DIR = ".devcontainer"
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Project:
    """A project directory and the names of everything devagent makes for it."""

    path: Path
    hash: str

    @property
    def name(self) -> str:
        """The workspace folder name inside the container (a safe form of the directory name)."""
        return _NAME_UNSAFE.sub("-", self.path.name).strip("-.") or "workspace"

    @property
    def compose_project(self) -> str:
        # Letters and digits only: the devcontainer CLI strips anything else when it cannot
        # read the compose tool's version (it does so for podman-compose).
        return f"devagent{self.hash}"

    @property
    def app_container(self) -> str:
        return f"devagent-{self.hash}-app"

    @property
    def proxy_container(self) -> str:
        return f"devagent-{self.hash}-proxy"

    @property
    def netguard_container(self) -> str:
        return f"devagent-{self.hash}-netguard"

    @property
    def images(self) -> tuple[str, ...]:
        """The images built for this project (one per service), tagged by container name."""
        return tuple(
            f"{name}:latest"
            for name in (self.app_container, self.proxy_container, self.netguard_container)
        )

    @property
    def internal_network(self) -> str:
        return f"devagent-{self.hash}-net"

    @property
    def egress_network(self) -> str:
        return f"devagent-{self.hash}-egress"

    @property
    def workspace_folder(self) -> str:
        return f"/workspaces/{self.name}"

    @property
    def devcontainer_dir(self) -> Path:
        return self.path / DEVCONTAINER_DIR

    @property
    def compose_file(self) -> Path:
        return self.devcontainer_dir / "docker-compose.yml"


def project_hash(path: Path) -> str:
    return hashlib.sha256(str(path).encode()).hexdigest()[:12]


def identify(path: Path | str, *, must_exist: bool = True) -> Project:
    """Resolve a project path to its identity; the path must be an existing directory."""
    absolute = Path(path).expanduser().resolve()
    if must_exist and not absolute.is_dir():
        raise ProjectError(
            f"project path {absolute} is not a directory",
            hint="create it first or pass an existing directory",
        )
    return Project(path=absolute, hash=project_hash(absolute))


# Names of what devagent makes on the engine: containers, networks, images (Podman prefixes
# local images with "localhost/").
_ENGINE_NAME = re.compile(r"^(?:localhost/)?devagent-([0-9a-f]{12})-[a-z]+(?::|$)")


def hash_in_name(name: str) -> str | None:
    """The project hash in the name of a container, network or image devagent made."""
    match = _ENGINE_NAME.match(name)
    return match.group(1) if match else None


def looks_like_container_name(text: str) -> bool:
    return re.fullmatch(r"devagent-[0-9a-f]{12}-(app|proxy)", text) is not None


# Internal networks get a fixed /28 from this block, so the proxy has a fixed address the app
# reaches through /etc/hosts while the app's DNS answers nothing at all.
SUBNET_POOL = ipaddress.IPv4Network("10.213.0.0/16")
SUBNET_PREFIX = 28


def internal_subnet(
    project_hash: str, taken: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network] = ()
) -> ipaddress.IPv4Network:
    """The project's internal subnet: derived from its hash, stepping past any in use."""
    subnets = list(SUBNET_POOL.subnets(new_prefix=SUBNET_PREFIX))
    used = [net for net in taken if isinstance(net, ipaddress.IPv4Network)]
    start = int(project_hash, 16) % len(subnets)
    for offset in range(len(subnets)):
        candidate = subnets[(start + offset) % len(subnets)]
        if not any(candidate.overlaps(net) for net in used):
            return candidate
    raise ProjectError(f"no free /{SUBNET_PREFIX} left in {SUBNET_POOL} for the internal network")
