"""squid's external ACL helper: every request and tunnel squid sees is decided here.

squid sends one line per question (``external_acl_type ... concurrency=N``): a channel
number, then the fields of ``ACL_FORMAT``, each URL-encoded, ``-`` when absent. The answer
is ``OK`` or ``ERR`` with key-value pairs that squid keeps as the transaction's notes:
the entry's mode and private flag steer ``ssl_bump`` and the address rules, ``log`` is the
reason written to the request log, ``message`` is shown on the 403 page, and
``clt_conn_tag`` remembers a tunnel's CONNECT target for the requests bumped inside it.

Phases (the ACL's argument): ``access`` for every request and CONNECT (``http_access``),
``sni`` at the second ssl_bump step of a tunnel entry (the ClientHello has been read).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import IO
from urllib.parse import unquote

from devagent.proxy.allowlist import Allowlist, AllowlistFile
from devagent.proxy.decision import NOT_ALLOWED, TUNNEL, Decision, decide

# (field, squid logformat code), in the order squid sends them. %DATA comes last. Every
# value is %-encoded with "%#", which encodes "%" too: squid's default for a host leaves "%"
# as it is, so a URL host "allowed%2etest" would be read here as "allowed.test".
ACL_FORMAT = (
    ("method", "%#>rm"),
    ("scheme", "%#>rs"),
    ("host", "%#>rd"),
    ("port", "%#>rP"),
    ("host_header", "%#>h{Host}"),
    ("sni", "%#ssl::>sni"),
    ("connect", "%#note{clt_conn_tag}"),
    ("phase", "%DATA"),
)
MODE_NOTE, PRIVATE_NOTE, REFUSED_NOTE = "devagent_mode", "devagent_private", "devagent_refused"
DECLINED = "declined by the user"  # a host the user said no to: not to be retried


def squid_field(raw: str) -> str | None:
    """One %-encoded value squid sent (to a helper or a log daemon); None for its "-"."""
    value = unquote(raw)
    return None if value in ("-", "") else value


def _connect(tag: str | None) -> tuple[str, int] | None:
    if tag is None:
        return None
    # Notes may hold several values (comma-separated); the last one set is the tunnel's.
    host, _, port = tag.split(",")[-1].rpartition(":")
    return (host.strip("[]"), int(port)) if port.isdigit() else None


def answer(
    line: str,
    allowlist: Allowlist,
    rules: Allowlist | None,
    allow_command: str,
    declined: frozenset[str] = frozenset(),
) -> str:
    """The reply (without channel number) to one helper line; ``declined``: the hosts the
    user said no to (their refusal says so)."""
    decision, port, connecting = _decide(line, allowlist, rules)
    if not decision.allowed:
        if decision.reason == NOT_ALLOWED and decision.host in declined:
            decision = decision._replace(reason=DECLINED)
        return _refuse(decision, port, allow_command)
    reply = _accept(decision)
    if connecting:
        host = f"[{decision.host}]" if ":" in decision.host else decision.host
        reply += f" clt_conn_tag={host}:{port}"
    return reply


def _decide(line: str, allowlist: Allowlist, rules: Allowlist | None) -> tuple[Decision, int, bool]:
    """The decision on one helper line, its port, and whether it is a CONNECT."""
    values = line.split()
    if len(values) != len(ACL_FORMAT):
        return Decision(False, "malformed helper query", "-"), 0, False
    fields = dict(zip((name for name, _ in ACL_FORMAT), map(squid_field, values), strict=True))
    method = fields["method"] or ""
    port_text = fields["port"] or ""
    port = int(port_text) if port_text.isdigit() else 0
    connecting = method == "CONNECT"
    if fields["phase"] == "sni":
        decision = decide(
            allowlist, target_host=fields["host"] or "", target_port=port, host_header=None,
            sni=fields["sni"], tunnel=True, rules=rules,
        )  # fmt: skip
        if decision.allowed and decision.mode != TUNNEL:
            decision = Decision(False, "not a tunnel entry", decision.host)
        return decision, port, False
    connect = None if connecting else _connect(fields["connect"])
    decision = decide(
        allowlist,
        target_host=fields["host"] or "",
        target_port=port,
        host_header=fields["host_header"],
        sni=None if connecting else fields["sni"],
        tunnel=connecting or connect is not None,
        connect=connect,
        rules=rules,
    )
    return decision, port, connecting


def _accept(decision: Decision) -> str:
    private = "yes" if decision.private else "no"
    return f"OK {MODE_NOTE}={decision.mode} {PRIVATE_NOTE}={private} log={_quoted(decision.reason)}"


def _refuse(decision: Decision, port: int, allow_command: str) -> str:
    message = blocked_message(decision, port, allow_command)
    return f"ERR message={_quoted(message)} log={_quoted(decision.reason)} {REFUSED_NOTE}=policy"


def blocked_message(decision: Decision, port: int, allow_command: str) -> str:
    if decision.reason == DECLINED:
        return (
            f"devagent: request to {decision.host} blocked by the sandbox proxy: the user "
            "declined this host. Do not retry it; do without it or ask the user."
        )
    fix = allow_command.format(host=decision.host)
    waiting = (
        " It is waiting for the user in `devagent inbox`; once approved, the same request "
        "passes (retry it then, nothing restarts)."
        if decision.reason == NOT_ALLOWED
        else ""
    )
    return (
        f"devagent: request to {decision.host}:{port} blocked by the sandbox proxy "
        f"({decision.reason}).{waiting} If this host is needed, ask the user to run on the "
        f"host: {fix}"
    )


def _quoted(text: str) -> str:
    # squid's helper value syntax: double quotes, backslash escapes, one line.
    cleaned = "".join(c if c.isprintable() else "?" for c in text)
    return '"' + cleaned.replace("\\", "\\\\").replace('"', '\\"') + '"'


def serve_helper(
    source: AllowlistFile,
    rules: Allowlist | None,
    allow_command: str,
    *,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    log_error: Callable[[str], None] | None = None,
) -> None:
    """Answer squid's questions until it closes the pipe."""
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    for line in stdin:
        channel, _, query = line.rstrip("\n").partition(" ")
        try:
            reply = answer(query, source.current(), rules, allow_command, source.declined)
        except Exception as exc:  # Fail closed: an error while deciding refuses.
            reason = _quoted(f"internal error: {type(exc).__name__}")
            reply = f"ERR log={reason} {REFUSED_NOTE}=policy"
            if log_error is not None:
                log_error(f"devagent helper: {exc!r} on {query!r}")
        stdout.write(f"{channel} {reply}\n")
        stdout.flush()
