"""Rootful Podman, next to Docker: a smoke run of the whole path, firewall conflict included.

With Docker on the same host, its FORWARD DROP policy cuts traffic inside Podman's bridges.
devagent must say so with the exact rule to add; with that rule the sandbox works.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from devagent.project import identify
from tests.e2e.conftest import ENGINES, run, write_config

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif("podman" not in ENGINES, reason="podman not among DEVAGENT_E2E_ENGINES"),
]


@pytest.fixture
def rootful() -> Iterator[tuple[Path, dict[str, str]]]:
    if os.geteuid() != 0:
        pytest.fail("the rootful podman smoke test must run as root")
    root = Path(tempfile.mkdtemp(prefix="devagent-e2e-rootful-"))
    project = root / "rootful"
    project.mkdir()
    write_config(root)
    env = {
        **os.environ,
        "DEVAGENT_CONFIG_DIR": str(root / "config"),
        "DEVAGENT_DATA_DIR": str(root / "data"),
        "DEVAGENT_STATE_DIR": str(root / "state"),
        "DEVAGENT_RUNTIME": "podman",
    }
    yield project, env
    devagent(env, "destroy", str(project), "--purge", check=False)
    shutil.rmtree(root, ignore_errors=True)


def devagent(
    env: dict[str, str], *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "devagent", *args], check=check, env=env)


def test_rootful_podman_smoke(rootful: tuple[Path, dict[str, str]]) -> None:
    project, env = rootful
    created = devagent(env, "create", str(project), "--allow", "allowed.test private", check=False)
    rule: list[str] = []
    if created.returncode != 0:
        # Docker's firewall on this host: devagent must name the exact fix.
        assert "Docker's firewall drops traffic inside Podman's bridge" in created.stderr
        hint = created.stderr.split("sudo ", 1)[1].split(" then ", 1)[0]
        rule = hint.split()
        assert rule[:3] == ["iptables", "-I", "DOCKER-USER"] and rule[-2:] == ["-j", "ACCEPT"]
        run(rule)
    try:
        if rule:
            devagent(env, "start", str(project))
        app = f"devagent-{identify(project).hash}-app"
        status = json.loads(devagent(env, "status", str(project), "--json").stdout)
        assert status["state"] == "running" and status["engine"] == "podman"
        blocked = run(["podman", "exec", "-u", "vscode", app, "curl", "-s", "-w", "\n%{http_code}",
                       "http://blocked.test/"], check=False)  # fmt: skip
        assert blocked.stdout.rstrip().endswith("403")  # the proxy answered: reachable, filtering
        direct = run(["podman", "exec", "-u", "vscode", app, "curl", "--noproxy", "*",
                      "--max-time", "5", "http://blocked.test/"], check=False)  # fmt: skip
        assert direct.returncode != 0
        assert run(["podman", "exec", app, "getent", "hosts", "deb.debian.org"],
                   check=False).returncode != 0  # fmt: skip
        _a_planted_link_is_never_followed_as_root(env, project, app)
    finally:
        if rule:
            run(["iptables", "-D", *rule[2:]], check=False)  # remove exactly what was added


def _a_planted_link_is_never_followed_as_root(env: dict[str, str], project: Path, app: str) -> None:
    """devagent runs as root here: a link the agent plants in its Claude directory, to a
    root-owned host file, must not make a re-create write or chown that file."""
    handle, name = tempfile.mkstemp(prefix="devagent-victim-", dir="/tmp")
    os.write(handle, b"precious\n")
    os.close(handle)
    victim = Path(name)
    try:
        claude = "/home/vscode/.claude"
        run(["podman", "exec", "-u", "vscode", app, "sh", "-c",
             f"rm -f {claude}/.claude.json && ln -s {victim} {claude}/.claude.json"])  # fmt: skip
        again = devagent(env, "create", str(project), check=False)
        assert again.returncode == 1 and ".claude.json is a link" in again.stderr, again.stderr
        assert victim.read_bytes() == b"precious\n" and victim.stat().st_uid == 0
    finally:
        victim.unlink(missing_ok=True)
