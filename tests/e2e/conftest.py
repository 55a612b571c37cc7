"""End-to-end fixtures: real engine, real devcontainer CLI, compose and mitmproxy.

Nothing here skips. A missing engine, image or tool is a failure: CI must not go green on
a machine that could not run these tests. Engines come from DEVAGENT_E2E_ENGINES
(default: docker).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devagent.project import identify
from tests.e2e.pki import make_pki

HERE = Path(__file__).parent
UPSTREAM_IMAGE = "devagent-e2e-upstream:latest"
UPSTREAM_NAMES = ["allowed.test", "api.allowed.test", "blocked.test", "other.test"]
ENGINES = os.environ.get("DEVAGENT_E2E_ENGINES", "docker").split(",")

pytestmark = pytest.mark.e2e


def run(
    argv: list[str], *, check: bool = True, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if check and result.returncode != 0:
        raise AssertionError(f"{argv} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result  # type: ignore[no-any-return]


@dataclass
class Sandbox:
    """One devagent environment created through the real CLI."""

    engine: str
    root: Path
    project: Path

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
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
        return f"devagent-{self.hash}-app"

    @property
    def proxy(self) -> str:
        return f"devagent-{self.hash}-proxy"

    def devagent(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run([sys.executable, "-m", "devagent", *args], check=check, env=self.env)

    def app_sh(self, script: str, *, user: str = "vscode") -> subprocess.CompletedProcess[str]:
        return run([self.engine, "exec", "-u", user, self.app, "sh", "-c", script], check=False)

    def curl(self, *args: str) -> subprocess.CompletedProcess[str]:
        """curl inside the app; stdout ends with the HTTP status code on its own line."""
        argv = ["curl", "-sS", "--max-time", "10", "-w", "\\n%{http_code}", *args]
        return run([self.engine, "exec", "-u", "vscode", self.app, *argv], check=False)

    def inspect(self, name: str) -> dict[str, object]:
        data: list[dict[str, object]] = json.loads(run([self.engine, "inspect", name]).stdout)
        return data[0]

    def connect_upstream(self, upstream: str) -> None:
        aliases = [arg for name in UPSTREAM_NAMES for arg in ("--alias", name)]
        network = f"devagent-{self.hash}-egress"
        run([self.engine, "network", "connect", *aliases, network, upstream])

    def disconnect_upstream(self, upstream: str) -> None:
        network = f"devagent-{self.hash}-egress"
        run([self.engine, "network", "disconnect", network, upstream], check=False)


def _require_tools(engine: str) -> None:
    for tool in (engine, "devcontainer"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed: the e2e suite cannot run (see .ci/run)")
    if run([engine, "info"], check=False).returncode != 0:
        pytest.fail(f"{engine} is not answering: start it (see .ci/run)")
    for image in ("debian:bookworm-slim", "mitmproxy/mitmproxy:11.0.2"):
        if run([engine, "image", "inspect", image], check=False).returncode != 0:
            pytest.fail(f"{image} is missing in {engine}: run scripts/images {engine}")


@pytest.fixture(scope="session", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    _require_tools(name)
    return name


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def upstream(engine: str, pki: Path) -> Iterator[str]:
    """The suite's own HTTP/HTTPS server, joined to each project's egress network."""
    run([engine, "build", "-q", "-t", UPSTREAM_IMAGE, str(HERE / "upstream")])
    name = f"devagent-e2e-upstream-{uuid.uuid4().hex[:8]}"
    # Its own network is internal: the upstream answers the proxies and reaches nothing.
    run([engine, "network", "create", "--internal", name])
    run([engine, "run", "-d", "--name", name, "--network", name,
         "-v", f"{pki.parent}:/certs:ro", UPSTREAM_IMAGE])  # fmt: skip
    yield name
    run([engine, "rm", "-f", name], check=False)
    run([engine, "network", "rm", name], check=False)


def make_sandbox(engine: str, root: Path, pki: Path, name: str) -> Sandbox:
    project = root / name
    project.mkdir(parents=True)
    project.chmod(0o777)  # the container user (uid 1000) writes here; the host user is root
    (project / "README.md").write_text("sample project\n")
    config = root / "config"
    config.mkdir(exist_ok=True)
    (config / "config.yaml").write_text(f"extra_ca_certificates: [{pki}]\n")
    return Sandbox(engine, root, project)


@pytest.fixture(scope="session")
def sandbox(
    engine: str, upstream: str, pki: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Sandbox]:
    """One environment shared by the read-only checks (creating one costs seconds)."""
    box = make_sandbox(engine, tmp_path_factory.mktemp(f"e2e-{engine}"), pki, "sample project")
    try:
        box.devagent(
            "create", str(box.project), "--allow", "allowed.test", "--allow", "*.allowed.test"
        )
        box.connect_upstream(upstream)
        yield box
    finally:  # also when create itself failed half-way
        box.disconnect_upstream(upstream)
        box.devagent("destroy", str(box.project), "--purge", check=False)
