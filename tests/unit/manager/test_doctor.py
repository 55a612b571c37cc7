from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from devagent.errors import EngineError
from devagent.manager.doctor import Doctor, DoctorReport
from devagent.runtime.executor import CommandResult, LineCallback
from tests.fakes import FakeExecutor, docker_fake

DOCKER_INFO = json.dumps({"DockerRootDir": "/", "CgroupVersion": "2", "SecurityOptions": []})
PODMAN_INFO = json.dumps(
    {
        "host": {"security": {"rootless": False}, "cgroupVersion": "v2",
                 "networkBackend": "netavark"},
        "store": {"graphRoot": "/", "graphDriverName": "overlay"},
    }
)  # fmt: skip


def healthy() -> FakeExecutor:
    return (
        docker_fake()
        .on(["docker", "info"], DOCKER_INFO)
        .on(["docker", "image", "inspect"], "[{}]")
        .on(["devcontainer", "--version"], "0.89.0\n")
        .on(["podman", "info", "--format"], "4.3.1\n")
        .on(["podman", "info", "--format", "json"], PODMAN_INFO)
        .on(["podman-compose", "version"], "podman-compose version 1.6.0\npodman version 4.3.1\n")
        .on(["podman", "image", "inspect"], "[{}]")
        .on(["iptables", "-S", "FORWARD"], "-P FORWARD ACCEPT\n")
        .on(["docker", "network", "ls"], "")
        .on(["docker", "images"], "")
    )


class Missing(FakeExecutor):
    """A fake on which some programs are not installed at all."""

    def __init__(self, base: FakeExecutor, missing: set[str]) -> None:
        super().__init__(base.rules)
        self.missing = missing

    def run(self, argv: Sequence[str], *, check: bool = True, cwd: Path | None = None,
            env: Mapping[str, str] | None = None, on_line: LineCallback | None = None,
            timeout: float | None = None) -> CommandResult:  # fmt: skip
        if argv[0] in self.missing:
            raise EngineError(f"{argv[0]} is not installed")
        return super().run(argv, check=check, cwd=cwd, env=env, on_line=on_line, timeout=timeout)


def statuses(report: DoctorReport) -> dict[str, str]:
    return {check.name: check.status for check in report.checks}


def test_a_healthy_machine() -> None:
    report = Doctor(healthy(), "docker").run()
    assert report.ok
    assert statuses(report) == {
        "docker": "ok", "compose (docker)": "ok", "proxy image (docker)": "ok",
        "disk (docker)": statuses(report)["disk (docker)"], "devcontainer CLI": "ok",
        "DNS on internal networks": "ok",
    }  # fmt: skip
    assert report.to_json()["ok"] is True
    assert {"name", "status", "detail", "fix"} == set(report.to_json()["checks"][0])


def test_engine_not_answering_fails_with_the_fix() -> None:
    down = healthy().on(
        ["docker", "version"], returncode=1, stderr="Cannot connect to the Docker daemon\n"
    )
    report = Doctor(down, "docker").run()
    assert not report.ok
    engine = next(c for c in report.checks if c.name == "docker")
    assert engine.status == "fail" and "Cannot connect" in engine.detail and "dockerd" in engine.fix
    assert any(c.name == "container engine" and c.status == "fail" for c in report.checks)


def test_missing_devcontainer_cli_fails_with_the_install_command() -> None:
    report = Doctor(Missing(healthy(), {"devcontainer"}), "docker").run()
    cli = next(c for c in report.checks if c.name == "devcontainer CLI")
    assert not report.ok and cli.status == "fail" and "@devcontainers/cli" in cli.fix


def test_docker_and_rootful_podman_fighting_over_iptables_is_a_warning() -> None:
    conflict = healthy().on(
        ["iptables", "-S", "FORWARD"], "-P FORWARD DROP\n-A FORWARD -j DOCKER-USER\n"
    )
    report = Doctor(conflict, "auto").run()
    firewall = next(c for c in report.checks if c.name == "docker and podman firewall")
    assert report.ok and firewall.status == "warn" and "DOCKER-USER" in firewall.fix


def test_rootless_podman_on_vfs_is_a_warning() -> None:
    vfs = json.loads(PODMAN_INFO)
    vfs["store"]["graphDriverName"] = "vfs"
    vfs["host"]["security"]["rootless"] = True
    report = Doctor(
        Missing(healthy().on(["podman", "info", "--format", "json"], json.dumps(vfs)), {"docker"}),
        "auto",
    ).run()
    assert statuses(report)["podman storage"] == "warn"
    assert statuses(report)["docker"] == "warn"  # not installed: fine while podman works
    assert report.ok
