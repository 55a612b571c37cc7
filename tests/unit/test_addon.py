from __future__ import annotations

import json
from pathlib import Path

import pytest
from mitmproxy.test import taddons, tflow, tutils

from devagent.proxy.addon import Filter, RequestLog, decide
from devagent.proxy.allowlist import Allowlist

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
    flow.client_conn.timestamp_tls_setup = None  # a plain-HTTP client connection
    flow.client_conn.sni = None
    if host_header is not None:
        flow.request.headers["Host"] = host_header
    return flow


@pytest.fixture
def addon(tmp_path: Path) -> Filter:
    return Filter(ALLOW, RequestLog(tmp_path / "requests.jsonl"))


def test_blocked_request_gets_403_naming_host_and_fix(addon: Filter, tmp_path: Path) -> None:
    with taddons.context(addon):
        flow = _flow("http://blocked.test/secret?token=abc")
        addon.requestheaders(flow)
        assert flow.response is not None and flow.response.status_code == 403
        body = flow.response.get_text()
        assert "blocked.test" in body and "devagent allow blocked.test" in body
        addon.response(flow)
    record = json.loads((tmp_path / "requests.jsonl").read_text())
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
    record = json.loads((tmp_path / "requests.jsonl").read_text())
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
