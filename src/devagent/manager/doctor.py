"""devagent doctor: is this machine able to run devagent environments, and if not, why.

Every check runs through the executor (the one subprocess chokepoint) and says how to fix
what it finds. Failures make the machine unusable; warnings are worth knowing about.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from devagent.generate.layout import MITMPROXY_IMAGE
from devagent.manager.leftovers import Leftover
from devagent.runtime.devcontainer_cli import version_argv as devcontainer_version_argv
from devagent.runtime.engine import ENGINES, Engine, EngineFacts, EngineName
from devagent.runtime.executor import Executor
from devagent.runtime.firewall import forward_rules_argv, parse_forward
from devagent.runtime.versions import compose_version, first_line, ran

Status = Literal["ok", "warn", "fail"]

DEVCONTAINER_CLI_INSTALL = "npm install -g @devcontainers/cli@0.89.0"
DISK_FAIL_BYTES = 2 * 1024**3
DISK_WARN_BYTES = 10 * 1024**3


@dataclass(frozen=True)
class DoctorCheck:
    name: str
    status: Status
    detail: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "fix": self.fix}


@dataclass(frozen=True)
class _Answering:
    """An engine that answered, with its `info` once parsed."""

    engine: Engine
    info: dict[str, Any]
    facts: EngineFacts


@dataclass(frozen=True)
class DoctorReport:
    checks: tuple[DoctorCheck, ...]
    # What failed or interrupted commands left on the engine and in devagent's state.
    leftovers: tuple[Leftover, ...] = ()
    removed: tuple[str, ...] = ()  # with --fix: what was removed

    @property
    def ok(self) -> bool:
        return all(check.status != "fail" for check in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checks": [check.to_json() for check in self.checks],
            "leftovers": [item.to_json() for item in self.leftovers],
            "removed": list(self.removed),
        }


class Doctor:
    def __init__(self, executor: Executor, choice: str = "auto") -> None:
        self.executor = executor
        chosen = tuple(ENGINES) if choice == "auto" else (choice,)
        self.names: tuple[EngineName, ...] = chosen  # type: ignore[assignment]

    def run(self) -> DoctorReport:
        return DoctorReport(tuple(self._checks()))

    def _checks(self) -> Iterator[DoctorCheck]:
        answering: list[_Answering] = []
        engine_checks = []
        for name in self.names:
            check, answer = self._engine(Engine(name, name))
            engine_checks.append(check)
            if answer is not None:
                answering.append(answer)
        names = {answer.engine.name for answer in answering}
        for check in engine_checks:
            # Choosing automatically, one engine that answers is enough.
            yield replace(check, status="warn") if answering and check.status == "fail" else check
        if not answering:
            yield DoctorCheck(
                "container engine", "fail", "no engine answers: devagent cannot run here",
                "install and start Docker (scripts/setup) or Podman (scripts/setup-podman)",
            )  # fmt: skip
        for answer in answering:
            yield self._compose(answer.engine)
            yield self._proxy_image(answer.engine)
            yield self._disk(answer.engine, answer.info)
            yield from self._engine_quirks(answer)
        cli = self._devcontainer_cli()
        yield cli
        if cli.status == "ok" and "podman" in names:
            yield DoctorCheck(
                "podman with the devcontainer CLI", "ok",
                "known issue handled: the CLI's UID-update image would start FROM localhost/..."
                " and fail; devagent sets updateRemoteUserUID: false for Podman (rootless "
                "Podman maps the user with keep-id instead)",
            )  # fmt: skip
        if answering:
            yield DoctorCheck(
                "DNS on internal networks", "ok",
                "some engine versions answer external names on internal networks (Podman's "
                "aardvark-dns, Docker's embedded DNS forwarding): devagent points the app's "
                "resolver at 127.0.0.1 and turns Podman's DNS off there; `devagent verify` "
                "checks that no external name resolves",
            )  # fmt: skip
        if "podman" in names and ("docker" in names or shutil.which("dockerd")):
            yield self._firewall_conflict(answering)

    def _engine(self, engine: Engine) -> tuple[DoctorCheck, _Answering | None]:
        name = f"{engine.name}"
        version = ran(self.executor, engine.version_argv())
        if version is None:
            return DoctorCheck(name, "warn", "not installed", f"install {engine.name}"), None
        if version.returncode != 0:
            fix = (
                "start the daemon (`systemctl start docker`, or `dockerd &`) and check "
                "that your user may use its socket"
                if engine.name == "docker"
                else "check `podman info` (XDG_RUNTIME_DIR, subuid/subgid ranges)"
            )
            reason = first_line(version.stderr) or f"exit {version.returncode}"
            return DoctorCheck(name, "fail", f"installed but not answering: {reason}", fix), None
        info_result = ran(self.executor, engine.info_argv())
        try:
            info: dict[str, Any] = json.loads(info_result.stdout) if info_result else {}
        except ValueError:
            info = {}
        facts = engine.parse_info(json.dumps(info))
        detail = f"{version.stdout.strip()} ({'rootless' if facts.rootless else 'rootful'})"
        return DoctorCheck(name, "ok", detail), _Answering(engine, info, facts)

    def _compose(self, engine: Engine) -> DoctorCheck:
        found = compose_version(self.executor, engine)
        if found is not None:
            return DoctorCheck(f"compose ({engine.name})", "ok", found)
        tried = [candidate.variant for candidate in engine.kind.compose_tools]
        fix = (
            "apt-get install docker-compose (or the compose plugin)"
            if engine.name == "docker"
            else "pip install podman-compose==1.6.0 (scripts/setup-podman)"
        )
        return DoctorCheck(
            f"compose ({engine.name})", "fail", f"none found (tried {', '.join(tried)})", fix
        )

    def _devcontainer_cli(self) -> DoctorCheck:
        result = ran(self.executor, devcontainer_version_argv())
        if result is None or result.returncode != 0:
            return DoctorCheck(
                "devcontainer CLI", "fail", "not found on PATH", DEVCONTAINER_CLI_INSTALL
            )
        return DoctorCheck("devcontainer CLI", "ok", result.stdout.strip())

    def _proxy_image(self, engine: Engine) -> DoctorCheck:
        result = ran(self.executor, [engine.binary, "image", "inspect", MITMPROXY_IMAGE])
        name = f"proxy image ({engine.name})"
        if result is not None and result.returncode == 0:
            return DoctorCheck(name, "ok", f"{MITMPROXY_IMAGE} present")
        return DoctorCheck(
            name, "warn", f"{MITMPROXY_IMAGE} not present: the first create pulls it",
            f"`{engine.binary} pull {MITMPROXY_IMAGE}`, or without a registry: scripts/images",
        )  # fmt: skip

    def _disk(self, engine: Engine, info: dict[str, Any]) -> DoctorCheck:
        root = info.get("DockerRootDir") or info.get("store", {}).get("graphRoot") or "/"
        path = Path(str(root))
        while not path.exists() and path != path.parent:
            path = path.parent
        try:
            free = shutil.disk_usage(path).free
        except OSError:
            return DoctorCheck(f"disk ({engine.name})", "warn", f"cannot read free space of {root}")
        detail = f"{free / 1024**3:.1f} GB free under {root}"
        fix = f"free space there (`{engine.binary} system prune` removes unused images)"
        if free < DISK_FAIL_BYTES:
            return DoctorCheck(f"disk ({engine.name})", "fail", detail, fix)
        if free < DISK_WARN_BYTES:
            return DoctorCheck(f"disk ({engine.name})", "warn", detail, fix)
        return DoctorCheck(f"disk ({engine.name})", "ok", detail)

    def _engine_quirks(self, answer: _Answering) -> Iterator[DoctorCheck]:
        if answer.engine.name != "podman":
            return
        info, facts = answer.info, answer.facts
        driver = str(info.get("store", {}).get("graphDriverName", ""))
        if driver == "vfs":
            yield DoctorCheck(
                "podman storage", "warn",
                "vfs copies every image layer in full: each environment costs gigabytes",
                'set `driver = "overlay"` under [storage] in ~/.config/containers/storage.conf, '
                "then `podman system reset` (removes this user's images and containers)",
            )  # fmt: skip
        backend = str(info.get("host", {}).get("networkBackend", ""))
        if backend and backend != "netavark":
            yield DoctorCheck(
                "podman networking", "warn",
                f"network backend {backend}: devagent turns DNS off on internal networks "
                "through netavark; with another backend external names may resolve there",
                "switch to netavark (network_backend in containers.conf)",
            )  # fmt: skip
        if not facts.enforces_limits:
            yield DoctorCheck(
                "resource limits", "warn",
                "rootless on cgroups v1: memory, CPU and pids limits are not enforced",
                "boot with systemd.unified_cgroup_hierarchy=1 and delegate cpu, memory, pids",
            )  # fmt: skip

    def _firewall_conflict(self, answering: list[_Answering]) -> DoctorCheck:
        name = "docker and podman firewall"
        rootful_podman = any(a.engine.name == "podman" and not a.facts.rootless for a in answering)
        if not rootful_podman or os.geteuid() != 0:
            return DoctorCheck(name, "ok", "no conflict (rootless podman has its own network)")
        rules = ran(self.executor, forward_rules_argv())
        if rules is None or rules.returncode != 0:
            return DoctorCheck(name, "warn", "cannot read iptables FORWARD", "run as root")
        if parse_forward(rules.stdout).docker_blocks_bridges:
            return DoctorCheck(
                name, "warn",
                "Docker set FORWARD to DROP: traffic inside rootful podman bridges is dropped",
                "devagent create adds a DOCKER-USER rule for each project's bridge; for other "
                "podman networks: iptables -I DOCKER-USER -i BRIDGE -o BRIDGE -j ACCEPT",
            )  # fmt: skip
        return DoctorCheck(name, "ok", "FORWARD does not drop podman's bridges")
