from __future__ import annotations

import pytest

from devagent.proxy.allowlist import Allowlist
from devagent.proxy.decision import HTTP, INSPECT, RULES, TUNNEL, address_refusal, decide

ALLOW = Allowlist.parse(["allowed.test", "pinned.test tunnel", "corp.test private"])


def _decide(host: str, **kw: object) -> object:
    args: dict[str, object] = {"target_port": 443, "host_header": None, "sni": None, "tunnel": True}
    return decide(ALLOW, target_host=host, **(args | kw))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("host", "kw", "mode"),
    [
        ("allowed.test", {}, INSPECT),
        ("pinned.test", {}, TUNNEL),
        ("allowed.test", {"tunnel": False, "target_port": 80}, HTTP),
        ("allowed.test", {"rules": Allowlist.parse(["allowed.test"])}, RULES),
    ],
)
def test_an_allowed_destination_gets_its_entrys_mode(
    host: str, kw: dict[str, object], mode: str
) -> None:
    decision = _decide(host, **kw)
    assert decision.allowed and decision.mode == mode  # type: ignore[attr-defined]


def test_every_name_must_agree_with_the_tunnels_connect_target() -> None:
    ok = _decide("allowed.test", sni="allowed.test", connect=("allowed.test", 443))
    assert ok.allowed  # type: ignore[attr-defined]
    other = _decide(
        "pinned.test", sni="pinned.test", host_header="pinned.test", connect=("allowed.test", 443)
    )
    assert not other.allowed and "CONNECT host" in other.reason  # type: ignore[attr-defined]
    port = _decide("allowed.test", target_port=8443, connect=("allowed.test", 443))
    assert not port.allowed and "port" in port.reason  # type: ignore[attr-defined]


def test_the_private_flag_comes_from_the_entry() -> None:
    assert _decide("corp.test").private  # type: ignore[attr-defined]
    assert not _decide("allowed.test").private  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("address", "private_ok", "refused"),
    [
        ("127.0.0.1", True, "loopback"),
        ("::1", True, "loopback"),
        ("::ffff:127.0.0.1", True, "loopback"),  # IPv4-mapped: the same address
        ("169.254.169.254", True, "link-local"),
        ("fd00:ec2::254", True, "link-local"),  # cloud metadata, although in fc00::/7
        ("0.0.0.0", True, "reserved"),
        ("224.0.0.1", True, "multicast"),
        ("10.1.2.3", False, "private"),
        ("100.64.0.1", False, "private"),
        ("fd12::1", False, "private"),
        ("10.1.2.3", True, ""),
        ("93.184.216.34", False, ""),
        ("172.20.0.5", True, ""),
    ],
)
def test_address_policy(address: str, private_ok: bool, refused: str) -> None:
    reason = address_refusal(address, private_ok=private_ok)
    assert (refused in reason) if refused else reason == ""


def test_the_proxys_own_address_is_refused_even_when_private_is_allowed() -> None:
    assert "own" in address_refusal("172.20.0.5", private_ok=True, own=frozenset({"172.20.0.5"}))


def test_plain_http_to_a_host_with_rules_is_refused() -> None:
    """Credentials and the GitHub policies act inside TLS: plain HTTP would go around them."""
    rules = Allowlist.parse(["allowed.test"])
    plain = _decide("allowed.test", tunnel=False, target_port=80, rules=rules)
    assert not plain.allowed and "use HTTPS" in plain.reason  # type: ignore[attr-defined]
    assert _decide("allowed.test", tunnel=False, target_port=80).allowed  # type: ignore[attr-defined]
