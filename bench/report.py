"""Markdown tables from the benchmark's JSON, each with the ratio its target is about."""

from __future__ import annotations

from typing import Any

TARGETS = {
    "latency": 1.5,  # devagent's added p50 latency / squid's
    "bulk": 1.0,  # devagent MB/s / squid's, at least
    "workload": 1.10,  # through the proxy / direct
    "create": 1.05,
    "stop + start": 1.20,
    "list_s": 0.300,
    "help_s": 0.150,
}


def _ms(value: float) -> str:
    return f"{value:.2f}"


def added_latency(row: dict[str, Any], path: str) -> float:
    return float(row[path]["p50_ms"] - row["direct"]["p50_ms"])


# Below this, an added latency is measurement noise (loopback, curl's own timing).
NOISE_MS = 0.1


def latency_ratio(row: dict[str, Any], baseline: str = "squid") -> float:
    # Floor the baseline's added latency at the noise level: a ratio never divides by noise.
    return added_latency(row, "devagent") / max(added_latency(row, baseline), NOISE_MS)


EXTRA = ("squid_bump", "mitmproxy")  # the second baseline of inspect and rules rows


def _connection(row: dict[str, Any]) -> str:
    return "keep-alive" if row["keepalive"] else "new connection"


def _label(row: dict[str, Any]) -> str:
    return f"{row.get('path', row['scheme'])}, {_connection(row)}"


def _extra(row: dict[str, Any]) -> str | None:
    return next((key for key in EXTRA if key in row), None)


def latency_table(small: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| path, request | direct p50 / p99 ms | squid p50 / p99 ms | devagent p50 / p99 ms "
        "| added p50: squid / devagent ms | devagent / squid (target <= 1.5 tunnel, http) "
        "| second baseline: added p50 ms, devagent / it |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in small:
        if row["concurrency"] != 1:
            continue
        cells = [
            f"{_ms(row[p]['p50_ms'])} / {_ms(row[p]['p99_ms'])}"
            for p in ("direct", "squid", "devagent")
        ]
        extra = _extra(row)
        second = (
            f"{extra} {_ms(added_latency(row, extra))}, {latency_ratio(row, extra):.2f}x"
            if extra
            else "-"
        )
        lines.append(
            f"| {_label(row)} | {' | '.join(cells)} | "
            f"{_ms(added_latency(row, 'squid'))} / {_ms(added_latency(row, 'devagent'))} | "
            f"{latency_ratio(row):.1f}x | {second} |"
        )
    return lines


def throughput_table(small: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| path, requests | direct req/s | squid req/s | devagent req/s | devagent / squid "
        "| second baseline req/s, devagent / it |",
        "|---|---|---|---|---|---|",
    ]
    for row in small:
        if row["concurrency"] == 1:
            continue
        rates = [row[p]["per_s"] for p in ("direct", "squid", "devagent")]
        extra = _extra(row)
        second = (
            f"{extra} {row[extra]['per_s']:,.0f}, {rates[2] / row[extra]['per_s']:.2f}x"
            if extra
            else "-"
        )
        lines.append(
            f"| {row.get('path', row['scheme'])}, c={row['concurrency']}, {_connection(row)} | "
            + " | ".join(f"{rate:,.0f}" for rate in rates)
            + f" | {rates[2] / rates[1]:.2f}x | {second} |"
        )
    return lines


def _rss(entry: dict[str, Any]) -> str:
    return f"{entry['peak_rss_mb_10mb']:.0f} -> {entry['peak_rss_mb_100mb']:.0f}"


def bulk_table(bulk: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| 100 MB download | direct MB/s | squid MB/s | devagent MB/s | devagent / squid "
        "(target >= 1 tunnel, http) | second baseline MB/s, devagent / it "
        "| peak RSS squid / devagent MB, all processes (10 MB -> 100 MB download) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in bulk:
        speeds = [row[p]["mb_per_s"] for p in ("direct", "squid", "devagent")]
        extra = _extra(row)
        second = (
            f"{extra} {row[extra]['mb_per_s']:,.0f}, {speeds[2] / row[extra]['mb_per_s']:.2f}x"
            if extra
            else "-"
        )
        lines.append(
            f"| {row.get('path', '')} ({row['kind']}) | "
            + " | ".join(f"{speed:,.0f}" for speed in speeds)
            + f" | {speeds[2] / speeds[1]:.2f}x | {second} | "
            f"{_rss(row['squid'])} / {_rss(row['devagent'])} |"
        )
    return lines


def idle_table(idle: dict[str, float]) -> list[str]:
    lines = ["| proxy | resident MB, all processes, idle |", "|---|---|"]
    lines += [f"| {name} | {mb:.0f} |" for name, mb in idle.items()]
    return lines


def allowlist_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["| entries | decision (us) | loading the list (ms) |", "|---|---|---|"]
    lines += [
        f"| {row['entries']:,} | {row['decision_us']:.1f} | {row['load_ms']:.1f} |" for row in rows
    ]
    return lines


def workloads_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| workload (median of runs) | direct s | through devagent s | ratio (target <= 1.10) |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {row['workload']} ({row['runs']} runs) | {row['direct_s']:.1f} | "
        f"{row['proxy_s']:.1f} | {row['proxy_s'] / row['direct_s']:.2f}x |"
        for row in rows
    ]
    return lines


def lifecycle_table(rows: list[dict[str, Any]], engine: str) -> list[str]:
    lines = [
        f"| {engine} | devagent s | baseline s | ratio | baseline |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {row['what']} | {row['devagent_s']:.3f} | {row['baseline_s']:.3f} | "
        f"{row['devagent_s'] / row['baseline_s']:.2f}x | {row['baseline']} |"
        for row in rows
    ]
    return lines


def markdown(results: dict[str, Any]) -> str:
    sections: list[tuple[str, list[str]]] = []
    if "proxy" in results:
        proxy = results["proxy"]
        sections.append(("Added latency, small requests, concurrency 1", latency_table(
            proxy["small"])))  # fmt: skip
        if any(row["concurrency"] != 1 for row in proxy["small"]):
            sections.append(("Throughput, small requests", throughput_table(proxy["small"])))
        if "bulk" in proxy:
            sections.append(("Bulk", bulk_table(proxy["bulk"])))
        if "idle_rss_mb" in proxy:
            sections.append(("Memory at rest", idle_table(proxy["idle_rss_mb"])))
    if "allowlist" in results:
        sections.append(("Allowlist size", allowlist_table(results["allowlist"])))
    if "workloads" in results:
        sections.append(("Real workloads", workloads_table(results["workloads"])))
    if "lifecycle" in results:
        sections.append(
            ("Lifecycle", lifecycle_table(results["lifecycle"], results.get("engine", "docker")))
        )
    out = []
    for title, table in sections:
        out += [f"#### {title}", "", *table, ""]
    return "\n".join(out)
