from __future__ import annotations

import contextlib
import http.server
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from devagent.generate.compose import ComposeGenerator
from devagent.generate.devcontainer import DevcontainerGenerator
from devagent.generate.options import AgentGit, CredentialBinding, EnvironmentOptions
from devagent.proxy.ca import ensure_ca
from tests.local_proxy import lay_out, run_generated_proxy


def _compose(options: EnvironmentOptions) -> dict:  # type: ignore[type-arg]
    return yaml.safe_load(ComposeGenerator().generate(options).files["docker-compose.yml"])


def test_same_inputs_give_identical_bytes(options: EnvironmentOptions) -> None:
    first = ComposeGenerator().generate(options).files
    second = ComposeGenerator().generate(options).files
    assert first == second
    assert DevcontainerGenerator().generate(options) == DevcontainerGenerator().generate(options)


def test_names_follow_the_project_hash(options: EnvironmentOptions) -> None:
    doc = _compose(options)
    h = options.project.hash
    assert len(h) == 12
    assert doc["services"]["app"]["container_name"] == f"devagent-{h}-app"
    assert doc["services"]["proxy"]["container_name"] == f"devagent-{h}-proxy"
    assert doc["networks"]["internal"] == {
        "name": f"devagent-{h}-net",
        "internal": True,
        "ipam": {"config": [{"subnet": str(options.internal_subnet)}]},
        "x-podman.disable_dns": True,
        "labels": {"devagent.managed": "true", "devagent.sidecar_of": h},
    }


def test_only_the_proxy_reaches_the_egress_network(options: EnvironmentOptions) -> None:
    doc = _compose(options)
    app, proxy = doc["services"]["app"], doc["services"]["proxy"]
    assert app["networks"] == ["internal"]
    assert set(proxy["networks"]) == {"internal", "egress"}
    assert doc["networks"]["egress"].get("internal") is None
    assert app["depends_on"] == {"proxy": {"condition": "service_healthy"}}
    assert app["environment"]["https_proxy"] == "http://proxy:8080"
    assert app["environment"]["HTTP_PROXY"] == "http://proxy:8080"


def test_app_never_mounts_the_proxy_key(options: EnvironmentOptions) -> None:
    app = _compose(options)["services"]["app"]
    certs = str(options.proxy_certs_dir)
    mounts_from_certs = [v for v in app["volumes"] if v.startswith(certs)]
    assert mounts_from_certs == [f"{certs}/mitmproxy-ca-cert.pem:/etc/devagent/proxy-ca.crt:ro"]
    assert not any("docker.sock" in v for v in app["volumes"])


def test_app_is_unprivileged_and_limited(options: EnvironmentOptions) -> None:
    app = _compose(options)["services"]["app"]
    assert app["cap_drop"] == ["ALL"] and "cap_add" not in app
    assert app["security_opt"] == ["no-new-privileges:true"]
    assert (app["mem_limit"], app["cpus"], app["pids_limit"]) == ("4g", 2.0, 512)
    assert app["labels"]["devagent.project_path"] == str(options.project.path)
    assert app["labels"]["devagent.template"] == "basic"
    assert "..:/workspaces/my-project" in app["volumes"]


def test_proxy_is_labelled_healthchecked_and_restarts(options: EnvironmentOptions) -> None:
    proxy = _compose(options)["services"]["proxy"]
    assert proxy["labels"]["devagent.sidecar_of"] == options.project.hash
    assert proxy["labels"]["devagent.sidecar_type"] == "proxy"
    assert proxy["restart"] == "unless-stopped"
    assert proxy["healthcheck"]["test"][0] == "CMD"
    assert proxy["read_only"] is True


def test_proxy_dockerfile_pins_mitmproxy_and_adds_extra_cas(options: EnvironmentOptions) -> None:
    plain = ComposeGenerator().generate(options).files
    lines = plain["Dockerfile.proxy"].decode().splitlines()
    assert next(line for line in lines if line.startswith("FROM ")) == (
        "FROM mitmproxy/mitmproxy:11.0.2"
    )
    assert "squid-openssl" in plain["Dockerfile.proxy"].decode()
    assert "tls_outgoing_options" not in plain["squid.conf"].decode()
    extra = ComposeGenerator().generate(replace(options, extra_ca_certificates=b"PEM\n")).files
    assert extra["extra-ca-certificates.pem"] == b"PEM\n"
    assert "upstream-ca.pem" in extra["Dockerfile.proxy"].decode()
    assert "tls_outgoing_options cafile=/opt/devagent/upstream-ca.pem" in (
        extra["squid.conf"].decode()
    )
    guarded = replace(options, extra_ca_certificates=b"PEM\n", github_guarded_hosts=("a.test",))
    policy = ComposeGenerator().policy(guarded)
    assert "ssl_verify_upstream_trusted_ca=/opt/devagent/upstream-ca.pem" in policy["mitm"]["argv"]


def test_devcontainer_json_is_the_simplified_shape(options: EnvironmentOptions) -> None:
    files = DevcontainerGenerator().generate(options).files
    doc = json.loads(files["devcontainer.json"])
    assert set(doc) == {
        "name", "dockerComposeFile", "service", "workspaceFolder", "remoteUser",
        "postCreateCommand",
    }  # fmt: skip
    assert doc["service"] == "app" and doc["remoteUser"] == "vscode"
    assert doc["workspaceFolder"] == "/workspaces/my-project"
    dockerfile = files["Dockerfile"].decode()
    assert dockerfile.startswith(options.template.dockerfile.rstrip("\n"))
    assert "RUN update-ca-certificates" in dockerfile
    assert dockerfile.rstrip().endswith("USER vscode")
    assert files["devagent-proxy-ca.crt"] == options.proxy_ca_cert
    assert files["home/.tmux.conf"].startswith(b"# devagent")


def test_generated_helper_decides_like_the_decision_function(
    options: EnvironmentOptions, tmp_path: Path
) -> None:
    """`filter.py acl` (squid's helper, as generated) answers squid's questions."""
    files = ComposeGenerator().generate(options).files
    certs = tmp_path / "certs"
    certs.mkdir()
    program = lay_out(files, tmp_path / "work", certs=certs, upstream_ca=None, port=3128)
    queries = [
        "0 GET http allowed.test 80 allowed.test - - access",
        "1 GET http x.test 80 x.test - - access",
        "2 CONNECT - a.wild.test 443 a.wild.test:443 - - access",
        "3 GET https other.wild.test 443 other.wild.test a.wild.test a.wild.test:443 access",
    ]
    answers = subprocess.run(
        [sys.executable, str(program), "acl"], input="\n".join(queries) + "\n",
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout.splitlines()  # fmt: skip
    assert [answer.split()[:2] for answer in answers] == [
        ["0", "OK"], ["1", "ERR"], ["2", "OK"], ["3", "ERR"],
    ]  # fmt: skip
    # The fix names the project by its container: the app never sees a host path.
    assert f"devagent allow x.test {options.project.app_container}" in answers[1]
    assert str(options.project.path) not in answers[1]
    assert "clt_conn_tag=a.wild.test:443" in answers[2]


def test_app_resolves_only_the_proxy(options: EnvironmentOptions) -> None:
    doc = _compose(options)
    app, proxy = doc["services"]["app"], doc["services"]["proxy"]
    proxy_ip = proxy["networks"]["internal"]["ipv4_address"]
    assert proxy_ip in [str(ip) for ip in options.internal_subnet.hosts()]
    # devagent's own /etc/hosts: the proxy by name, none of the engine's host entries.
    hosts = ComposeGenerator().generate(options).files["hosts"].decode()
    assert f"{proxy_ip}\tproxy" in hosts and "host." not in hosts
    assert "./hosts:/etc/hosts:ro" in app["volumes"]
    assert app["dns"] == ["127.0.0.1"]  # nothing answers there: no name leaves the app
    # ... and the app asks no resolver at all: a lookup fails at once, it never waits.
    assert "./resolv.conf:/etc/resolv.conf:ro" in app["volumes"]
    resolv = ComposeGenerator().generate(options).files["resolv.conf"].decode()
    assert [line for line in resolv.splitlines() if not line.startswith("#")] == [
        "nameserver 127.0.0.1",
        "options ndots:0 attempts:1 timeout:1",
    ]


def test_podman_specifics(options: EnvironmentOptions) -> None:
    docker_app = _compose(options)["services"]["app"]
    assert "userns_mode" not in docker_app
    rootless = replace(options, engine="podman", rootless=True)
    assert _compose(rootless)["services"]["app"]["userns_mode"] == "keep-id:uid=1000,gid=1000"
    rootful = replace(options, engine="podman", rootless=False)
    assert "userns_mode" not in _compose(rootful)["services"]["app"]
    podman_json = json.loads(DevcontainerGenerator().generate(rootless).files["devcontainer.json"])
    assert podman_json["updateRemoteUserUID"] is False
    docker_json = json.loads(DevcontainerGenerator().generate(options).files["devcontainer.json"])
    assert "updateRemoteUserUID" not in docker_json


def test_extra_cas_are_trusted_from_the_first_build_step(options: EnvironmentOptions) -> None:
    plain = DevcontainerGenerator().generate(options).files["Dockerfile"].decode()
    assert "devagent-extra.crt" not in plain
    files = DevcontainerGenerator().generate(replace(options, extra_ca_certificates=b"PEM\n")).files
    lines = files["Dockerfile"].decode().splitlines()
    assert files["extra-ca-certificates.pem"] == b"PEM\n"
    first_from = next(i for i, line in enumerate(lines) if line.startswith("FROM "))
    first_run = next(i for i, line in enumerate(lines) if line.startswith("RUN apt-get"))
    copy = lines.index(
        "COPY extra-ca-certificates.pem /usr/local/share/ca-certificates/devagent-extra.crt"
    )
    assert first_from < copy < first_run  # before the template's own downloads


def test_credentials_reach_the_proxy_alone_and_the_app_holds_placeholders(
    options: EnvironmentOptions, tmp_path: Path
) -> None:
    secrets = tmp_path / "secrets"
    held = replace(
        options,
        secrets_dir=secrets,
        credentials=(
            CredentialBinding("claude", "anthropic-oauth", ("api.anthropic.com",)),
            CredentialBinding("github", "github", ("github.com", "api.github.com")),
        ),
    )
    compose = _compose(held)
    app, proxy_service = compose["services"]["app"], compose["services"]["proxy"]
    assert f"{secrets}:/run/devagent/credentials:ro" in proxy_service["volumes"]
    assert not any(str(secrets) in volume for volume in app["volumes"])
    environment = app["environment"]
    assert environment["CLAUDE_CODE_OAUTH_TOKEN"].startswith("sk-ant-oat01-devagent-placeholder")
    assert environment["GH_TOKEN"].startswith("ghp_devagent")
    assert "ANTHROPIC_API_KEY" not in environment
    policy = ComposeGenerator().policy(held)
    assert policy["credentials"] == [
        {"name": "claude", "kind": "anthropic", "hosts": ["api.anthropic.com"]},
        {"name": "github", "kind": "github", "hosts": ["github.com", "api.github.com"]},
    ]
    assert policy["rules_hosts"] == ["api.anthropic.com", "github.com", "api.github.com"]
    files = ComposeGenerator().generate(held).files
    assert "proxy-lib/dulwich/protocol.py" in files and "proxy-lib/graphql/__init__.py" in files
    assert "proxy-lib/dulwich/protocol.py" not in ComposeGenerator().generate(options).files
    app_files = DevcontainerGenerator().generate(held).files
    assert not any("credentials" in name for name in app_files)
    assert "profile.d" not in app_files["Dockerfile"].decode()


def test_generated_proxy_is_squid_asking_devagent(
    options: EnvironmentOptions, tmp_path: Path
) -> None:
    """The container's entry point (`filter.py run`: squid, its helpers, the log daemon), as
    generated: an allowlisted request passes, another port gets devagent's 403, both logged."""
    command = ComposeGenerator().generate(options).files["Dockerfile.proxy"].decode()
    assert 'ENTRYPOINT ["python3", "/opt/devagent/filter.py", "run"]' in command
    with _local_upstream() as port:
        allowed = replace(options, allowlist=(f"127.0.0.1:{port}",))
        files = ComposeGenerator().generate(allowed).files
        certs = tmp_path / "certs"
        ensure_ca(certs, common_name="test proxy CA")
        with run_generated_proxy(files, certs=certs) as proxy:
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy.url}))
            with opener.open(f"http://127.0.0.1:{port}/", timeout=10) as reply:
                assert reply.read() == b"hello"
            with pytest.raises(urllib.error.HTTPError) as refused:
                opener.open(f"http://127.0.0.1:{port + 1 if port < 65535 else port - 1}/")
            assert refused.value.code == 403
            assert "not in allowlist" in refused.value.read().decode()
            # The log daemon writes each file as its records come: wait for both.
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not all(
                _lines(proxy.logs / name) for name in ("requests.jsonl", "blocked.jsonl")
            ):
                time.sleep(0.1)
            allowed_log = [json.loads(line) for line in _lines(proxy.logs / "requests.jsonl")]
            blocked_log = [json.loads(line) for line in _lines(proxy.logs / "blocked.jsonl")]
    assert [(r["decision"], r["status"], r["mode"]) for r in allowed_log] == [
        ("allowed", 200, "http")
    ]
    assert [(r["decision"], r["reason"]) for r in blocked_log] == [("blocked", "not in allowlist")]


def _lines(path: Path) -> list[str]:
    """The whole lines written so far (none if the file is not there yet)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    return text.splitlines()[: text.count("\n")]


@contextlib.contextmanager
def _local_upstream() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()  # first: serve_forever would spin on a closed socket
        server.server_close()


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, *args: object) -> None:
        pass


def test_an_agent_sees_the_projects_git_at_its_path_and_only_its_own_worktree_metadata(
    options: EnvironmentOptions,
) -> None:
    plain = _compose(options)["services"]["app"]
    assert "devagent.agent" not in plain["labels"] and "tmpfs" not in str(plain["volumes"])
    agent = AgentGit("fix-login", "agent/fix-login", Path("/src/my app"), "0123456789ab",
                     ("config", "hooks", "info"))  # fmt: skip
    generated = ComposeGenerator().generate(replace(options, agent=agent)).files
    document = yaml.safe_load(generated["docker-compose.yml"])
    app, proxy = document["services"]["app"], document["services"]["proxy"]
    mounts = [m for m in app["volumes"] if isinstance(m, dict)]
    git = "/src/my app/.git"
    assert [(m["type"], m.get("source"), m["target"], m.get("read_only")) for m in mounts] == [
        ("bind", git, git, False),
        ("bind", f"{git}/config", f"{git}/config", True),
        ("bind", f"{git}/hooks", f"{git}/hooks", True),
        ("bind", f"{git}/info", f"{git}/info", True),
        ("tmpfs", None, f"{git}/worktrees", None),
        ("bind", f"{git}/worktrees/fix-login", f"{git}/worktrees/fix-login", False),
        ("bind", f"{git}/worktrees/fix-login/commondir", f"{git}/worktrees/fix-login/commondir",
         True),
        ("bind", f"{git}/worktrees/fix-login/gitdir", f"{git}/worktrees/fix-login/gitdir", True),
    ]  # fmt: skip
    for service in (app, proxy):
        assert service["labels"]["devagent.agent"] == "fix-login"
        assert service["labels"]["devagent.agent_branch"] == "agent/fix-login"
        assert service["labels"]["devagent.agent_of"] == "0123456789ab"
        assert service["labels"]["devagent.agent_project"] == "/src/my app"
    # Devagent's files are not the agent's work: git ignores them in its worktree.
    assert generated[".gitignore"].endswith(b"\n*\n") and ".gitignore" not in (
        ComposeGenerator().generate(options).files
    )
