"""A real environment, seen from inside its app container and from the engine."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from tests.e2e.conftest import Sandbox, make_sandbox

pytestmark = pytest.mark.e2e


def _status(result_stdout: str) -> str:
    return result_stdout.rstrip().rsplit("\n", 1)[-1]


def test_allowed_host_over_http(sandbox: Sandbox) -> None:
    result = sandbox.curl("http://allowed.test/hello")
    assert _status(result.stdout) == "200", result.stderr
    assert "hello from allowed.test path=/hello" in result.stdout


def test_allowed_host_over_https_through_the_proxy_ca(sandbox: Sandbox) -> None:
    result = sandbox.curl("https://allowed.test/secure")
    assert _status(result.stdout) == "200", result.stderr
    assert "hello from allowed.test" in result.stdout
    issuer = sandbox.app_sh(
        "curl -sS -v -o /dev/null https://allowed.test/ 2>&1 | grep -i 'issuer:'"
    ).stdout
    assert "devagent proxy CA" in issuer  # intercepted and re-signed, and trusted


def test_passthrough_entry_is_tunnelled_without_interception(sandbox: Sandbox) -> None:
    ca = "/workspaces/sample-project/upstream-ca.pem"
    result = sandbox.curl("--cacert", ca, "https://pinned.test/pinned")
    assert _status(result.stdout) == "200", result.stderr
    issuer = sandbox.app_sh(
        f"curl -sS -v -o /dev/null --cacert {ca} https://pinned.test/ 2>&1 | grep -i 'issuer:'"
    ).stdout
    assert "devagent e2e test CA" in issuer  # the upstream's certificate, end to end
    log = Path(sandbox.env["DEVAGENT_DATA_DIR"]) / "proxy-logs" / sandbox.hash / "requests.jsonl"
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert any(r["host"] == "pinned.test" and r["mode"] == "tunnel" for r in records)


def test_wildcard_entry_allows_subdomains(sandbox: Sandbox) -> None:
    result = sandbox.curl("https://api.allowed.test/")
    assert _status(result.stdout) == "200", result.stderr


def test_unlisted_host_gets_the_proxys_403(sandbox: Sandbox) -> None:
    result = sandbox.curl("http://blocked.test/")
    assert _status(result.stdout) == "403"
    assert "blocked by the sandbox proxy" in result.stdout
    assert "devagent allow blocked.test" in result.stdout  # says how to let it through
    # Refused over TLS too: the app trusts the project's CA, so it reads the same 403.
    https = sandbox.curl("https://blocked.test/")
    assert _status(https.stdout) == "403" and "devagent allow blocked.test" in https.stdout


def test_connection_ignoring_the_proxy_fails(sandbox: Sandbox, upstream: str) -> None:
    # The legitimate twin first, so a broken network cannot pass for a secure one.
    assert _status(sandbox.curl("http://allowed.test/").stdout) == "200"
    direct = sandbox.curl("--noproxy", "*", "--max-time", "5", "http://allowed.test/")
    assert direct.returncode != 0
    networks = sandbox.inspect(upstream)["NetworkSettings"]["Networks"]  # type: ignore[index]
    upstream_ip = networks[f"devagent-{sandbox.hash}-egress"]["IPAddress"]
    by_ip = sandbox.curl("--noproxy", "*", "--max-time", "5", f"http://{upstream_ip}/")
    assert by_ip.returncode != 0, by_ip.stdout


def test_external_names_do_not_resolve_but_the_proxy_does(sandbox: Sandbox) -> None:
    assert sandbox.app_sh("getent hosts proxy").returncode == 0
    assert sandbox.app_sh("getent hosts allowed.test").returncode != 0
    assert sandbox.app_sh("getent hosts deb.debian.org").returncode != 0


def test_workspace_is_mounted_at_the_project_path(sandbox: Sandbox) -> None:
    workspace = "/workspaces/sample-project"
    assert sandbox.app_sh(f"cat {workspace}/README.md").stdout == "sample project\n"
    assert sandbox.app_sh(f"touch {workspace}/made-inside").returncode == 0
    made = sandbox.project / "made-inside"
    assert made.exists()
    assert sandbox.app_sh("id -un").stdout.strip() == "vscode"
    user = sandbox.host.user
    if user is not None:  # rootless podman: what the agent writes belongs to the host user
        assert made.stat().st_uid == user.pw_uid


def _limits_enforced(sandbox: Sandbox) -> bool:
    info = json.loads(sandbox.engine_run("info", "--format", "json").stdout)
    if sandbox.engine == "podman":
        host = info["host"]
        return not (host["security"]["rootless"] and host["cgroupVersion"] == "v1")
    return True


def test_limits_capabilities_and_labels(sandbox: Sandbox) -> None:
    app = sandbox.inspect(sandbox.app)
    host = app["HostConfig"]
    assert isinstance(host, dict)
    if _limits_enforced(sandbox):
        assert host["Memory"] == 4 * 1024**3
        assert host["NanoCpus"] == 2_000_000_000
        assert host["PidsLimit"] == 512
    else:  # the engine cannot apply them here: devagent must say so instead of pretending
        assert host["Memory"] == 0
        status = sandbox.devagent("status", str(sandbox.project)).stdout
        for output in (sandbox.create_output, status):
            assert "NOT enforced" in " ".join(output.split())
    dropped = {c.upper().removeprefix("CAP_") for c in host["CapDrop"]}
    assert dropped == {"ALL"} or {"NET_RAW", "SETUID", "SETGID", "DAC_OVERRIDE"} <= dropped
    assert not host.get("CapAdd")
    assert host["Privileged"] is False
    labels = app["Config"]["Labels"]  # type: ignore[index]
    assert labels["devagent.managed"] == "true"
    assert labels["devagent.project_path"] == str(sandbox.project.resolve())
    assert labels["devagent.template"] == "basic"
    proxy_labels = sandbox.inspect(sandbox.proxy)["Config"]["Labels"]  # type: ignore[index]
    assert proxy_labels["devagent.sidecar_of"] == sandbox.hash
    assert proxy_labels["devagent.sidecar_type"] == "proxy"
    # No capability at all, even for root in the app: no way to change routes or firewall.
    for user in ("vscode", "root"):
        caps = sandbox.app_sh("grep -E '^Cap(Eff|Prm|Bnd):' /proc/self/status", user=user).stdout
        assert caps.split() == ["CapPrm:", "0" * 16, "CapEff:", "0" * 16, "CapBnd:", "0" * 16]


def test_the_app_cannot_read_the_proxy_key(sandbox: Sandbox) -> None:
    found = sandbox.app_sh("grep -rl 'PRIVATE KEY' /etc /workspaces /home 2>/dev/null", user="root")
    assert found.stdout.strip() == ""
    assert sandbox.app_sh("test -r /etc/devagent/proxy-ca.crt").returncode == 0


def test_requests_are_logged_without_query_strings(sandbox: Sandbox) -> None:
    sandbox.curl("http://allowed.test/logged?token=s3cret")
    sandbox.curl("http://blocked.test/denied")
    logs = Path(sandbox.env["DEVAGENT_DATA_DIR"]) / "proxy-logs" / sandbox.hash
    log = logs / "requests.jsonl"
    records = [json.loads(line) for line in log.read_text().splitlines()]
    records += [json.loads(line) for line in (logs / "blocked.jsonl").read_text().splitlines()]
    by_path = {r["path"]: r for r in records}
    assert by_path["/logged"]["decision"] == "allowed" and by_path["/logged"]["status"] == 200
    assert by_path["/denied"]["decision"] == "blocked" and by_path["/denied"]["status"] == 403
    assert "s3cret" not in log.read_text()
    assert all(r["host"] != "proxy" for r in records)  # readiness probes are not logged


def test_status_and_list(sandbox: Sandbox) -> None:
    status = json.loads(sandbox.devagent("status", str(sandbox.project), "--json").stdout)
    assert status["state"] == "running" and status["engine"] == sandbox.engine
    listed = json.loads(sandbox.devagent("list", "--json").stdout)
    mine = [e for e in listed["environments"] if e["project_hash"] == sandbox.hash]
    assert len(mine) == 1 and mine[0]["app"]["name"] == sandbox.app


def test_recreate_applies_new_entries_and_a_foreign_devcontainer_is_refused(
    sandbox: Sandbox, upstream: str
) -> None:
    assert _status(sandbox.curl("http://other.test/").stdout) == "403"
    sandbox.disconnect_upstream(upstream)
    again = sandbox.devagent("create", str(sandbox.project), "--allow", "other.test private")
    assert again.returncode == 0
    sandbox.connect_upstream(upstream)
    assert _status(sandbox.curl("http://other.test/").stdout) == "200"  # the new entry
    assert _status(sandbox.curl("http://allowed.test/").stdout) == "200"  # earlier ones kept
    assert sandbox.app_sh("cat /workspaces/sample-project/README.md").returncode == 0
    foreign = sandbox.root / "foreign"
    (foreign / ".devcontainer").mkdir(parents=True)
    (foreign / ".devcontainer" / "devcontainer.json").write_text("{}")
    sandbox.host.give(foreign)
    refused = sandbox.devagent("create", str(foreign), check=False)
    assert refused.returncode == 1 and "not generated by devagent" in refused.stderr
    assert (foreign / ".devcontainer" / "devcontainer.json").read_text() == "{}"


def test_only_route_is_to_the_proxy(sandbox: Sandbox) -> None:
    """No default route and no way to the host's address on the bridge, IPv4 or IPv6."""
    routes = sandbox.app_sh("cat /proc/net/route").stdout.splitlines()[1:]
    assert len(routes) == 1 and routes[0].split()[7] == "FFFFFFFF"
    assert sandbox.app_sh("cat /proc/net/if_inet6").stdout.strip() == ""
    network = sandbox.inspect(f"devagent-{sandbox.hash}-net")
    subnet = _internal_subnet(sandbox, network)
    bridge_host = str(next(ipaddress.ip_network(subnet).hosts()))
    for port in ("80", "22", "8080"):
        probe = sandbox.curl("--noproxy", "*", "--max-time", "3", f"http://{bridge_host}:{port}/")
        assert probe.returncode != 0, probe.stdout
    assert _status(sandbox.curl("http://allowed.test/").stdout) == "200"  # the twin still works
    # Putting a route back needs NET_ADMIN: test_limits_capabilities_and_labels shows that
    # not even root in the app has any capability.


def test_verify_reports_isolation_and_catches_a_route_put_back(sandbox: Sandbox) -> None:
    ok = sandbox.devagent("verify", str(sandbox.project), "--json")
    assert json.loads(ok.stdout)["ok"] is True
    network = sandbox.inspect(f"devagent-{sandbox.hash}-net")
    # Reopen the way out from outside the app (the app itself has no NET_ADMIN).
    sandbox.reopen_way_out(_internal_subnet(sandbox, network))
    leaky = sandbox.devagent("verify", str(sandbox.project), "--json", check=False)
    assert leaky.returncode == 1
    failed = [c["name"] for c in json.loads(leaky.stdout)["checks"] if not c["ok"]]
    assert "the only route leads to the proxy" in failed
    assert "a direct connection beside the proxy is unroutable" in failed
    sandbox.devagent("start", str(sandbox.project))  # re-runs netguard: sealed again
    assert json.loads(sandbox.devagent("verify", str(sandbox.project), "--json").stdout)["ok"]


def _internal_subnet(sandbox: Sandbox, network: dict[str, object]) -> str:
    if sandbox.engine == "podman":
        return str(network["subnets"][0]["subnet"])  # type: ignore[index]
    return str(network["IPAM"]["Config"][0]["Subnet"])  # type: ignore[index]


def test_second_project_lifecycle_side_by_side(sandbox: Sandbox, upstream: str, pki: Path) -> None:
    """stop/start/destroy one project while another keeps running next to it."""
    other = make_sandbox(sandbox.engine, sandbox.root, pki, "second")
    other.devagent("create", str(other.project), "--allow", "other.test private")
    try:
        other.connect_upstream(upstream)
        assert other.hash != sandbox.hash
        assert _status(other.curl("http://other.test/").stdout) == "200"
        assert _status(other.curl("http://allowed.test/").stdout) == "403"  # its own allowlist

        other.devagent("stop", str(other.project))
        for name in (other.app, other.proxy):
            assert other.inspect(name)["State"]["Running"] is False  # type: ignore[index]
        assert _status(sandbox.curl("http://allowed.test/").stdout) == "200"  # neighbour unaffected

        other.devagent("start", str(other.project))
        for name in (other.app, other.proxy):
            assert other.inspect(name)["State"]["Running"] is True  # type: ignore[index]
        assert _status(other.curl("http://other.test/").stdout) == "200"
        assert _status(other.curl("http://blocked.test/").stdout) == "403"
    finally:
        other.disconnect_upstream(upstream)
        other.devagent("destroy", str(other.project))
    leftovers = other.engine_run("ps", "-a", "--filter", f"name=devagent-{other.hash}", "-q")
    assert leftovers.stdout.strip() == ""
    networks = other.engine_run("network", "ls", "--filter", f"name=devagent-{other.hash}", "-q")
    assert networks.stdout.strip() == ""
    images = other.engine_run("images", "--format", "{{.Repository}}")
    assert other.hash not in images.stdout  # its images (the derived -uid one too) are gone
    assert sandbox.hash in images.stdout  # the neighbour's are not
    assert (other.project / "README.md").exists()  # the workspace is never touched
    assert sandbox.inspect(sandbox.app)["State"]["Running"] is True  # type: ignore[index]
