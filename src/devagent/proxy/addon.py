"""The mitmproxy addon that enforces a project's allowlist.

It runs inside the proxy container as part of the generated ``filter.py`` (see
``devagent.proxy.bundle``): the allowlist module is pasted in front of it and the project's
policy is appended, so inside the proxy nothing is imported from devagent. The allowlist
itself is read from a mounted file and re-read when it changes (``devagent allow``), so a
change applies to the next request without restarting anything.

Every request is decided on its real destination. The CONNECT target, the Host header,
the absolute-form URL and the TLS SNI must all name the same host, that host and port must
be allowlisted, and anything else gets a 403 whose body says how to allow it. Any error
while deciding blocks the request (fail closed). Bodies are streamed, never buffered.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from mitmproxy import http, tls

from devagent.proxy.allowlist import Allowlist, InvalidHost, normalize_host

LOG_MAX_BYTES = 5 * 1024 * 1024

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


# NamedTuple, not dataclass: mitmproxy runs this file without registering it as a module,
# and dataclasses look their module up in sys.modules.
class Decision(NamedTuple):
    allowed: bool
    reason: str
    host: str


def decide(
    allowlist: Allowlist,
    *,
    target_host: str,
    target_port: int,
    host_header: str | None,
    sni: str | None,
    tunnel: bool,
) -> Decision:
    """Decide one request or CONNECT from every name it carries for its destination."""
    try:
        host = normalize_host(target_host)
    except InvalidHost:
        return Decision(False, "invalid destination host", target_host)
    for label, other in (("Host header", host_header), ("TLS SNI", sni)):
        if other is None:
            continue
        try:
            other_host = normalize_host(_strip_port(other))
        except InvalidHost:
            return Decision(False, f"invalid {label}", host)
        if other_host != host:
            return Decision(False, f"{label} {other_host!r} differs from destination", host)
    if not allowlist.allows(host, target_port, tunnel=tunnel):
        return Decision(False, "not in allowlist", host)
    return Decision(True, "allowlisted", host)


def _strip_port(authority: str) -> str:
    if authority.startswith("["):
        return authority[1 : authority.find("]")] if "]" in authority else authority
    host, sep, port = authority.rpartition(":")
    return host if sep and port.isdigit() and ":" not in host else authority


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
    fix = allow_command.format(host=decision.host)
    return (
        f"devagent: request to {decision.host}:{port} blocked by the sandbox proxy "
        f"({decision.reason}).\n"
        f"If this host is needed, ask the user to run on the host: {fix}\n"
    ).encode()


class AllowlistFile:
    """The allowlist in a JSON file (``{"allowlist": [...]}``), re-read when it changes.

    The file is looked at no more than every ``interval`` seconds. A file that cannot be
    read or parsed allows nothing (fail closed) until it is fixed.
    """

    def __init__(self, path: Path, *, interval: float = 0.25) -> None:
        self.path = path
        self.interval = interval
        self._allowlist = Allowlist([])
        self._seen: tuple[int, int, int] | None = None
        self._checked = -interval
        self.error: str | None = None

    def current(self) -> Allowlist:
        now = time.monotonic()
        if now - self._checked >= self.interval:
            self._checked = now
            self._reload()
        return self._allowlist

    def _reload(self) -> None:
        try:
            stat = self.path.stat()
            seen = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            if seen == self._seen:
                return
            entries = json.loads(self.path.read_text(encoding="utf-8"))["allowlist"]
            self._allowlist = Allowlist.parse(entries)
            self._seen, self.error = seen, None
        except (OSError, ValueError, KeyError, TypeError, InvalidHost) as exc:
            self._allowlist, self._seen = Allowlist([]), None
            self.error = f"{self.path}: {exc}"


class RequestLog:
    """Appends one JSON object per decision to a file, keeping at most two generations.

    The file stays open between requests (one write and flush each, so readers see every
    line at once); it is reopened after rotation or an error.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._handle: Any = None

    def write(self, record: dict[str, Any]) -> None:
        if self.path is None:
            return
        line = json.dumps(record, sort_keys=True) + "\n"
        try:
            if self._handle is None:
                self._handle = self.path.open("a", encoding="utf-8")
            elif self._handle.tell() > LOG_MAX_BYTES:
                self._handle.close()
                self.path.replace(self.path.with_suffix(".jsonl.1"))
                self._handle = self.path.open("a", encoding="utf-8")
            self._handle.write(line)
            self._handle.flush()
        except (OSError, ValueError):
            self._handle = None  # Logging must never decide a request: try again next time.


class _ByteCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, chunk: bytes) -> bytes:
        self.count += len(chunk)
        return chunk


class Filter:
    """mitmproxy addon: allowlist enforcement, streaming and request logging."""

    def __init__(
        self,
        allowlist: Allowlist | AllowlistFile,
        log: RequestLog,
        *,
        allow_command: str = "devagent allow {host}",
        own_address: tuple[str, int] | None = None,
        merge_guarded: Allowlist | None = None,
    ) -> None:
        self._allowlist = allowlist
        self.log = log
        self.allow_command = allow_command
        self.own_address = own_address
        self.merge_guarded = merge_guarded

    @property
    def allowlist(self) -> Allowlist:
        """The allowlist in force now (a file's is re-read when it changed)."""
        source = self._allowlist
        return source.current() if isinstance(source, AllowlistFile) else source

    def http_connect(self, flow: http.HTTPFlow) -> None:
        self._guard(flow, self._check_connect)

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if self._is_health_probe(flow):
            # A request to the proxy itself (devagent's readiness probe): answered here,
            # reaches nothing upstream, and is not a decision worth logging.
            flow.metadata["devagent.health"] = True
            flow.response = http.Response.make(200, b"devagent proxy: ok\n")
            return
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

    def _is_health_probe(self, flow: http.HTTPFlow) -> bool:
        return (
            self.own_address is not None
            and not flow.client_conn.tls_established
            and flow.request.method == "GET"
            and (flow.request.host, flow.request.port) == self.own_address
        )

    def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        """Leave a passthrough entry's tunnel uninspected, if its SNI names the same host.

        The CONNECT was already decided. A ClientHello naming another host is intercepted
        instead, so that the request inside meets the usual checks (and their 403).
        """
        address = data.context.server.address
        if address is None:
            return
        try:
            host = normalize_host(address[0])
            sni = data.client_hello.sni
            if not self.allowlist.passes_through(host, address[1]):
                return
            if sni is not None and normalize_host(sni) != host:
                return
        except Exception:  # Fail closed: when in doubt, intercept and inspect.
            return
        data.ignore_connection = True
        self.log.write(
            _record(
                decision="allowed",
                reason="passthrough",
                method="CONNECT",
                scheme="https",
                host=host,
                port=address[1],
                path="",
                status=None,
                size=None,
                duration_ms=0.0,
                error=None,
            )
        )

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None:
            counter = _ByteCounter()
            flow.metadata["devagent.bytes"] = counter
            flow.response.stream = counter

    def response(self, flow: http.HTTPFlow) -> None:
        if flow.metadata.get("devagent.health"):
            return
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
        return decide(
            self.allowlist,
            target_host=flow.request.host,
            target_port=flow.request.port,
            host_header=flow.request.host_header,
            sni=flow.client_conn.sni if tls else None,
            tunnel=tls,
        )

    def _record(self, flow: http.HTTPFlow, *, error: str | None) -> None:
        start = flow.metadata.get("devagent.start", time.monotonic())
        blocked = bool(flow.metadata.get("devagent.blocked"))
        self.log.write(
            _record(
                decision="blocked" if blocked else "allowed",
                reason=flow.metadata.get("devagent.reason", "") or (error or ""),
                method=flow.request.method,
                scheme=flow.request.scheme,
                host=flow.request.host,
                port=flow.request.port,
                # The path only: query strings and fragments can carry secrets.
                path=flow.request.path.split("?", 1)[0].split("#", 1)[0],
                status=flow.response.status_code if flow.response else None,
                size=_response_bytes(flow),
                duration_ms=round((time.monotonic() - start) * 1000, 1),
                error=error,
            )
        )


def _record(
    *, decision: str, reason: str, method: str, scheme: str, host: str, port: int, path: str,
    status: int | None, size: int | None, duration_ms: float, error: str | None,
) -> dict[str, Any]:  # fmt: skip
    """One line of the request log (the same keys for every kind of decision)."""
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "decision": decision,
        "reason": reason,
        "method": method,
        "scheme": scheme,
        "host": host,
        "port": port,
        "path": path,
        "status": status,
        "bytes": size,
        "duration_ms": duration_ms,
        "error": error,
    }


def _response_bytes(flow: http.HTTPFlow) -> int:
    # Small bodies that arrive with their headers are never streamed; count both ways.
    counter = flow.metadata.get("devagent.bytes")
    streamed = counter.count if isinstance(counter, _ByteCounter) else 0
    buffered = flow.response.raw_content if flow.response is not None else None
    return streamed + len(buffered or b"")


def load_policy(policy: dict[str, Any]) -> Filter:
    """Build the addon from the policy baked into ``filter.py``."""
    log_path = policy.get("log_path")
    return Filter(
        AllowlistFile(Path(policy["allowlist_path"])),
        RequestLog(Path(log_path) if log_path else None),
        allow_command=policy.get("allow_command", "devagent allow {host}"),
        own_address=(own["host"], int(own["port"])) if (own := policy.get("own_address")) else None,
        merge_guarded=Allowlist.parse(hosts)
        if (hosts := policy.get("merge_guarded_hosts"))
        else None,
    )
