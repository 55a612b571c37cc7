"""The mitmproxy addon for the hosts whose rules read bodies (today: the merge guard).

squid (see ``devagent.proxy.squid_config``) hands these hosts' tunnels, untouched, to a
mitmproxy on loopback that runs this addon (``filter.py mitm``). It decides every request
inside the tunnel again with the same ``decide`` as squid's helper: the tunnel's CONNECT
target, the URL (absolute-form and HTTP/2 ``:authority`` included), the ``Host`` header and
the SNI must agree; the address the name resolves to is checked like squid checks it; raw
TCP is never relayed (``rawtcp`` off). Any error while deciding blocks. Bodies are streamed,
except GraphQL bodies on guarded hosts, which are read to look for merges.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mitmproxy import http
from mitmproxy.proxy import server_hooks

from devagent.proxy.allowlist import Allowlist, AllowlistFile, InvalidHost, normalize_host
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

# GitHub's REST merge endpoint (also under a GitHub Enterprise Server's /api/v3) and the
# GraphQL mutations that merge, or arrange a merge of, a pull request.
_REST_MERGE = re.compile(r"^(/api/v3)?/repos/[^/]+/[^/]+/pulls/[0-9]+/merge/?$")
_GRAPHQL = re.compile(r"^(/api)?/graphql/?$")
MERGE_MUTATIONS = ("mergePullRequest", "enablePullRequestAutoMerge")
MERGE_REFUSED = "pull-request merge refused"
MERGE_REFUSED_BODY = (
    b"devagent: merging pull requests is disabled in this sandbox; a person merges.\n"
    b"Do not retry this request or look for another way to merge. Tell the user that the "
    b"pull request is ready for them to review and merge.\n"
)


def merge_request_kind(method: str, path: str) -> str | None:
    """'merge' for the REST merge call, 'graphql' for a GraphQL call to read, else None."""
    path = path.split("?", 1)[0]
    if method == "PUT" and _REST_MERGE.match(path):
        return "merge"
    if method == "POST" and _GRAPHQL.match(path):
        return "graphql"
    return None


def merges_in(graphql_body: bytes) -> bool:
    """Whether a GraphQL request body asks for a merge (any mention counts: fail closed)."""
    return any(name.encode() in graphql_body for name in MERGE_MUTATIONS)


def blocked_body(decision: Decision, port: int, allow_command: str) -> bytes:
    return (blocked_message(decision, port, allow_command) + "\n").encode()


class _ByteCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, chunk: bytes) -> bytes:
        self.count += len(chunk)
        return chunk


class Filter:
    """mitmproxy addon: the same decisions as squid's helper, the merge guard, logging."""

    def __init__(
        self,
        allowlist: Allowlist | AllowlistFile,
        log: RequestLog,
        *,
        allow_command: str = "devagent allow {host}",
        merge_guarded: Allowlist | None = None,
        own_addresses: frozenset[str] = frozenset(),
        never: Networks = NEVER,
        private: Networks = PRIVATE,
    ) -> None:
        self._allowlist = allowlist
        self.log = log
        self.allow_command = allow_command
        self.merge_guarded = merge_guarded
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
        if flow.response is None and self._merge_guarded(flow):
            try:
                kind = merge_request_kind(flow.request.method, flow.request.path)
            except Exception:
                kind = "merge"
            if kind == "merge":
                self._refuse_merge(flow)
            elif kind == "graphql":
                # Read this body whole (GraphQL requests are small) to look for a merge.
                flow.request.stream = False
                flow.metadata["devagent.graphql"] = True

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.metadata.get("devagent.graphql") and flow.response is None:
            try:
                body = flow.request.get_content(strict=False) or b""
                refuse = merges_in(body)
            except Exception:  # Undecodable: fail closed.
                refuse = True
            if refuse:
                self._refuse_merge(flow)

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

    def _merge_guarded(self, flow: http.HTTPFlow) -> bool:
        if self.merge_guarded is None:
            return False
        try:
            host = normalize_host(flow.request.host)
        except InvalidHost:
            return True
        return self.merge_guarded.allows(host, flow.request.port)

    def _refuse_merge(self, flow: http.HTTPFlow) -> None:
        flow.metadata["devagent.blocked"] = True
        flow.metadata["devagent.reason"] = MERGE_REFUSED
        flow.response = http.Response.make(
            403,
            MERGE_REFUSED_BODY,
            {"Content-Type": "text/plain; charset=utf-8", "X-Devagent-Blocked": MERGE_REFUSED},
        )

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None:
            counter = _ByteCounter()
            flow.metadata["devagent.bytes"] = counter
            flow.response.stream = counter

    def response(self, flow: http.HTTPFlow) -> None:
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
            ),
            name=RULES_LOG,
        )


def _response_bytes(flow: http.HTTPFlow) -> int:
    # Small bodies that arrive with their headers are never streamed; count both ways.
    counter = flow.metadata.get("devagent.bytes")
    streamed = counter.count if isinstance(counter, _ByteCounter) else 0
    buffered = flow.response.raw_content if flow.response is not None else None
    return streamed + len(buffered or b"")


def load_policy(policy: dict[str, Any]) -> Filter:
    """Build the addon from the policy baked into ``filter.py``."""
    log_dir = policy.get("log_dir")
    hosts = policy.get("rules_hosts")
    own = Path(policy["runtime_dir"], "own-addresses") if policy.get("runtime_dir") else None
    return Filter(
        AllowlistFile(Path(policy["allowlist_path"])),
        RequestLog(Path(log_dir) if log_dir else None),
        allow_command=policy.get("allow_command", "devagent allow {host}"),
        merge_guarded=Allowlist.parse(hosts) if hosts else None,
        own_addresses=frozenset(own.read_text().split()) if own and own.exists() else frozenset(),
        never=networks(policy.get("never_networks", NEVER_NETWORKS)),
        private=networks(policy.get("private_networks", PRIVATE_NETWORKS)),
    )
