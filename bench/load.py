"""Load for the proxy benchmark, made by one curl process (C, not this interpreter).

curl runs the transfers of a batch in parallel (``--parallel-max`` is the concurrency),
reuses connections unless told ``Connection: close``, and writes one line per transfer:
its status, its total time and how many connections it opened. Every transfer must answer
200: a benchmark that measured refusals would be a lie.
"""

from __future__ import annotations

import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from servers import BenchError, Proxy, require


@dataclass(frozen=True)
class Batch:
    requests: int
    wall_s: float
    p50_ms: float
    p99_ms: float
    connections: int

    @property
    def per_s(self) -> float:
        return self.requests / self.wall_s


def _client(proxy: Proxy | None, cacert: Path | None) -> list[str]:
    argv = [require("curl"), "--silent", "--show-error", "--http1.1"]
    argv += ["--proxy", proxy.url] if proxy else ["--noproxy", "*"]
    if cacert is not None:
        argv += ["--cacert", str(cacert)]
    return argv


def batch(
    url: str,
    *,
    requests: int,
    concurrency: int,
    keepalive: bool,
    proxy: Proxy | None,
    cacert: Path | None,
) -> Batch:
    with tempfile.NamedTemporaryFile("w", suffix=".curl") as config:
        config.write(f'url = "{url}"\noutput = "/dev/null"\n' * requests)
        config.flush()
        argv = [
            *_client(proxy, cacert),
            "--parallel", "--parallel-immediate", "--parallel-max", str(concurrency),
            "--write-out", "%{http_code} %{time_total} %{num_connects}\\n",
            "--config", config.name,
        ]  # fmt: skip
        if not keepalive:
            argv += ["--header", "Connection: close"]
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
    lines = [line.split() for line in done.stdout.splitlines() if line.strip()]
    failed = [line for line in lines if line[0] != "200"]
    if done.returncode != 0 or failed or len(lines) != requests:
        raise BenchError(
            f"{url} via {proxy.name if proxy else 'direct'}: {len(lines)} transfers, "
            f"{len(failed)} not 200 (e.g. {failed[:1]}), curl {done.returncode}: "
            f"{done.stderr.strip()[:300]}"
        )
    times = sorted(float(line[1]) * 1000 for line in lines)
    return Batch(
        requests,
        wall,
        statistics.median(times),
        times[min(len(times) - 1, int(len(times) * 0.99))],
        sum(int(line[2]) for line in lines),
    )


def download(url: str, *, proxy: Proxy | None, cacert: Path | None) -> float:
    """Download ``url`` once; return MB/s (10^6 bytes)."""
    argv = [
        *_client(proxy, cacert),
        "--output", "/dev/null",
        "--write-out", "%{http_code} %{size_download} %{time_total}",
        url,
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    fields = done.stdout.split()
    if done.returncode != 0 or not fields or fields[0] != "200":
        raise BenchError(f"download of {url} failed: {done.stdout} {done.stderr.strip()[:300]}")
    return int(fields[1]) / float(fields[2]) / 1e6
