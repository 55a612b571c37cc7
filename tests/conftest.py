from __future__ import annotations

from pathlib import Path

import pytest

from devagent.config import Paths, Resources
from devagent.generate.options import EnvironmentOptions
from devagent.project import identify, internal_subnet
from devagent.templates import get


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return Paths(tmp_path / "config", tmp_path / "data", tmp_path / "state")


@pytest.fixture
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every devagent directory into tmp_path (for tests that go through the CLI)."""
    for name in ("CONFIG", "DATA", "STATE"):
        monkeypatch.setenv(f"DEVAGENT_{name}_DIR", str(tmp_path / name.lower()))
    monkeypatch.delenv("DEVAGENT_RUNTIME", raising=False)
    return tmp_path


@pytest.fixture
def options(tmp_path: Path, paths: Paths) -> EnvironmentOptions:
    project_dir = tmp_path / "my project"
    project_dir.mkdir()
    project = identify(project_dir)
    return EnvironmentOptions(
        project=project,
        template=get("basic", paths),
        allowlist=("*.wild.test", "allowed.test"),
        resources=Resources(),
        engine="docker",
        proxy_user="1000:1000",
        claude_config_dir=paths.claude_config_dir(project.hash),
        proxy_certs_dir=paths.proxy_certs_dir(project.hash),
        proxy_logs_dir=paths.proxy_logs_dir(project.hash),
        proxy_ca_cert=b"-----BEGIN CERTIFICATE-----\nTEST\n-----END CERTIFICATE-----\n",
        internal_subnet=internal_subnet(project.hash),
    )
