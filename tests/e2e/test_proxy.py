"""The proxy's own guarantees, end to end: addresses, a complete log, limits, live changes.

Each test pairs what must be refused with what must still work, in the shared environment
(its allowlist changes are undone before the test ends).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Sandbox

pytestmark = pytest.mark.e2e

STATUS = "curl -sS --max-time 10 -o /dev/null -w '%{http_code}'"


def status(sandbox: Sandbox, url: str) -> str:
    return sandbox.app_sh(f"{STATUS} {url}").stdout.strip()


def records(sandbox: Sandbox, *args: str) -> list[dict[str, object]]:
    shown = sandbox.devagent("logs", str(sandbox.project), "--json", *args)
    return list(json.loads(shown.stdout)["records"])


@pytest.fixture
def allowed(sandbox: Sandbox) -> Iterator[list[str]]:
    """Entries a test allows live; denied again afterwards."""
    entries: list[str] = []
    yield entries
    if entries:
        sandbox.devagent("deny", *entries, str(sandbox.project), check=False)


def allow(sandbox: Sandbox, allowed: list[str], *entries: str) -> None:
    sandbox.devagent("allow", *entries, str(sandbox.project))
    allowed.extend(entries)
    time.sleep(2)  # a change applies within 2 s (the helper's answers live 1 s)


def test_allowed_names_never_lead_to_forbidden_addresses(
    sandbox: Sandbox, allowed: list[str]
) -> None:
    """Loopback, link-local (cloud metadata), the proxy itself, the gateway and private
    addresses are refused even for allowlisted names and addresses; private ones are
    reached only through entries marked ``private``."""
    proxy_internal = sandbox.app_sh("getent hosts proxy").stdout.split()[0]
    network = sandbox.inspect_network(f"devagent-{sandbox.hash}-egress")
    if sandbox.engine == "podman":
        gateway = str(network["subnets"][0]["gateway"])  # type: ignore[index]
    else:
        gateway = str(network["IPAM"]["Config"][0]["Gateway"])  # type: ignore[index]
    assert gateway, network
    forbidden = {
        "http://localhost/": "localhost",  # a name the proxy resolves to 127.0.0.1
        "http://127.0.0.1/": "127.0.0.1",
        "http://169.254.169.254/latest/meta-data/": "169.254.169.254",
        f"http://{proxy_internal}:8080/": f"{proxy_internal}:8080",  # the proxy itself
        f"http://{gateway}/": gateway,  # the host, on the egress network
        # A name at a private address (the suite's upstream), listed without "private". (Not
        # other.test: an earlier test of the shared environment allows it with "private".)
        "http://blocked.test/": "blocked.test",
    }
    allow(sandbox, allowed, *forbidden.values())
    for url in forbidden:
        # Through the proxy even for localhost (the app's NO_PROXY would send it nowhere).
        through = "--proxy http://proxy:8080 --noproxy ''"
        answer = sandbox.app_sh(f"curl -sS --max-time 10 {through} -w '\\n%{{http_code}}' {url}")
        answer = answer.stdout
        assert answer.endswith("403"), (url, answer)
        assert "address the sandbox does not reach" in answer, (url, answer)
    refusals = [r for r in records(sandbox, "--blocked", "--since", "1m") if r["method"] == "GET"]
    assert {r["host"] for r in refusals} >= {"localhost", "127.0.0.1", "blocked.test"}
    assert any("private address" in str(r["reason"]) for r in refusals)
    # The twin: the same private host, allowed with "private", answers.
    allow(sandbox, allowed, "blocked.test private")
    assert status(sandbox, "http://blocked.test/") == "200"


def test_refused_https_is_in_logs_blocked(sandbox: Sandbox) -> None:
    assert status(sandbox, "https://allowed.test/") == "200"
    assert status(sandbox, "https://blocked.test/refused-over-tls") == "403"
    blocked = records(sandbox, "--blocked", "--since", "1m")
    hosts = {(r["host"], r["method"]) for r in blocked}
    assert ("blocked.test", "CONNECT") in hosts
    assert all(r["decision"] == "blocked" for r in blocked)
    summary = json.loads(sandbox.devagent("logs", str(sandbox.project), "--json").stdout)
    assert "blocked.test" in {h["host"] for h in summary["blocked_hosts"]}


def test_upstream_failures_are_logged_as_errors(sandbox: Sandbox, allowed: list[str]) -> None:
    """An allowed request the server does not answer (here: a port nothing listens on, on the
    suite's own upstream) is logged as an error with its reason, never as "allowed"."""
    allow(sandbox, allowed, "allowed.test:81 private")
    assert status(sandbox, "http://allowed.test:81/") in ("502", "503")
    assert status(sandbox, "http://allowed.test/") == "200"
    failed = [r for r in records(sandbox, "--since", "1m") if r["port"] == 81]
    assert failed and all(r["decision"] == "error" for r in failed), failed
    assert "connection to the server failed" in str(failed[-1]["error"])


def test_a_log_flood_cannot_push_out_earlier_refusals(sandbox: Sandbox) -> None:
    marker = f"/before-the-flood-{time.time_ns()}"
    assert status(sandbox, f"http://blocked.test{marker}") == "403"
    # 1,500 refused requests with 8 KB paths, and as many allowed ones, on kept-alive
    # connections (one curl each).
    long_path = "x" * 8192
    for host in ("blocked.test", "allowed.test"):
        script = (
            f'for i in $(seq 1500); do echo "url = http://{host}/{long_path}$i"; '
            "echo 'output = /dev/null'; done > /tmp/flood.cfg && "
            "curl -s --max-time 120 -K /tmp/flood.cfg; echo done"
        )
        assert "done" in sandbox.app_sh(script).stdout
    blocked = records(sandbox, "--blocked")
    assert any(r["path"] == marker for r in blocked), "the earlier refusal was pushed out"
    assert max(len(str(r["path"])) for r in blocked) <= 2048  # fields are capped
    logs = Path(sandbox.env["DEVAGENT_DATA_DIR"]) / "proxy-logs" / sandbox.hash
    sizes = {p.name: p.stat().st_size for p in logs.iterdir()}
    assert all(size <= 6 * 1024 * 1024 for size in sizes.values()), sizes


def test_a_slow_client_is_cut_off_and_others_are_served(sandbox: Sandbox) -> None:
    """Headers that never finish (slow-loris) are dropped after the proxy's request timeout;
    meanwhile, and after, other requests are answered."""
    slow = (
        "trap '' PIPE; exec 3<>/dev/tcp/proxy/8080; "
        "printf 'GET http://allowed.test/ HTTP/1.1\\r\\n' >&3; "
        "for i in $(seq 40); do printf 'X-Slow: %s\\r\\n' $i >&3 2>/dev/null || "
        "{ echo \"cut after $i s\"; exit; }; sleep 1; done; echo 'never cut'"
    )
    sandbox.engine_run(
        "exec", "-d", "-u", "vscode", sandbox.app, "bash", "-c", f"({slow}) > /tmp/slow.out 2>&1"
    )
    time.sleep(2)
    assert status(sandbox, "http://allowed.test/") == "200"
    deadline = time.monotonic() + 60
    output = ""
    while time.monotonic() < deadline:
        output = sandbox.app_sh("cat /tmp/slow.out").stdout
        if output.strip():
            break
        time.sleep(1)
    match = re.search(r"cut after (\d+) s", output)
    assert match is not None, output
    assert int(match.group(1)) <= 35  # the proxy's request timeout is 30 s
    assert status(sandbox, "http://allowed.test/") == "200"


def test_a_live_allowlist_change_under_load_drops_nothing(
    sandbox: Sandbox, allowed: list[str]
) -> None:
    load = (
        "for i in $(seq 300); do curl -s -o /dev/null -w '%{http_code}\\n' "
        "http://allowed.test/load$i; done > /tmp/load.out; echo finished >> /tmp/load.out"
    )
    assert status(sandbox, "http://blocked.test/") == "403"
    sandbox.engine_run("exec", "-d", "-u", "vscode", sandbox.app, "bash", "-c", load)
    time.sleep(1)
    sandbox.devagent("allow", "blocked.test private", str(sandbox.project))
    allowed.append("blocked.test private")
    start = time.monotonic()
    while status(sandbox, "http://blocked.test/") != "200":
        assert time.monotonic() - start < 5, "the new entry did not apply"
    applied = time.monotonic() - start
    deadline = time.monotonic() + 120
    while "finished" not in (out := sandbox.app_sh("cat /tmp/load.out").stdout):
        assert time.monotonic() < deadline
        time.sleep(0.5)
    codes = out.split()[:-1]
    assert len(codes) == 300 and set(codes) == {"200"}, sorted(set(codes))
    print(f"the new entry applied after {applied:.2f} s, under load")
    assert applied <= 3.0
