from __future__ import annotations

import json
from pathlib import Path

import pytest
from mitmproxy import http
from mitmproxy.test import taddons, tflow, tutils

from devagent.proxy.addon import Filter
from devagent.proxy.allowlist import Allowlist
from devagent.proxy.credentials import Binding, Keyring
from devagent.proxy.decision import decide
from devagent.proxy.records import RequestLog
from devagent.proxy.rules import Rules

ALLOW = Allowlist.parse(["allowed.test", "*.wild.test"])


@pytest.mark.parametrize(
    ("target", "host_header", "sni", "allowed", "reason"),
    [
        ("allowed.test", "allowed.test", None, True, "allowlisted"),
        ("allowed.test", "ALLOWED.test.:80", None, True, "allowlisted"),
        ("allowed.test", "blocked.test", None, False, "Host header"),
        ("blocked.test", "allowed.test", None, False, "Host header"),
        ("allowed.test", "allowed.test", "blocked.test", False, "TLS SNI"),
        ("allowed.test", "allowed.test", "allowed.test", True, "allowlisted"),
        ("blocked.test", "blocked.test", None, False, "not in allowlist"),
        ("10.0.0.1", "10.0.0.1", None, False, "not in allowlist"),
        ("allowed.test", "allowed.test@evil.test", None, False, "invalid Host"),
    ],
)
def test_decide(target: str, host_header: str, sni: str | None, allowed: bool, reason: str) -> None:
    decision = decide(
        ALLOW, target_host=target, target_port=80, host_header=host_header, sni=sni, tunnel=False
    )
    assert decision.allowed is allowed
    assert reason in decision.reason


def _flow(url: str, *, host_header: str | None = None):  # type: ignore[no-untyped-def]
    flow = tflow.tflow(req=tutils.treq())
    flow.request.url = url
    flow.request.content = b""  # no body: a refusal is answered at the headers
    flow.client_conn.timestamp_tls_setup = None  # a plain-HTTP client connection
    flow.client_conn.sni = None
    if host_header is not None:
        flow.request.headers["Host"] = host_header
    return flow


@pytest.fixture
def addon(tmp_path: Path) -> Filter:
    return Filter(ALLOW, RequestLog(tmp_path))


def test_blocked_request_gets_403_naming_host_and_fix(addon: Filter, tmp_path: Path) -> None:
    with taddons.context(addon):
        flow = _flow("http://blocked.test/secret?token=abc")
        addon.requestheaders(flow)
        assert flow.response is not None and flow.response.status_code == 403
        body = flow.response.get_text()
        assert "blocked.test" in body and "devagent allow blocked.test" in body
        addon.response(flow)
    record = json.loads((tmp_path / "rules.jsonl").read_text())
    assert record["decision"] == "blocked"
    assert record["path"] == "/secret"  # query string stripped
    assert "abc" not in json.dumps(record)


def test_allowed_request_streams_and_is_logged(addon: Filter, tmp_path: Path) -> None:
    with taddons.context(addon):
        flow = _flow("http://allowed.test/x")
        addon.requestheaders(flow)
        assert flow.response is None and flow.request.stream is True
        flow.response = tutils.tresp(content=b"12345")
        addon.responseheaders(flow)
        assert callable(flow.response.stream)
        addon.response(flow)
    record = json.loads((tmp_path / "rules.jsonl").read_text())
    assert record["decision"] == "allowed" and record["status"] == 200


def test_spoofed_host_header_is_refused(addon: Filter) -> None:
    with taddons.context(addon):
        flow = _flow("http://allowed.test/", host_header="blocked.test")
        addon.requestheaders(flow)
        assert flow.response is not None and flow.response.status_code == 403


def test_connect_to_unlisted_host_or_port_is_refused(addon: Filter) -> None:
    with taddons.context(addon):
        for authority, status in (("blocked.test", 403), ("allowed.test:22", 403)):
            host, _, port = authority.partition(":")
            request = tutils.treq(
                method=b"CONNECT",
                host=host,
                port=int(port or 443),
                path=b"",
                authority=authority.encode(),
            )
            flow = tflow.tflow(req=request)
            addon.http_connect(flow)
            assert flow.response is not None and flow.response.status_code == status
        ok = tflow.tflow(req=tutils.treq(method=b"CONNECT", host="a.wild.test", port=443, path=b""))
        addon.http_connect(ok)
        assert ok.response is None


def test_an_error_while_deciding_blocks(tmp_path: Path) -> None:
    class Broken(Allowlist):
        def allows(self, host: str, port: int, *, tunnel: bool = False) -> bool:
            raise RuntimeError("boom")

    addon = Filter(Broken([]), RequestLog(None))
    with taddons.context(addon):
        flow = _flow("http://allowed.test/")
        addon.requestheaders(flow)
    assert flow.response is not None and flow.response.status_code == 403
    assert "internal error" in flow.response.headers["X-Devagent-Blocked"]


def test_intercepted_tls_request_must_match_its_sni(addon: Filter) -> None:
    with taddons.context(addon):
        flow = tflow.tflow(req=tutils.treq(host="allowed.test", port=443))
        flow.request.content = b""
        flow.request.scheme = "https"
        flow.request.headers["Host"] = "allowed.test"
        flow.client_conn.sni = "blocked.test"
        addon.requestheaders(flow)
        assert (
            flow.response is not None and "TLS SNI" in flow.response.headers["X-Devagent-Blocked"]
        )
        flow.response = None
        flow.client_conn.sni = "allowed.test"
        addon.requestheaders(flow)
        assert flow.response is None


def test_a_request_inside_a_tunnel_must_name_the_tunnels_host(addon: Filter) -> None:
    """CONNECT allowed.test, then an absolute-form URL (or an HTTP/2 :authority) for another
    host inside it: refused, whatever the Host header says."""
    with taddons.context(addon):
        connect = tflow.tflow(req=tutils.treq(method=b"CONNECT", host="allowed.test", port=443,
                                              path=b""))  # fmt: skip
        addon.http_connect(connect)
        assert connect.response is None
        # Even an agent that sends the other host's SNI and Host: the tunnel is allowed.test's.
        connect.client_conn.sni = "a.wild.test"
        inner = tflow.tflow(client_conn=connect.client_conn, req=tutils.treq())
        inner.request.content = b""
        inner.request.url = "https://a.wild.test/"
        inner.request.headers["Host"] = "a.wild.test"
        addon.requestheaders(inner)
        assert inner.response is not None and inner.response.status_code == 403
        assert "CONNECT host" in inner.response.headers["X-Devagent-Blocked"]
        connect.client_conn.sni = "allowed.test"
        same = tflow.tflow(client_conn=connect.client_conn, req=tutils.treq())
        same.request.content = b""
        same.request.url = "https://allowed.test/"
        same.request.headers["Host"] = "allowed.test"
        addon.requestheaders(same)
        assert same.response is None


def _server(host: str, port: int):  # type: ignore[no-untyped-def]
    from types import SimpleNamespace

    return SimpleNamespace(server=SimpleNamespace(address=(host, port), error=None))


@pytest.mark.parametrize(
    ("entries", "host", "refused"),
    [
        (["localhost"], "localhost", "loopback"),
        (["127.0.0.1"], "127.0.0.1", "loopback"),
        (["169.254.169.254"], "169.254.169.254", "link-local"),
        (["10.1.2.3"], "10.1.2.3", "private address"),
        (["10.1.2.3 private"], "10.1.2.3", None),
        (["8.8.8.8"], "8.8.8.8", None),
    ],
)
def test_the_server_address_is_checked(
    tmp_path: Path, entries: list[str], host: str, refused: str | None
) -> None:
    import asyncio

    addon = Filter(Allowlist.parse(entries), RequestLog(None))
    data = _server(host, 443)
    asyncio.run(addon.server_connect(data))  # type: ignore[arg-type]
    if refused is None:
        assert data.server.error is None
    else:
        assert refused in data.server.error


def _ruled(tmp_path: Path, keyring: Keyring | None = None) -> Filter:
    return Filter(
        Allowlist.parse(["api.github.test", "allowed.test"]),
        RequestLog(tmp_path),
        rules=Rules(keyring or Keyring(()), Allowlist.parse(["api.github.test"])),
    )


def _request(method: str, url: str, body: bytes = b""):  # type: ignore[no-untyped-def]
    flow = _flow(url)
    flow.request.method = method
    flow.request.content = body
    return flow


def test_rest_merge_is_refused_on_github_hosts_only(tmp_path: Path) -> None:
    addon = _ruled(tmp_path)
    with taddons.context(addon):
        merge = _request("PUT", "https://api.github.test/repos/o/r/pulls/1/merge")
        addon.requestheaders(merge)
        assert merge.response is not None and merge.response.status_code == 403
        assert "Do not retry" in merge.response.get_text()
        elsewhere = _request("PUT", "https://allowed.test/repos/o/r/pulls/1/merge")
        addon.requestheaders(elsewhere)
        assert elsewhere.response is None  # not a GitHub host: an ordinary request
        comment = _request("POST", "https://api.github.test/repos/o/r/issues/1/comments")
        addon.requestheaders(comment)
        assert comment.response is None and comment.request.stream is True


@pytest.mark.parametrize(
    ("body", "refused"),
    [
        (
            b'{"query": "mutation { mergePullRequest(input: {pullRequestId: \\"x\\"}) { x } }"}',
            True,
        ),
        (b'{"query": "mutation { enablePullRequestAutoMerge(input: {}) { x } }"}', True),
        (b'{"query": "query { viewer { login } }"}', False),
    ],
)
def test_graphql_bodies_are_read_and_merges_refused(
    tmp_path: Path, body: bytes, refused: bool
) -> None:
    addon = _ruled(tmp_path)
    with taddons.context(addon):
        flow = _request("POST", "https://api.github.test/graphql", body)
        addon.requestheaders(flow)
        assert flow.response is None and flow.request.stream is False  # the body is read
        addon.request(flow)
    assert (flow.response is not None) is refused
    if refused:
        assert flow.response is not None and flow.response.status_code == 403
        assert "mutation" in flow.response.headers["X-Devagent-Blocked"]


def test_bodies_are_streamed_off_github_hosts(addon: Filter) -> None:
    with taddons.context(addon):
        flow = _request("POST", "https://allowed.test/graphql", b"mergePullRequest")
        addon.requestheaders(flow)
        addon.request(flow)
        assert flow.response is None and flow.request.stream is True


def _keyring(tmp_path: Path, value: str) -> Keyring:
    (tmp_path / "github").write_text(value + "\n")
    return Keyring(
        (Binding("github", "github", Allowlist.parse(["api.github.test"]), tmp_path / "github"),)
    )


def test_the_credential_is_put_on_the_wire_on_its_hosts_and_logged_by_name(
    tmp_path: Path,
) -> None:
    addon = _ruled(tmp_path, _keyring(tmp_path, "ghp_real_value_123"))
    with taddons.context(addon):
        flow = _request("GET", "https://api.github.test/user")
        flow.request.headers["Authorization"] = "token ghp_placeholder"
        addon.requestheaders(flow)
        assert flow.request.headers["Authorization"] == "Bearer ghp_real_value_123"
        flow.response = tutils.tresp()
        addon.response(flow)
        other = _request("GET", "https://allowed.test/user")
        other.request.headers["Authorization"] = "token ghp_placeholder"
        addon.requestheaders(other)
        assert other.request.headers["Authorization"] == "token ghp_placeholder"
    record = json.loads((tmp_path / "rules.jsonl").read_text().splitlines()[0])
    assert record["credential"] == "github"
    assert "ghp_real_value_123" not in (tmp_path / "rules.jsonl").read_text()


def test_a_request_carrying_the_real_value_is_refused(tmp_path: Path) -> None:
    addon = _ruled(tmp_path, _keyring(tmp_path, "ghp_real_value_123"))
    with taddons.context(addon):
        flow = _request("GET", "https://allowed.test/?leak=ghp_real_value_123")
        addon.requestheaders(flow)
        assert flow.response is not None and flow.response.status_code == 403
        addon.response(flow)
    logged = (tmp_path / "rules.jsonl").read_text()
    record = json.loads(logged)
    assert record["decision"] == "blocked" and "real value" in record["reason"]
    assert record["credential"] == "github" and "ghp_real_value_123" not in logged


def test_a_refusal_of_a_request_with_a_body_waits_for_the_body(addon: Filter) -> None:
    """Answering at the headers left the client hanging with its body unsent (mitmproxy 11):
    the body is read (and sent nowhere), then the refusal answers."""
    with taddons.context(addon):
        flow = _request("POST", "http://blocked.test/upload", b"{}")
        addon.requestheaders(flow)
        assert flow.response is None and flow.request.stream is False
        addon.request(flow)
        assert flow.response is not None and flow.response.status_code == 403


def test_streamed_replies_on_a_credentials_host_pass_unbuffered(tmp_path: Path) -> None:
    (tmp_path / "claude").write_text("sk-ant-oat01-real\n")
    hosts = Allowlist.parse(["api.anthropic.test"])
    keyring = Keyring((Binding("claude", "anthropic", hosts, tmp_path / "claude"),))
    addon = Filter(
        Allowlist.parse(["api.anthropic.test"]), RequestLog(tmp_path), rules=Rules(keyring)
    )
    with taddons.context(addon):
        flow = _request("POST", "https://api.anthropic.test/v1/messages")
        addon.requestheaders(flow)
        assert flow.request.headers["authorization"] == "Bearer sk-ant-oat01-real"
        flow.response = tutils.tresp(headers=http.Headers(content_type="text/event-stream"))
        addon.responseheaders(flow)
        assert callable(flow.response.stream)  # chunks go on as they come
        scope = _request("GET", "https://api.anthropic.test/api/oauth/profile")
        addon.requestheaders(scope)
        scope.response = tutils.tresp(status_code=403)
        addon.responseheaders(scope)
        assert scope.response.stream is False  # read whole: answered with an empty 200
        addon.response(scope)
        assert scope.response.status_code == 200 and scope.response.content == b"{}"
