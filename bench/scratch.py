"""devagent with its own config and state in a scratch directory, as the benchmarks use it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from servers import BenchError

DEVAGENT = [sys.executable, "-m", "devagent"]


def environment(root: Path, engine: str) -> dict[str, str]:
    """Variables that point devagent at ``root``; its config trusts what this host trusts.

    On a network that re-signs HTTPS (these machines' does), image builds that download
    over HTTPS need the host's extra CAs, as `scripts/demo` gives them.
    """
    config = root / "config"
    config.mkdir(parents=True, exist_ok=True)
    cas = sorted(str(p) for p in Path("/usr/local/share/ca-certificates").rglob("*.crt"))
    (config / "config.yaml").write_text(f"extra_ca_certificates: {json.dumps(cas)}\n")
    return {
        **os.environ,
        "DEVAGENT_CONFIG_DIR": str(config),
        "DEVAGENT_DATA_DIR": str(root / "data"),
        "DEVAGENT_STATE_DIR": str(root / "state"),
        "DEVAGENT_RUNTIME": engine,
    }


def run(argv: list[str], env: dict[str, str]) -> str:
    """Run a command; a failure raises BenchError with the end of its error output."""
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        output = (done.stderr.strip() or done.stdout.strip())[-800:]
        raise BenchError(f"{' '.join(argv[:6])} exited {done.returncode}: {output}")
    return done.stdout


def devagent(env: dict[str, str], *args: str) -> str:
    return run([*DEVAGENT, *args], env)
