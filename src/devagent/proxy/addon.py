"""The mitmproxy addon for the hosts whose rules read requests (credentials, GitHub).

squid (see ``devagent.proxy.squid_config``) hands these hosts' tunnels, untouched, to a
mitmproxy on loopback that runs this addon (``filter.py mitm``). It decides every request
inside the tunnel again with the same ``decide`` as squid's helper: the tunnel's CONNECT
target, the URL (absolute-form and HTTP/2 ``:authority`` included), the ``Host`` header and
the SNI must agree; the address the name resolves to is checked like squid checks it; raw
TCP is never relayed (``rawtcp`` off). Any error while deciding blocks. What the allowlist
lets through then meets the rules (``devagent.proxy.rules``): credentials put on the wire,
pushes and GitHub API writes read. Bodies are streamed, but for the few the rules read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mitmproxy import http
from mitmproxy.proxy import server_hooks

from devagent.proxy.allowlist import Allowlist, AllowlistFile, normalize_host
from devagent.proxy.decision import (
    NEVER,
    NEVER_NETWORKS,
    PRIVATE,
    PRIVATE_NETWORKS,
    Decision,
    Networks,
    address_refusal,
    decide,
    networks,
)
from devagent.proxy.helper import blocked_message
from devagent.proxy.records import BLOCKED, ERROR, RULES_LOG, RequestLog, record
from devagent.proxy.rules import CREDENTIAL, Rules, refuse


def blocked_body(decision: Decision, port: int, allow_command: str) -> bytes:
    return (blocked_message(decision, port, allow_command) + "\n").encode()


class _ByteCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, chunk: bytes) -> bytes:
        self.count += len(chunk)
        return chunk


class Filter:
    """mitmproxy addon: the same decisions as squid's helper, then the rules; logging."""

    def __init__(
        self,
        allowlist: Allowlist | AllowlistFile,
        log: RequestLog,
        *,
        allow_command: str = "devagent allow {host}",
        rules: Rules | None = None,
        own_addresses: frozenset[str] = frozenset(),
        never: Networks = NEVER,
        private: Networks = PRIVATE,
    ) -> None:
        self._allowlist = allowlist
        self.log = log
        self.allow_command = allow_command
        self.rules = rules
        self.own_addresses = own_addresses
        self.never, self.private = never, private
        # Each client connection's CONNECT target: every request inside must name it.
        self._tunnels: dict[str, tuple[str, int]] = {}

    @property
    def allowlist(self) -> Allowlist:
        """The allowlist in force now (a file's is re-read when it changed)."""
        source = self._allowlist
        return source.current() if isinstance(source, AllowlistFile) else source

    def http_connect(self, flow: http.HTTPFlow) -> None:
        self._guard(flow, self._check_connect)
        if flow.response is None:
            self._tunnels[flow.client_conn.id] = (flow.request.host, flow.request.port)

    def client_disconnected(self, client: Any) -> None:
        self._tunnels.pop(client.id, None)

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        self._guard(flow, self._check_request)
        if flow.response is None and self.rules is not None:
            self._apply(flow, self.rules.request_headers)
        if flow.response is not None and _has_body(flow.request):
            # Answering before the body is read leaves the client waiting to send it
            # (mitmproxy 11): read it (nothing goes upstream), then answer.
            flow.metadata[_DEFERRED] = flow.response
            flow.response = None
            flow.request.stream = False

    def request(self, flow: http.HTTPFlow) -> None:
        deferred = flow.metadata.pop(_DEFERRED, None)
        if deferred is not None:
            flow.response = deferred
        elif flow.response is None and self.rules is not None:
            self._apply(flow, self.rules.request_body)

    async def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        """Refuse a server whose name resolves where the sandbox must not go."""
        address = data.server.address
        if address is None:
            return
        try:
            host = normalize_host(address[0])
            private_ok = self.allowlist.may_be_private(host, address[1], tunnel=True)
            loop = asyncio.get_running_loop()
            answers = await loop.getaddrinfo(host, address[1])
            reasons = [
                address_refusal(
                    str(info[4][0]),
                    private_ok=private_ok,
                    own=self.own_addresses,
                    never=self.never,
                    private=self.private,
                )
                for info in answers
            ]
            refusal = next((reason for reason in reasons if reason), "")
        except Exception as exc:  # Fail closed.
            refusal = f"cannot check the server's address: {exc}"
        if refusal:
            data.server.error = f"devagent: {refusal}"

    def _apply(self, flow: http.HTTPFlow, rule: Callable[[http.HTTPFlow], None]) -> None:
        try:
            rule(flow)
        except Exception as exc:  # Fail closed: a rule that fails refuses the request.
            reason = f"internal error in the rules: {type(exc).__name__}"
            refuse(flow, reason, f"devagent: {reason}\n")

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        if flow.response is None:
            return
        if self.rules is not None and self.rules.reads_response(flow):
            return  # buffered: the rules may answer in its place
        counter = _ByteCounter()
        flow.metadata["devagent.bytes"] = counter
        flow.response.stream = counter

    def response(self, flow: http.HTTPFlow) -> None:
        if self.rules is not None:
            self.rules.response(flow)
        if flow.request.method != "CONNECT" or flow.metadata.get("devagent.blocked"):
            self._record(flow, error=None)

    def error(self, flow: http.HTTPFlow) -> None:
        self._record(flow, error=str(flow.error) if flow.error else "error")

    def _guard(self, flow: http.HTTPFlow, check: Callable[[http.HTTPFlow], Decision]) -> None:
        flow.metadata["devagent.start"] = time.monotonic()
        try:
            decision = check(flow)
        except Exception as exc:  # Fail closed: an addon bug must block, not allow.
            decision = Decision(False, f"internal error: {type(exc).__name__}", flow.request.host)
        flow.metadata["devagent.reason"] = decision.reason
        if decision.allowed:
            if flow.request.method != "CONNECT":
                flow.request.stream = True
            return
        flow.metadata["devagent.blocked"] = True
        flow.response = http.Response.make(
            403,
            blocked_body(decision, flow.request.port, self.allow_command),
            {"Content-Type": "text/plain; charset=utf-8", "X-Devagent-Blocked": decision.reason},
        )

    def _check_connect(self, flow: http.HTTPFlow) -> Decision:
        return decide(
            self.allowlist,
            target_host=flow.request.host,
            target_port=flow.request.port,
            host_header=None,
            sni=None,
            tunnel=True,
        )

    def _check_request(self, flow: http.HTTPFlow) -> Decision:
        tls = flow.client_conn.tls_established
        connect = self._tunnels.get(flow.client_conn.id)
        return decide(
            self.allowlist,
            target_host=flow.request.host,
            target_port=flow.request.port,
            # HTTP/2 has no Host header: its :authority (the URL's host) stands for it.
            host_header=flow.request.host_header,
            sni=flow.client_conn.sni if tls else None,
            tunnel=tls or connect is not None,
            connect=connect,
        )

    def _record(self, flow: http.HTTPFlow, *, error: str | None) -> None:
        start = flow.metadata.get("devagent.start", time.monotonic())
        blocked = bool(flow.metadata.get("devagent.blocked"))
        self.log.write(
            record(
                decision=BLOCKED if blocked else (ERROR if error else "allowed"),
                reason=flow.metadata.get("devagent.reason", "") or (error or ""),
                method=flow.request.method,
                scheme=flow.request.scheme,
                host=flow.request.host,
                port=flow.request.port,
                path=flow.request.path,
                status=flow.response.status_code if flow.response else None,
                size=_response_bytes(flow),
                duration_ms=round((time.monotonic() - start) * 1000, 1),
                error=error,
                mode="rules",
                sni=flow.client_conn.sni or "",
                credential=flow.metadata.get(CREDENTIAL, ""),
            ),
            name=RULES_LOG,
        )


_DEFERRED = "devagent.deferred-response"


def _has_body(request: http.Request) -> bool:
    length = request.headers.get("content-length", "0").strip()
    return "transfer-encoding" in request.headers or (length not in ("", "0"))


def _response_bytes(flow: http.HTTPFlow) -> int:
    # Small bodies that arrive with their headers are never streamed; count both ways.
    counter = flow.metadata.get("devagent.bytes")
    streamed = counter.count if isinstance(counter, _ByteCounter) else 0
    buffered = flow.response.raw_content if flow.response is not None else None
    return streamed + len(buffered or b"")


def load_policy(policy: dict[str, Any]) -> Filter:
    """Build the addon from the policy baked into ``filter.py``."""
    log_dir = policy.get("log_dir")
    own = Path(policy["runtime_dir"], "own-addresses") if policy.get("runtime_dir") else None
    return Filter(
        AllowlistFile(Path(policy["allowlist_path"])),
        RequestLog(Path(log_dir) if log_dir else None),
        allow_command=policy.get("allow_command", "devagent allow {host}"),
        rules=Rules.from_policy(policy),
        own_addresses=frozenset(own.read_text().split()) if own and own.exists() else frozenset(),
        never=networks(policy.get("never_networks", NEVER_NETWORKS)),
        private=networks(policy.get("private_networks", PRIVATE_NETWORKS)),
    )
