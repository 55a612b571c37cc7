"""Proxy benchmark: each of devagent's paths next to its baselines, side by side on loopback.

Every row has a ``path`` and, under the keys ``direct``, ``squid`` and ``devagent``, the
same load through each (``squid`` is always squid as a plain forward proxy: CONNECT tunnels
for HTTPS). Extra baselines where the issue asks for them:

- ``http``: plain requests; devagent decides each one (squid + helper).
- ``tunnel``: HTTPS through a ``tunnel`` entry (peek at the ClientHello, splice).
- ``inspect``: HTTPS through an ordinary entry (bumped client-first, every request decided);
  also against ``squid_bump``, squid with the same bumping and no helper.
- ``rules``: HTTPS to a host whose rules read bodies (squid hands the tunnel to mitmproxy);
  also against ``mitmproxy``, the same addon in mitmproxy alone (the proxy before squid).

Small requests (1 KiB): latency at concurrency 1, throughput at 8 and 32, new connection
and keep-alive. Bulk: a 100 MB download, with the peak memory of the proxy and all its
processes during a 10 MB and a 100 MB download (flat when bodies are streamed).
"""

from __future__ import annotations

import contextlib
import statistics
import tempfile
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from load import batch, download
from servers import (
    Proxy,
    Upstream,
    allowlist_for,
    devagent_proxy,
    mitmproxy_alone,
    nginx,
    peak_rss_mb,
    peak_rss_reset,
    set_allowlist,
    squid,
)

BULK = {"bulk-10": 10 << 20, "bulk-100": 100 << 20}
# (path, scheme, the proxies of its row: key -> which proxy)
PATHS = (
    ("http", "http", {"direct": None, "squid": "squid", "devagent": "devagent"}),
    ("tunnel", "https", {"direct": None, "squid": "squid", "devagent": "devagent"}),
    ("inspect", "https", {"direct": None, "squid": "squid", "squid_bump": "squid_bump",
                          "devagent": "devagent"}),
    ("rules", "https", {"direct": None, "squid": "squid", "mitmproxy": "mitmproxy",
                        "devagent": "devagent_rules"}),
)  # fmt: skip
BULK_KINDS = {
    "http": "http",
    "tunnel": "https passthrough",
    "inspect": "https intercepted",
    "rules": "https rules",
}
SLOW = {"mitmproxy", "devagent_rules"}  # fewer requests, so that each batch lasts seconds
ALL_PLANS = ((1, True), (1, False), (8, False), (8, True), (32, False), (32, True))
LATENCY_PLANS = ((1, True), (1, False))


def _cacert(proxy: Proxy | None, upstream: Upstream, tls: bool, path: str) -> Path | None:
    if not tls:
        return None
    if path != "tunnel" and proxy is not None and proxy.ca_cert is not None:
        return proxy.ca_cert  # TLS ends at the proxy: the client trusts the proxy's CA
    return upstream.ca_cert


@contextlib.contextmanager
def _mode(proxies: dict[str, Proxy], upstream: Upstream, path: str) -> Iterator[None]:
    """devagent's allowlist for this path (tunnel: the HTTPS entry says so)."""
    if path == "tunnel":
        set_allowlist(proxies["devagent"], allowlist_for(upstream, mode="tunnel"))
    try:
        yield
    finally:
        if path == "tunnel":
            set_allowlist(proxies["devagent"], allowlist_for(upstream))


def small_requests(
    upstream: Upstream,
    proxies: dict[str, Proxy],
    *,
    scale: float,
    plans: tuple[tuple[int, bool], ...] = ALL_PLANS,
) -> list[dict[str, Any]]:
    rows = []
    for path, scheme, columns in PATHS:
        tls = scheme == "https"
        with _mode(proxies, upstream, path):
            for concurrency, keepalive in plans:
                row: dict[str, Any] = {
                    "path": path,
                    "scheme": scheme,
                    "concurrency": concurrency,
                    "keepalive": keepalive,
                }
                for key, name in columns.items():
                    proxy = proxies[name] if name else None
                    base = 300 if concurrency == 1 else 1500
                    requests = max(50, int(base * scale * (0.3 if name in SLOW else 1)))
                    result = batch(
                        upstream.url("small", tls=tls),
                        requests=requests,
                        concurrency=concurrency,
                        keepalive=keepalive,
                        proxy=proxy,
                        cacert=_cacert(proxy, upstream, tls, path),
                    )
                    row[key] = asdict(result) | {"per_s": result.per_s}
                rows.append(row)
    return rows


def bulk(upstream: Upstream, proxies: dict[str, Proxy], *, runs: int) -> list[dict[str, Any]]:
    rows = []
    for path, scheme, columns in PATHS:
        tls = scheme == "https"
        row: dict[str, Any] = {"kind": BULK_KINDS[path], "path": path}
        with _mode(proxies, upstream, path):
            for key, name in columns.items():
                proxy = proxies[name] if name else None
                entry: dict[str, Any] = {}
                for size in BULK:
                    if proxy is not None:
                        peak_rss_reset(proxy.pid)
                    speeds = [
                        download(
                            upstream.url(size, tls=tls),
                            proxy=proxy,
                            cacert=_cacert(proxy, upstream, tls, path),
                        )
                        for _ in range(runs if size == "bulk-100" else 1)
                    ]
                    if size == "bulk-100":
                        entry["mb_per_s"] = statistics.median(speeds)
                    if proxy is not None:
                        label = size.removeprefix("bulk-")
                        entry[f"peak_rss_mb_{label}mb"] = peak_rss_mb(proxy.pid)
                row[key] = entry
        rows.append(row)
    return rows


def idle_memory(proxies: dict[str, Proxy]) -> dict[str, float]:
    """Resident memory now (MB), each proxy with all its processes: what a quiet sandbox costs."""
    return {name: peak_rss_mb(proxy.pid) for name, proxy in proxies.items()}


def run(*, scale: float = 1.0, bulk_runs: int = 3, latency_only: bool = False) -> dict[str, Any]:
    """Every proxy figure; ``latency_only`` takes the concurrency-1 rows alone (smoke run)."""
    with tempfile.TemporaryDirectory(prefix="devagent-bench-proxy-") as scratch:
        work = Path(scratch)
        work.chmod(0o755)  # squid and nginx workers started by root run as other users
        sizes = {} if latency_only else BULK
        with contextlib.ExitStack() as stack:
            upstream = stack.enter_context(nginx(work / "nginx", sizes))
            ours = stack.enter_context(devagent_proxy(work / "devagent", upstream))
            assert ours.ca_cert is not None
            ca_with_key = ours.ca_cert.with_name("mitmproxy-ca.pem")
            proxies = {
                "squid": stack.enter_context(squid(work / "squid", upstream)),
                "squid_bump": stack.enter_context(
                    squid(
                        work / "squid-bump", upstream, bump_ca=ca_with_key, client_ca=ours.ca_cert
                    )
                ),
                "devagent": ours,
                "devagent_rules": stack.enter_context(
                    devagent_proxy(work / "devagent-rules", upstream, rules=True)
                ),
                "mitmproxy": stack.enter_context(mitmproxy_alone(work / "mitmproxy", upstream)),
            }
            idle = idle_memory(proxies)
            plans = LATENCY_PLANS if latency_only else ALL_PLANS
            results: dict[str, Any] = {
                "small": small_requests(upstream, proxies, scale=scale, plans=plans),
                "idle_rss_mb": idle,
            }
            if not latency_only:
                results["bulk"] = bulk(upstream, proxies, runs=bulk_runs)
            return results
