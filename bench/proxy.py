"""Proxy benchmark: direct vs squid vs devagent's proxy, side by side on loopback.

Small requests (a 1 KiB file): latency at concurrency 1 and throughput at concurrency 8
and 32, each with a new connection per request and with keep-alive, over HTTP and HTTPS
(devagent intercepts HTTPS; squid tunnels it, as an allowlisting squid does). Bulk: a
100 MB download over HTTP, HTTPS intercepted and HTTPS passthrough, with the proxy's peak
memory during a 10 MB and a 100 MB download (flat when bodies are streamed).
"""

from __future__ import annotations

import statistics
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from load import Batch, batch, download
from servers import (
    Proxy,
    Upstream,
    allowlist_for,
    devagent_proxy,
    nginx,
    peak_rss_mb,
    peak_rss_reset,
    set_allowlist,
    squid,
)

PATHS = ("direct", "squid", "devagent")
BULK = {"bulk-10": 10 << 20, "bulk-100": 100 << 20}


def _cacert(path: str, proxy: Proxy | None, upstream: Upstream, tls: bool) -> Path | None:
    if not tls:
        return None
    if path == "devagent" and proxy is not None and proxy.ca_cert is not None:
        return proxy.ca_cert  # intercepted: the client trusts devagent's CA
    return upstream.ca_cert


ALL_PLANS = ((1, True), (1, False), (8, False), (8, True), (32, False), (32, True))
LATENCY_PLANS = ((1, True), (1, False))


def small_requests(
    upstream: Upstream,
    proxies: dict[str, Proxy | None],
    *,
    scale: float,
    plans: tuple[tuple[int, bool], ...] = ALL_PLANS,
) -> list[dict[str, Any]]:
    rows = []
    for tls in (False, True):
        for concurrency, keepalive in plans:
            row: dict[str, Any] = {
                "scheme": "https" if tls else "http",
                "concurrency": concurrency,
                "keepalive": keepalive,
            }
            for path in PATHS:
                proxy = proxies[path]
                base = 300 if concurrency == 1 else 1500
                # The slowest path gets fewer requests, so that each batch lasts seconds.
                requests = max(50, int(base * scale * (0.3 if path == "devagent" else 1)))
                result: Batch = batch(
                    upstream.url("small", tls=tls),
                    requests=requests,
                    concurrency=concurrency,
                    keepalive=keepalive,
                    proxy=proxy,
                    cacert=_cacert(path, proxy, upstream, tls),
                )
                row[path] = asdict(result) | {"per_s": result.per_s}
            rows.append(row)
    return rows


def bulk(
    upstream: Upstream, proxies: dict[str, Proxy | None], *, runs: int
) -> list[dict[str, Any]]:
    devagent = proxies["devagent"]
    assert devagent is not None
    rows = []
    for kind in ("http", "https intercepted", "https passthrough"):
        tls = kind != "http"
        if kind == "https passthrough":
            set_allowlist(devagent, allowlist_for(upstream, passthrough=True))
        row: dict[str, Any] = {"kind": kind}
        for path in PATHS:
            proxy = proxies[path]
            cacert = (
                upstream.ca_cert if kind == "https passthrough"
                else _cacert(path, proxy, upstream, tls)
            )  # fmt: skip
            entry: dict[str, Any] = {}
            for name in BULK:
                if proxy is not None:
                    peak_rss_reset(proxy.pid)
                speeds = [
                    download(upstream.url(name, tls=tls), proxy=proxy, cacert=cacert)
                    for _ in range(runs if name == "bulk-100" else 1)
                ]
                if name == "bulk-100":
                    entry["mb_per_s"] = statistics.median(speeds)
                if proxy is not None:
                    entry[f"peak_rss_mb_{name.removeprefix('bulk-')}mb"] = peak_rss_mb(proxy.pid)
            row[path] = entry
        rows.append(row)
    set_allowlist(devagent, allowlist_for(upstream, passthrough=False))
    return rows


def run(*, scale: float = 1.0, bulk_runs: int = 3, latency_only: bool = False) -> dict[str, Any]:
    """Every proxy figure; ``latency_only`` takes the concurrency-1 rows alone (smoke run)."""
    with tempfile.TemporaryDirectory(prefix="devagent-bench-proxy-") as scratch:
        work = Path(scratch)
        work.chmod(0o755)  # squid and nginx workers started by root run as other users
        sizes = {} if latency_only else BULK
        with (
            nginx(work / "nginx", sizes) as upstream,
            squid(work / "squid", upstream) as squid_proxy,
            devagent_proxy(work / "devagent", upstream) as ours,
        ):
            proxies: dict[str, Proxy | None] = {
                "direct": None,
                "squid": squid_proxy,
                "devagent": ours,
            }
            plans = LATENCY_PLANS if latency_only else ALL_PLANS
            results: dict[str, Any] = {
                "small": small_requests(upstream, proxies, scale=scale, plans=plans)
            }
            if not latency_only:
                results["bulk"] = bulk(upstream, proxies, runs=bulk_runs)
            return results
