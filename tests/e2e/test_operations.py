"""Day-to-day operation on a real environment: live allowlist changes."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Sandbox, run

pytestmark = pytest.mark.e2e

# A keep-alive client connection through the proxy: one request now, one more on the same
# connection once /tmp/go appears. Each line: "<name> <status line> <body>".
KEEPALIVE = r"""
exec 3<>/dev/tcp/proxy/8080 || exit 1
req() {
  printf 'GET http://allowed.test/%s HTTP/1.1\r\nHost: allowed.test\r\n\r\n' "$1" >&3
  read -r status <&3; len=0
  while read -r line <&3; do
    line=${line%$'\r'}; [ -z "$line" ] && break
    case "${line,,}" in content-length:*) len=${line#*: };; esac
  done
  read -r -N "$len" body <&3
  echo "$1 ${status%$'\r'} $body"
}
req one > /tmp/keepalive.out
while [ ! -e /tmp/go ]; do sleep 0.1; done
req two >> /tmp/keepalive.out 2>&1 || echo "two failed" >> /tmp/keepalive.out
"""


def _status(sandbox: Sandbox, url: str) -> str:
    return sandbox.curl(url).stdout.rstrip().rsplit("\n", 1)[-1]


def _until(
    check: Callable[[], bool], timeout: float = 10.0, what: Callable[[], str] = str
) -> float:
    """Seconds until ``check`` holds (polled every 50 ms); fails after ``timeout``."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            pytest.fail(f"not within {timeout} s: {what()}")
        time.sleep(0.05)
    return time.monotonic() - start


def test_allow_and_deny_apply_live_without_touching_the_app(
    sandbox: Sandbox, record_property: Callable[[str, object], None]
) -> None:
    before = sandbox.inspect(sandbox.app)
    sandbox.engine_run("exec", "-d", "-u", "vscode", sandbox.app, "bash", "-c", KEEPALIVE)
    _until(
        lambda: "one HTTP/1.1 200" in sandbox.app_sh("cat /tmp/keepalive.out").stdout,
        what=lambda: sandbox.app_sh("cat /tmp/keepalive.out; ps aux").stdout,
    )
    assert _status(sandbox, "http://blocked.test/") == "403"

    # "private": the suite's upstream is at a private address on the engine's network.
    allowed = json.loads(
        sandbox.devagent("allow", "blocked.test private", str(sandbox.project), "--json").stdout
    )
    assert allowed["added"] == ["blocked.test private"] and allowed["live"] is True
    delay_allow = _until(lambda: _status(sandbox, "http://blocked.test/") == "200")
    listed = json.loads(sandbox.devagent("allowlist", str(sandbox.project), "--json").stdout)
    assert {"entry": "blocked.test private", "sources": ["project"]} in listed["entries"]

    sandbox.devagent("deny", "blocked.test private", str(sandbox.project))
    delay_deny = _until(lambda: _status(sandbox, "http://blocked.test/") == "403")
    record_property("allow_delay_s", round(delay_allow, 3))
    record_property("deny_delay_s", round(delay_deny, 3))
    print(f"allow applied after {delay_allow:.3f} s, deny after {delay_deny:.3f} s")

    # The long-lived connection made before both changes still works.
    sandbox.app_sh("touch /tmp/go")
    _until(lambda: "two " in sandbox.app_sh("cat /tmp/keepalive.out").stdout)
    assert (
        "two HTTP/1.1 200 OK hello from allowed.test path=/two"
        in sandbox.app_sh("cat /tmp/keepalive.out").stdout
    )
    after = sandbox.inspect(sandbox.app)
    assert after["Id"] == before["Id"]
    assert after["State"]["StartedAt"] == before["State"]["StartedAt"]  # type: ignore[index]
    assert sandbox.devagent("verify", str(sandbox.project)).returncode == 0  # files recorded


def test_logs_flag_blocked_hosts_and_follow_sees_a_request_within_a_second(
    sandbox: Sandbox, record_property: Callable[[str, object], None]
) -> None:
    sandbox.curl("http://allowed.test/seen?token=hunter2")
    sandbox.curl("http://blocked.test/refused")
    shown = sandbox.devagent("logs", str(sandbox.project), "--json")
    assert "hunter2" not in shown.stdout
    data = json.loads(shown.stdout)
    by_path = {r["path"]: r for r in data["records"]}
    assert (
        by_path["/seen"]["decision"] == "allowed" and by_path["/refused"]["decision"] == "blocked"
    )
    hosts = {h["host"]: h for h in data["blocked_hosts"]}
    assert hosts["blocked.test"]["allow_command"].startswith("devagent allow blocked.test ")
    only_blocked = json.loads(
        sandbox.devagent("logs", str(sandbox.project), "--blocked", "--json").stdout
    )
    assert {r["decision"] for r in only_blocked["records"]} == {"blocked"}
    human = sandbox.devagent("logs", str(sandbox.project), "--since", "10m").stdout
    assert "BLOCKED" in human and "devagent allow blocked.test" in human

    argv = sandbox.devagent_argv("logs", str(sandbox.project), "--follow", "--json")
    follower = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=sandbox.process_env())
    try:
        time.sleep(1.5)  # let it reach the end of the log
        sandbox.curl("http://allowed.test/followed")
        done = time.monotonic()
        assert follower.stdout is not None
        ready, _, _ = select.select([follower.stdout], [], [], 5)
        assert ready, "nothing followed within 5 s"
        line = follower.stdout.readline()
        seen_after = time.monotonic() - done
    finally:
        follower.terminate()
        follower.wait(timeout=10)
    assert json.loads(line)["path"] == "/followed"
    record_property("follow_latency_s", round(seen_after, 3))
    assert seen_after < 1.0


def _doctor(sandbox: Sandbox, *options: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = sandbox.devagent_run([*options, "doctor", "--json"], env=env)
    report: dict[str, Any] = json.loads(result.stdout)
    assert result.returncode == (0 if report["ok"] else 1)
    return report


def _status_of(report: dict[str, Any], name: str) -> str:
    return str(next(c["status"] for c in report["checks"] if c["name"] == name))


def _path_without(tool: str, where: Path) -> str:
    """A PATH directory holding every program of the system's PATH but ``tool``."""
    for directory in (
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ):
        for program in Path(directory).iterdir() if Path(directory).is_dir() else ():
            link = where / program.name
            if program.name != tool and not link.exists() and not link.is_symlink():
                link.symlink_to(program)
    return str(where)


def test_doctor_healthy_and_without_the_devcontainer_cli(sandbox: Sandbox) -> None:
    healthy = _doctor(sandbox)
    assert healthy["ok"] is True
    assert _status_of(healthy, sandbox.engine) == "ok"
    assert _status_of(healthy, "devcontainer CLI") == "ok"
    bin_dir = sandbox.host.scratch("devagent-e2e-path-")
    try:
        missing = _doctor(sandbox, env={"PATH": _path_without("devcontainer", bin_dir)})
    finally:
        shutil.rmtree(bin_dir)
    assert missing["ok"] is False and _status_of(missing, "devcontainer CLI") == "fail"
    assert _status_of(missing, sandbox.engine) == "ok"


def test_doctor_with_the_engine_gone_and_with_the_iptables_conflict(sandbox: Sandbox) -> None:
    if sandbox.engine == "docker":  # the daemon does not answer
        gone = _doctor(sandbox, "--runtime", "docker", env={"DOCKER_HOST": "unix:///nowhere.sock"})
    else:  # podman has no daemon: take it off the PATH
        bin_dir = sandbox.host.scratch("devagent-e2e-path-")
        try:
            path = _path_without("podman", bin_dir)
            gone = _doctor(sandbox, "--runtime", "podman", env={"PATH": path})
        finally:
            shutil.rmtree(bin_dir)
    assert gone["ok"] is False and _status_of(gone, sandbox.engine) in ("fail", "warn")
    assert _status_of(gone, "container engine") == "fail"
    # Docker's FORWARD DROP against rootful Podman's bridges: a host matter, seen as root.
    forward = subprocess.run(["iptables", "-S", "FORWARD"], capture_output=True, text=True)
    assert "-P FORWARD DROP" in forward.stdout, "precondition: Docker's FORWARD policy"
    both = run([sys.executable, "-m", "devagent", "--runtime", "auto", "doctor", "--json"],
               check=False, env={**os.environ, **sandbox.env, "DEVAGENT_RUNTIME": ""})  # fmt: skip
    assert _status_of(json.loads(both.stdout), "docker and podman firewall") == "warn"


def test_exec_passes_arguments_and_exit_code_and_sessions_are_real_tmux(sandbox: Sandbox) -> None:
    path = str(sandbox.project)
    script = 'printf "%s|" "$@"; exit 3'
    ran = sandbox.devagent_run(["exec", path, "--", "bash", "-c", script, "x", "a b", 'it\'s "q"'])
    assert ran.returncode == 3 and ran.stdout == 'a b|it\'s "q"|'
    assert sandbox.devagent_run(["exec", path, "--", "pwd"]).stdout.strip() == (
        "/workspaces/sample-project"
    )
    sandbox.devagent("sessions", "new", "work", path)
    listed = sandbox.devagent("sessions", path).stdout
    assert listed.split() == ["work", "1", "windows", "detached"]
    running = sandbox.app_sh("tmux list-sessions -F '#{session_name}'").stdout.split()
    assert running == ["work"]  # the agent's own tmux server sees it
    sandbox.devagent("sessions", "kill", "work", path)
    assert sandbox.devagent("sessions", path).stdout.strip() == "No tmux sessions."
