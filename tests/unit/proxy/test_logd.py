from __future__ import annotations

import io
import json
from pathlib import Path

from devagent.proxy.logd import LOG_FORMAT, parse_log_line, serve_logd
from devagent.proxy.records import PRIVATE_ADDRESS


def line(**fields: str) -> str:
    values = {name: "-" for name, _ in LOG_FORMAT} | {"time": "1796188506.762"} | fields
    return " ".join(values[name] for name, _ in LOG_FORMAT)


def test_an_allowed_request() -> None:
    record = parse_log_line(
        line(
            method="GET",
            scheme="http",
            host="allowed.test",
            port="80",
            path="/a%3Ftoken%3Dx",
            status="200",
            squid_status="TCP_MISS",
            bytes="12",
            duration_ms="3",
            reason="allowlisted",
            mode="http",
        )
    )
    assert record is not None
    assert (record["decision"], record["status"], record["path"], record["mode"]) == (
        "allowed",
        200,
        "/a",
        "http",
    )


def test_refusals_by_the_helper_by_address_and_by_a_terminated_handshake_are_blocked() -> None:
    helper = parse_log_line(
        line(
            method="GET",
            host="x.test",
            squid_status="TCP_DENIED",
            error="ERR_DEVAGENT_BLOCKED",
            reason="not%20in%20allowlist",
        )
    )
    assert helper is not None and (helper["decision"], helper["reason"]) == (
        "blocked",
        "not in allowlist",
    )
    address = parse_log_line(
        line(
            method="GET",
            host="c.test",
            squid_status="TCP_DENIED",
            refused="private",
            reason="allowlisted",
        )
    )
    assert address is not None and address["reason"] == PRIVATE_ADDRESS
    terminated = parse_log_line(
        line(
            method="CONNECT",
            host="pinned.test",
            port="443",
            squid_status="NONE_NONE",
            bump="terminate",
            sni="other.test",
            reason="TLS%20SNI%20differs",
        )
    )
    assert terminated is not None and terminated["decision"] == "blocked"
    assert terminated["sni"] == "other.test"


def test_upstream_failures_are_errors_with_their_reason() -> None:
    record = parse_log_line(
        line(
            method="GET",
            host="a.test",
            status="503",
            squid_status="TCP_MISS",
            error="ERR_CONNECT_FAIL",
            error_detail="WITH_SERVER",
            reason="allowlisted",
        )
    )
    assert record is not None and record["decision"] == "error"
    assert "connection to the server failed" in str(record["error"])


def test_a_tunnel_is_logged_once_when_it_closes_and_health_checks_not_at_all() -> None:
    opening = line(method="CONNECT", host="p.test", squid_status="NONE_NONE", bump="splice")
    assert parse_log_line(opening) is None
    closing = parse_log_line(
        line(
            method="CONNECT",
            host="p.test",
            port="443",
            status="200",
            squid_status="TCP_TUNNEL",
            bump="splice",
            bytes="1470",
            mode="tunnel",
        )
    )
    assert closing is not None and closing["reason"] == "tunnel" and closing["bytes"] == 1470
    assert parse_log_line(line(squid_status="NONE_NONE")) is None  # no request at all


def test_control_characters_from_a_request_are_escaped(tmp_path: Path) -> None:
    hostile = line(
        method="GET",
        host="a.test",
        path="/%1B%5B31mred%0Aline",
        status="403",
        squid_status="TCP_DENIED",
        reason="not%20in%20allowlist",
    )
    serve_logd(tmp_path / "squid", stdin=io.StringIO("L" + hostile + "\nR\n"))
    (record,) = [json.loads(text) for text in (tmp_path / "blocked.jsonl").open()]
    assert record["path"] == "/\\x1b[31mred\\x0aline"


def test_a_request_squid_cannot_read_is_a_refusal() -> None:
    record = parse_log_line(line(status="400", squid_status="NONE_NONE", error="ERR_INVALID_REQ"))
    assert record is not None and record["decision"] == "blocked"
    assert "cannot read" in str(record["reason"])


def test_a_connection_that_asked_nothing_is_not_logged() -> None:
    assert parse_log_line(line(status="000", squid_status="NONE_NONE")) is None
