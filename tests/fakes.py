"""A fake executor that records argv and replays recorded real outputs."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from devagent.errors import CommandFailed
from devagent.manager.selftest import CLEAN_ENV
from devagent.runtime.executor import CommandResult, LineCallback

FIXTURES = Path(__file__).parent / "fixtures"

Responder = Callable[[tuple[str, ...]], CommandResult | None]


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


@dataclass
class FakeExecutor:
    """Answers each command from the newest rule whose argv prefix matches ("*" matches any
    one word); records every call."""

    rules: list[tuple[tuple[str, ...], int, str, str]] = field(default_factory=list)
    calls: list[tuple[str, ...]] = field(default_factory=list)
    envs: list[Mapping[str, str] | None] = field(default_factory=list)

    def on(self, prefix: Sequence[str], stdout: str = "", *, returncode: int = 0,
           stderr: str = "") -> FakeExecutor:  # fmt: skip
        self.rules.insert(0, (tuple(prefix), returncode, stdout, stderr))
        return self

    def run(
        self,
        argv: Sequence[str],
        *,
        check: bool = True,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        on_line: LineCallback | None = None,
        timeout: float | None = None,
        cancel: threading.Event | None = None,
    ) -> CommandResult:
        argv = tuple(argv)
        self.calls.append(argv)
        self.envs.append(env)
        for prefix, code, out, err in self.rules:
            if len(argv) >= len(prefix) and all(
                want in ("*", got) for want, got in zip(prefix, argv, strict=False)
            ):
                if on_line is not None:
                    for line in err.splitlines():
                        on_line(line)
                if check and code != 0:
                    raise CommandFailed(argv, code, out, err)
                return CommandResult(argv, code, out, err)
        raise AssertionError(f"unexpected command: {argv}")

    def interactive(self, argv: Sequence[str]) -> int:
        self.calls.append(tuple(argv))
        return 0

    def called(self, *prefix: str) -> list[tuple[str, ...]]:
        return [c for c in self.calls if c[: len(prefix)] == prefix]


def docker_fake() -> FakeExecutor:
    """A healthy Docker host with compose v1 only, and two containers of one project."""
    return (
        FakeExecutor()
        .on(["docker", "version"], "20.10.24+dfsg1\n")
        .on(["docker", "inspect"], "[]")  # nothing of that name (the netguard step: not yet)
        .on(
            ["docker", "compose"], returncode=1, stderr="docker: 'compose' is not a docker command."
        )
        .on(["docker-compose", "version"], "1.29.2\n")
        .on(["docker", "ps"], fixture("docker_ps.jsonl"))
        .on(["docker-compose"], "")
        .on(["devcontainer", "up"], fixture("devcontainer_up_docker.stdout"))
        .on(["docker", "network", "ls"], "")
        .on(["docker", "rm"], "")
        .on(["docker", "start", "--attach"], "default via 10.213.250.66 dev eth0\n")
        .on(["docker", "exec"], "")
        .on(["docker", "exec", "*", "cat", "/proc/net/route"], fixture("app_proc_net_route"))
        .on(["docker", "exec", "*", "cat", "/etc/hosts"], fixture("app_etc_hosts"))
        # The isolation self-test, as a sealed app answers it.
        # (in verify's clean environment: CLEAN_ENV comes first)
        .on(["docker", "exec", "*", *CLEAN_ENV, "getent"], returncode=2)
        .on(
            ["docker", "exec", "*", *CLEAN_ENV, "timeout", "3", "bash"],
            returncode=1,
            stderr="bash: connect: Network is unreachable\n"
            "bash: line 1: /dev/tcp/10.213.250.65/80: Network is unreachable\n",
        )
        .on(
            ["docker", "exec", "*", *CLEAN_ENV, "curl", "-q", "-s", "-o", "/dev/null", "-D"],
            "HTTP/1.1 403 Forbidden\r\nx-devagent-blocked: not in allowlist\r\n",
        )
        .on(["docker", "info"], '{"CgroupVersion": "1", "SecurityOptions": ["name=seccomp"]}')
    )
