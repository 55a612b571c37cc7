"""The rules that read requests, on the hosts mitmproxy inspects for them.

After the allowlist let a request through (``devagent.proxy.addon``), these rules:
- refuse a request that carries a credential's real value (the app never holds one);
- on GitHub hosts, read pushes (``devagent.proxy.gitpush``) and API writes
  (``devagent.proxy.github``), buffering only the bodies they read;
- on a credential's hosts, put the credential on the wire (``devagent.proxy.credentials``);
- answer the 403 a setup-token gets for its missing profile scope with an empty 200.

A refusal sets the flow's response and ``devagent.blocked``/``devagent.reason`` metadata; the
addon logs it. ``devagent.credential`` names the credential a request used.
"""

from __future__ import annotations

import json
from typing import Any

from mitmproxy import http

from devagent.proxy import github
from devagent.proxy.allowlist import Allowlist, InvalidHost, normalize_host
from devagent.proxy.credentials import (
    ANTHROPIC,
    Keyring,
    hides_missing_scope,
    is_oauth,
    put_on_wire,
)
from devagent.proxy.gitpush import (
    DEFAULT_PATTERNS,
    RESULT_TYPE,
    Unreadable,
    is_push,
    read_push,
    refusals,
    report,
)

READ = "devagent.read"  # which body this flow's rules read: push, graphql or rest
CREDENTIAL = "devagent.credential"
HIDES_SCOPE = "devagent.hides-scope"  # a setup-token's profile 403, answered with an empty 200
CARRIED_REAL = "a credential's real value, sent from the sandbox"


class Rules:
    """Credentials and the GitHub policies, applied to one flow at a time."""

    def __init__(
        self,
        keyring: Keyring,
        github_hosts: Allowlist | None = None,
        branches: tuple[str, ...] = DEFAULT_PATTERNS,
    ) -> None:
        self.keyring = keyring
        self.github_hosts = github_hosts
        self.branches = branches

    @classmethod
    def from_policy(cls, policy: dict[str, Any]) -> Rules:
        hosts = policy.get("github_hosts")
        return cls(
            Keyring.from_policy(policy),
            Allowlist.parse(hosts) if hosts else None,
            tuple(policy.get("push_branches", DEFAULT_PATTERNS)),
        )

    def request_headers(self, flow: http.HTTPFlow) -> None:
        request = flow.request
        texts = [request.path, *(f"{k}: {v}" for k, v in request.headers.items(multi=True))]
        carried = self.keyring.carried(texts)
        if carried:
            flow.metadata[CREDENTIAL] = carried
            refuse(flow, CARRIED_REAL, f"devagent: {CARRIED_REAL} is refused.\n")
            return
        host = _host(flow)
        if self._github(host, request.port):
            self._github_headers(flow)
            if flow.response is not None:
                return
        binding = self.keyring.for_host(host, request.port) if request.scheme == "https" else None
        value = self.keyring.value(binding) if binding else None
        if binding and value:
            put_on_wire(request.headers, binding.kind, value, request.path)
            flow.metadata[CREDENTIAL] = binding.name

    def request_body(self, flow: http.HTTPFlow) -> None:
        kind = flow.metadata.get(READ)
        if kind is None or flow.response is not None:
            return
        request = flow.request
        try:
            if kind == "push":
                self._push(flow, request.get_content(strict=True) or b"")
                return
            body = request.raw_content or b""
            if kind == "graphql":
                reason = github.graphql_refusal(
                    request.method, _query(request.path), body,
                    content_encoding=request.headers.get("content-encoding", ""),
                    patterns=self.branches,
                )  # fmt: skip
            else:
                encoding = request.headers.get("content-encoding", "").strip().lower()
                reason = (
                    github.rest_refusal(request.method, request.path, body)
                    if encoding in ("", "identity")
                    else "devagent: a compressed API write is refused (it cannot be read)"
                )
        except Exception as exc:  # Fail closed: what cannot be read is refused.
            reason = f"devagent: the request cannot be read ({type(exc).__name__})"
        if reason:
            refuse_api(flow, reason)

    def reads_response(self, flow: http.HTTPFlow) -> bool:
        """Whether this response is read whole (the rules answer in its place); decided
        once, at its headers."""
        hides = self._hides_scope(flow)
        if hides:
            flow.metadata[HIDES_SCOPE] = True
        return hides

    def response(self, flow: http.HTTPFlow) -> None:
        if flow.metadata.get(HIDES_SCOPE):
            flow.response = http.Response.make(200, b"{}", {"Content-Type": "application/json"})

    def _hides_scope(self, flow: http.HTTPFlow) -> bool:
        if flow.response is None or flow.metadata.get("devagent.blocked"):
            return False
        binding = self.keyring.for_host(_host(flow), flow.request.port)
        return (
            binding is not None
            and binding.kind == ANTHROPIC
            and flow.metadata.get(CREDENTIAL) == binding.name
            and is_oauth(self.keyring.value(binding))
            and hides_missing_scope(flow.request.path, flow.response.status_code)
        )

    def _github(self, host: str, port: int) -> bool:
        return self.github_hosts is not None and (
            host == "" or self.github_hosts.allows(host, port, tunnel=True)
        )

    def _github_headers(self, flow: http.HTTPFlow) -> None:
        request = flow.request
        method, path = request.method.upper(), request.path
        if is_push(method, path):
            flow.metadata[READ] = "push"
        elif github.is_graphql(path):
            flow.metadata[READ] = "graphql"
        elif github.rest_reads_body(method, path):
            flow.metadata[READ] = "rest"
        else:
            reason = github.rest_refusal(method, path)
            if reason:
                refuse_api(flow, reason)
            return
        if method == "GET" and flow.metadata[READ] == "graphql":
            self.request_body(flow)  # a GET's query is in its URL: read it now
            return
        request.stream = False  # read this body whole before anything is sent upstream

    def _push(self, flow: http.HTTPFlow, body: bytes) -> None:
        try:
            push = read_push(body)
        except Unreadable as exc:
            refuse(flow, f"push refused: {exc}", f"devagent: push refused: {exc}\n")
            return
        refused = refusals(push, self.branches)
        if refused:
            first = next(iter(refused.values()))
            flow.metadata["devagent.blocked"] = True
            flow.metadata["devagent.reason"] = f"push refused: {first}"
            flow.response = http.Response.make(
                200,
                report(push, refused),
                {"Content-Type": RESULT_TYPE, "Cache-Control": "no-cache"},
            )


def refuse(flow: http.HTTPFlow, reason: str, body: str) -> None:
    flow.metadata["devagent.blocked"] = True
    flow.metadata["devagent.reason"] = reason
    flow.response = http.Response.make(
        403,
        body.encode(),
        {"Content-Type": "text/plain; charset=utf-8", "X-Devagent-Blocked": reason},
    )


def refuse_api(flow: http.HTTPFlow, reason: str) -> None:
    """A GitHub-shaped 403: ``gh`` and scripts print its message."""
    text = github.message(reason)
    flow.metadata["devagent.blocked"] = True
    flow.metadata["devagent.reason"] = reason
    body = json.dumps({"message": text, "errors": [{"message": text}]}).encode()
    flow.response = http.Response.make(
        403, body, {"Content-Type": "application/json; charset=utf-8", "X-Devagent-Blocked": reason}
    )


def _host(flow: http.HTTPFlow) -> str:
    try:
        return normalize_host(flow.request.host)
    except InvalidHost:
        return ""


def _query(path: str) -> str:
    return path.split("?", 1)[1] if "?" in path else ""
