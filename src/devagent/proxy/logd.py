"""squid's log daemon: each line squid logs becomes one devagent request-log record.

squid starts this program (``logfile_daemon``) and writes to its stdin one command per
line: ``L`` followed by a log line in ``LOG_FORMAT`` (every field URL-encoded, ``-`` when
absent), or ``R``/``T``/``O``/``F``/``r``/``b`` for rotation, truncation, reopening,
flushing and buffering, which this daemon does its own way (see ``records.LogFile``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Any

from devagent.proxy.helper import squid_field
from devagent.proxy.records import (
    ALLOWED,
    BLOCKED,
    ERROR,
    PRIVATE_ADDRESS,
    PROBE,
    PROBE_HOST,
    RequestLog,
    record,
)

# (field, squid logformat code), space-separated in this order.
LOG_FORMAT = (
    ("time", "%ts.%03tu"),
    ("method", "%>rm"),
    ("scheme", "%>rs"),
    ("host", "%>rd"),
    ("port", "%>rP"),
    ("path", "%>rp"),
    ("status", "%>Hs"),
    ("squid_status", "%Ss"),
    ("error", "%err_code"),
    ("error_detail", "%err_detail"),
    ("bytes", "%<st"),
    ("duration_ms", "%tr"),
    ("bump", "%ssl::bump_mode"),
    ("sni", "%ssl::>sni"),
    ("reason", "%ea"),
    ("mode", "%note{devagent_mode}"),
    ("refused", "%note{devagent_refused}"),
)
# Refusals that squid itself decides (the address rules), named by the note on their rule.
REFUSALS = {
    "never": "the name resolves to a loopback, link-local or other never-reached address",
    "private": PRIVATE_ADDRESS,
    "own": "the name resolves to the proxy's own address",
    "limits": "over the proxy's limits",
    "protocol": "not TLS in a tunnel, or a TLS handshake the entry does not allow",
}
_UPSTREAM_ERRORS = {
    "ERR_DNS_FAIL": "name did not resolve",
    "ERR_CONNECT_FAIL": "connection to the server failed",
    "ERR_READ_TIMEOUT": "the server did not answer in time",
    "ERR_SECURE_CONNECT_FAIL": "TLS with the server failed (certificate not trusted?)",
    "ERR_ZERO_SIZE_OBJECT": "the server closed without answering",
    "ERR_READ_ERROR": "reading from the server failed",
    "ERR_WRITE_ERROR": "writing to the server failed",
}


# squid's answers to requests it could not parse or will not take (too big, not HTTP).
_MALFORMED = ("ERR_INVALID", "ERR_TOO_BIG", "ERR_UNSUP", "ERR_PROTOCOL_UNKNOWN", "ERR_REQUEST")


def _number(text: str | None) -> int | None:
    return int(text) if text is not None and text.isdigit() else None


def parse_log_line(line: str) -> dict[str, Any] | None:
    """The record for one of squid's log lines (None for a line that says nothing new)."""
    values = line.split()
    if len(values) != len(LOG_FORMAT):
        return None
    fields = dict(zip((name for name, _ in LOG_FORMAT), map(squid_field, values), strict=True))
    squid_status = fields["squid_status"] or ""
    if fields["method"] is None and not _number(fields["status"]):
        return None  # a connection closed before it asked anything (the health check)
    if fields["method"] == "CONNECT" and fields["bump"] == "splice" and squid_status == "NONE_NONE":
        return None  # a tunnel being spliced: its record comes when it closes, with its bytes
    error, refused = fields["error"], fields["refused"]
    status = _number(fields["status"])
    reason = fields["reason"] or ""
    denied = (
        squid_status.startswith("TCP_DENIED")
        or (error or "").startswith(("ERR_ACCESS_DENIED", "ERR_DEVAGENT"))
        or fields["bump"] == "terminate"
    )
    malformed = (error or "").startswith(_MALFORMED)
    if malformed:
        reason = f"a request the proxy cannot read ({error})"
    if fields["host"] == PROBE_HOST:
        decision, reason, error = PROBE, "devagent verify's probe", None
    elif denied or refused or malformed:
        decision = BLOCKED
        reason = REFUSALS.get(refused or "", reason) or "refused"
        error = None
    elif error is not None or (status is not None and status >= 500 and not reason):
        decision = ERROR
        detail = fields["error_detail"]
        text = _UPSTREAM_ERRORS.get(error or "", error or f"status {status}")
        error = f"{text} ({error}{', ' + detail if detail else ''})" if error else text
        reason = reason or "allowlisted"
    else:
        decision = ALLOWED
    if fields["bump"] == "splice" and decision == ALLOWED:
        reason = "tunnel"
    method = fields["method"] or "-"
    time_text = fields["time"] or "0"
    return record(
        decision=decision,
        reason=reason,
        method=method,
        scheme="https" if method == "CONNECT" else (fields["scheme"] or "-"),
        host=fields["host"] or "-",
        port=_number(fields["port"]),
        path=fields["path"] if method != "CONNECT" and fields["path"] else "",
        status=status,
        size=_number(fields["bytes"]),
        duration_ms=float(_number(fields["duration_ms"]) or 0),
        error=error,
        mode=fields["mode"] or "",
        sni=fields["sni"] or "",
        when=float(time_text) if time_text.replace(".", "", 1).isdigit() else None,
    )


def serve_logd(log_path: Path, *, stdin: IO[str] | None = None) -> None:
    """Read squid's commands until it closes the pipe; ``log_path`` names the log directory."""
    log = RequestLog(log_path.parent)
    for line in stdin or sys.stdin:
        if not line.startswith("L"):
            continue  # rotation and buffering commands: records.LogFile rotates by size
        entry = parse_log_line(line[1:])
        if entry is not None:
            log.write(entry)
