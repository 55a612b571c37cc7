"""End-to-end fixtures: real engine, real devcontainer CLI, compose and mitmproxy.

Nothing here skips. A missing engine, image or tool is a failure: CI must not go green on
a machine that could not run these tests. Engines come from DEVAGENT_E2E_ENGINES
(default: docker).
"""

from __future__ import annotations

import ipaddress
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devagent.project import identify
from tests.e2e.pki import make_pki

HERE = Path(__file__).parent
UPSTREAM_IMAGE = "devagent-e2e-upstream:latest"
UPSTREAM_NAMES = [
    "allowed.test", "api.allowed.test", "blocked.test", "other.test", "pinned.test",
    # Stand-ins for the Anthropic API and GitHub's git host (see upstream/server.py).
    "anthropic.allowed.test", "git.allowed.test",
]  # fmt: skip
ENGINES = os.environ.get("DEVAGENT_E2E_ENGINES", "docker").split(",")
# Podman runs rootless, as most Podman users run it: as this user (made by setup-podman).
ROOTLESS_USER = os.environ.get("DEVAGENT_ROOTLESS_USER", "devagent-e2e")
ROOTLESS_DEVAGENT = "/opt/devagent-rootless/bin/devagent"

pytestmark = pytest.mark.e2e


def run(
    argv: list[str], *, check: bool = True, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if check and result.returncode != 0:
        raise AssertionError(f"{argv} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Host:
    """Who runs the engine: root for docker, the rootless user for podman."""

    engine: str
    rootful: bool = False  # podman as root (the rootful Podman tests)

    @property
    def user(self) -> pwd.struct_passwd | None:
        rootless = self.engine == "podman" and not self.rootful
        return pwd.getpwnam(ROOTLESS_USER) if rootless else None

    def argv(self, argv: list[str], env: dict[str, str] | None = None) -> list[str]:
        user = self.user
        if user is None:
            return argv
        settings = {
            "HOME": user.pw_dir,
            "XDG_RUNTIME_DIR": f"/run/user/{user.pw_uid}",
            "PATH": "/opt/devagent-rootless/bin:/usr/local/bin:/usr/bin:/bin",
            **(env or {}),
        }
        pairs = [f"{key}={value}" for key, value in settings.items()]
        return ["runuser", "-u", user.pw_name, "--", "env", *pairs, *argv]

    def run(self, argv: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run(self.argv(argv), check=check)

    def give(self, path: Path, *, recursive: bool = True) -> None:
        """Hand a directory tree (or just the one path) to the user who runs the engine."""
        user = self.user
        if user is not None:
            for item in [path, *(path.rglob("*") if recursive else ())]:
                os.chown(item, user.pw_uid, user.pw_gid)

    def scratch(self, prefix: str) -> Path:
        """A directory that the engine's user owns and can reach (pytest's tmp is 0700)."""
        path = Path(tempfile.mkdtemp(prefix=prefix))
        path.chmod(0o755)
        self.give(path)
        return path


@dataclass
class Sandbox:
    """One devagent environment created through the real CLI."""

    engine: str
    root: Path
    project: Path
    create_output: str = ""
    rootful: bool = False

    @property
    def host(self) -> Host:
        return Host(self.engine, self.rootful)

    @property
    def env(self) -> dict[str, str]:
        return {
            "DEVAGENT_CONFIG_DIR": str(self.root / "config"),
            "DEVAGENT_DATA_DIR": str(self.root / "data"),
            "DEVAGENT_STATE_DIR": str(self.root / "state"),
            "DEVAGENT_RUNTIME": self.engine,
        }

    @property
    def hash(self) -> str:
        return identify(self.project).hash

    @property
    def app(self) -> str:
        return identify(self.project).app_container

    @property
    def proxy(self) -> str:
        return identify(self.project).proxy_container

    def devagent(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        if self.host.user is not None:
            argv = self.host.argv([ROOTLESS_DEVAGENT, *args], self.env)
            return run(argv, check=check)
        argv = [sys.executable, "-m", "devagent", *args]
        return run(argv, check=check, env={**os.environ, **self.env})

    def devagent_argv(self, *args: str, env: dict[str, str] | None = None) -> list[str]:
        """devagent as the engine's user would start it (use with ``process_env``)."""
        if self.host.user is not None:
            return self.host.argv([ROOTLESS_DEVAGENT, *args], {**self.env, **(env or {})})
        return [sys.executable, "-m", "devagent", *args]

    def process_env(self, env: dict[str, str] | None = None) -> dict[str, str]:
        return {**os.environ, **self.env, **(env or {})}

    def devagent_run(
        self, args: list[str], env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """devagent with extra environment variables, whatever its exit code."""
        return run(self.devagent_argv(*args, env=env), check=False, env=self.process_env(env))

    def engine_run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.host.run([self.engine, *argv], check=check)

    def app_sh(self, script: str, *, user: str = "vscode") -> subprocess.CompletedProcess[str]:
        return self.engine_run("exec", "-u", user, self.app, "sh", "-c", script, check=False)

    def curl(self, *args: str) -> subprocess.CompletedProcess[str]:
        """curl inside the app; stdout ends with the HTTP status code on its own line."""
        argv = ["curl", "-sS", "--max-time", "10", "-w", "\\n%{http_code}", *args]
        return self.engine_run("exec", "-u", "vscode", self.app, *argv, check=False)

    def inspect(self, name: str) -> dict[str, object]:
        data: list[dict[str, object]] = json.loads(self.engine_run("inspect", name).stdout)
        return data[0]

    def inspect_network(self, name: str) -> dict[str, object]:
        data: list[dict[str, object]] = json.loads(
            self.engine_run("network", "inspect", name).stdout
        )
        return data[0]

    def reopen_way_out(self, subnet: str) -> None:
        """Put routes back into the app from outside (the app has no NET_ADMIN): the
        internal subnet and a default route through its gateway."""
        gateway = str(next(ipaddress.ip_network(subnet).hosts()))
        self.engine_run(
            "run", "--rm", "--network", f"container:{self.app}", "--cap-drop", "ALL",
            "--cap-add", "NET_ADMIN", f"devagent-{self.hash}-netguard:latest", "sh", "-c",
            f"ip route add {subnet} dev eth0 && ip route add default via {gateway}",
        )  # fmt: skip

    def connect_upstream(self, upstream: str) -> None:
        aliases = [arg for name in UPSTREAM_NAMES for arg in ("--alias", name)]
        self.engine_run("network", "connect", *aliases, f"devagent-{self.hash}-egress", upstream)

    def disconnect_upstream(self, upstream: str) -> None:
        network = f"devagent-{self.hash}-egress"
        self.engine_run("network", "disconnect", network, upstream, check=False)


def _require_tools(engine: str) -> None:
    host = Host(engine)
    for tool in (engine, "devcontainer", *(["podman-compose"] if engine == "podman" else [])):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed: the e2e suite cannot run (see scripts/setup)")
    if host.run([engine, "info"], check=False).returncode != 0:
        pytest.fail(f"{engine} is not answering: start it (see scripts/setup)")
    listed = (HERE.parent.parent / "images" / "base-images").read_text().splitlines()
    for image in (line.split()[0] for line in listed if line and not line.startswith("#")):
        if host.run([engine, "image", "inspect", image], check=False).returncode != 0:
            pytest.fail(f"{image} is missing in {engine}: run scripts/setup")


@pytest.fixture(scope="session", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    _require_tools(name)
    return name


@pytest.fixture(scope="session")
def pki(engine: str) -> Iterator[Path]:
    directory = Host(engine).scratch("devagent-e2e-pki-")
    ca = make_pki(directory)
    Host(engine).give(directory)
    yield ca
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def upstream(engine: str, pki: Path) -> Iterator[str]:
    """The suite's own HTTP/HTTPS server, joined to each project's egress network."""
    host = Host(engine)
    context = host.scratch("devagent-e2e-upstream-")
    shutil.copytree(HERE / "upstream", context, dirs_exist_ok=True)
    host.give(context)
    host.run([engine, "build", "-q", "-t", UPSTREAM_IMAGE, str(context)])
    name = f"devagent-e2e-upstream-{uuid.uuid4().hex[:8]}"
    # Its own network is internal: the upstream answers the proxies and reaches nothing.
    host.run([engine, "network", "create", "--internal", name])
    host.run([engine, "run", "-d", "--name", name, "--network", name,
              "-e", f"DEVAGENT_E2E_GITHUB_TOKEN={FAKE_GITHUB_TOKEN}",
              "-v", f"{pki.parent}:/certs:ro", UPSTREAM_IMAGE])  # fmt: skip
    yield name
    host.run([engine, "rm", "-f", name], check=False)
    host.run([engine, "network", "rm", name], check=False)
    shutil.rmtree(context, ignore_errors=True)


# Credentials of the right shape, held by the proxy; the stand-ins expect exactly these.
FAKE_CLAUDE_TOKEN = "sk-ant-oat01-devagent-e2e-not-a-real-token"
FAKE_GITHUB_TOKEN = "ghp_devagentE2eNotARealToken000000000001"


def host_extra_cas() -> list[Path]:
    """The CAs this host trusts beyond Debian's (a TLS-inspecting proxy's, on these VMs):
    template builds download through it, as they would in such a network."""
    return sorted(Path("/usr/local/share/ca-certificates").glob("*.crt"))


def write_config(root: Path, *extra_cas: Path, more: str = "") -> Path:
    config = root / "config"
    config.mkdir(exist_ok=True)
    (root / "claude-token").write_text(FAKE_CLAUDE_TOKEN + "\n")
    (root / "github-token").write_text(FAKE_GITHUB_TOKEN + "\n")
    cas = ", ".join(str(p) for p in (*extra_cas, *host_extra_cas()))
    (config / "config.yaml").write_text(
        f"extra_ca_certificates: [{cas}]\ncredentials:\n  claude: {root / 'claude-token'}\n"
        f"  github: {root / 'github-token'}\n"
        # The stand-ins hold the credentials' places.
        "anthropic_hosts: [anthropic.allowed.test]\n"
        "github_hosts: [api.allowed.test, git.allowed.test]\n" + more
    )
    return config


def make_sandbox(
    engine: str, root: Path, pki: Path, name: str, *, rootful: bool = False
) -> Sandbox:
    project = root / name
    project.mkdir(parents=True)
    (project / "README.md").write_text("sample project\n")
    # api.allowed.test and git.allowed.test stand in for GitHub (as an Enterprise Server).
    write_config(root, pki)
    host = Host(engine, rootful)
    if host.user is None:
        project.chmod(0o777)  # docker as root: the container user (uid 1000) writes here
    # Only what this call made: other sandboxes under the same root are live, and their
    # devagent (running as the engine's user) creates and removes files there meanwhile.
    host.give(root, recursive=False)
    for made in (project, root / "config", root / "claude-token", root / "github-token"):
        host.give(made)
    return Sandbox(engine, root, project, rootful=rootful)


@pytest.fixture(scope="session")
def sandbox_root(engine: str) -> Iterator[Path]:
    root = Host(engine).scratch(f"devagent-e2e-{engine}-")
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def sandbox(engine: str, upstream: str, pki: Path, sandbox_root: Path) -> Iterator[Sandbox]:
    """One environment shared by the read-only checks (creating one costs seconds)."""
    box = make_sandbox(engine, sandbox_root, pki, "sample project")
    try:
        # The upstream's own CA, for checking what a passthrough tunnel delivers untouched.
        shutil.copy(pki, box.project / "upstream-ca.pem")
        box.host.give(box.project)
        created = box.devagent(
            # The suite's upstreams are on the engine's network, at private addresses: their
            # entries say "private" (without it the proxy refuses such addresses).
            "create", str(box.project), "--allow", "allowed.test private",
            "--allow", "*.allowed.test private", "--allow", "pinned.test tunnel private",
        )  # fmt: skip
        box.create_output = created.stdout + created.stderr
        box.connect_upstream(upstream)
        yield box
    finally:  # also when create itself failed half-way
        box.disconnect_upstream(upstream)
        box.devagent("destroy", str(box.project), "--purge", check=False)
