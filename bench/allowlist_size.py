"""Allowlist size: the proxy's decision time with 10, 1,000 and 100,000 entries.

Times ``decide`` (the addon's whole decision: normalization, the Host/SNI cross-checks, the
lookup) for a fixed mix of destinations - exact hits, wildcard hits at depth 1 and 3, and
misses - against lists of each size, half exact names and half ``*.`` wildcards. Also
times loading the list (what the proxy does when the allowlist file changes).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from devagent.proxy.allowlist import Allowlist
from devagent.proxy.decision import decide

SIZES = (10, 1_000, 100_000)


def _entries(size: int) -> list[str]:
    half = size // 2
    exact = [f"host{i}.example{i % 97}.test" for i in range(half)]
    wild = [f"*.zone{i}.example{i % 89}.test" for i in range(size - half)]
    return exact + wild


def _probes(size: int) -> list[tuple[str, int, bool]]:
    last = size // 2 - 1
    return [
        (f"host{last}.example{last % 97}.test", 443, True),  # exact hit
        ("a.zone0.example0.test", 443, True),  # wildcard hit, depth 1
        ("x.y.z.zone0.example0.test", 443, True),  # wildcard hit, depth 3
        ("api.unlisted.example.org", 443, True),  # miss
        ("deep.a.b.c.d.e.unlisted.example.org", 80, False),  # miss, many labels
    ]


def run(*, rounds: int = 5, lookups: int = 20_000) -> list[dict[str, Any]]:
    rows = []
    for size in SIZES:
        texts = _entries(size)
        start = time.perf_counter()
        allowlist = Allowlist.parse(texts)
        load_ms = (time.perf_counter() - start) * 1000
        probes = _probes(size)
        per_round = []
        for _ in range(rounds):
            start = time.perf_counter()
            for index in range(lookups):
                host, port, tunnel = probes[index % len(probes)]
                decide(
                    allowlist,
                    target_host=host,
                    target_port=port,
                    host_header=host,
                    sni=host if tunnel else None,
                    tunnel=tunnel,
                )
            per_round.append((time.perf_counter() - start) / lookups * 1e6)
        hits = [decide(allowlist, target_host=h, target_port=p, host_header=None, sni=None,
                       tunnel=t).allowed for h, p, t in probes]  # fmt: skip
        assert hits == [True, True, True, False, False], hits  # the probes mean what they say
        rows.append(
            {"entries": size, "decision_us": statistics.median(per_round), "load_ms": load_ms}
        )
    return rows
