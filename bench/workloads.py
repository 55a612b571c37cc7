"""Real workloads: what an agent feels through devagent's proxy, against plain network access.

One environment (the python-project template) is created; each workload then runs in its
app container - through the proxy - and in a throwaway container of the same image on the
engine's default network, alternately, a few times each (modest: these are someone else's
servers). Every run starts cold: fresh caches, fresh package lists.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import scratch

_APT = (
    "-q -o APT::Sandbox::User=root"
    " -o Dir::State::Lists=$d/lists -o Dir::Cache::Archives=$d/archives"
)
WORKLOADS = {
    "npm install (express, lodash)": (
        'd=$(mktemp -d) && cd "$d" && printf %s '
        '\'{"name":"w","version":"1.0.0","dependencies":'
        '{"express":"4.21.2","lodash":"4.17.21"}}\' > package.json'
        ' && npm install --no-audit --no-fund --loglevel=error --cache "$d/.npm"'
    ),
    "pip install (requests, rich)": (
        "d=$(mktemp -d) && python -m pip install --no-cache-dir --disable-pip-version-check -q"
        ' --target "$d" requests==2.32.3 rich==13.9.4'
    ),
    "apt-get update + install jq (download)": (
        'd=$(mktemp -d) && mkdir -p "$d/lists/partial" "$d/archives/partial"'
        f" && apt-get {_APT} update >/dev/null"
        f" && apt-get {_APT} install -y --download-only jq >/dev/null"
    ),
}
ALLOW = ("deb.debian.org",)


def _timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    scratch.run(argv, env)
    return time.perf_counter() - start


def run(*, engine: str = "docker", runs: int = 3) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="devagent-bench-work-") as directory:
        root = Path(directory)
        project = root / "workloads"
        project.mkdir()
        env = scratch.environment(root, engine)
        allow = [word for host in ALLOW for word in ("--allow", host)]
        scratch.devagent(env, "create", str(project), "--template", "python-project", *allow)
        try:
            status = json.loads(scratch.devagent(env, "status", str(project), "--json"))
            app = status["app"]["name"]
            inspect = [engine, "inspect", "--format", "{{.Config.Image}}", app]
            image = scratch.run(inspect, env).strip()
            # The plain twin: the same image on the default network, also entered with exec.
            twin = scratch.run(
                [engine, "run", "--detach", "--rm", "--entrypoint", "sleep", image, "infinity"],
                env,
            ).strip()
            try:
                rows = []
                for name, script in WORKLOADS.items():
                    proxied = [engine, "exec", "-u", "root", app, "bash", "-lc", script]
                    direct = [engine, "exec", "-u", "root", twin, "bash", "-lc", script]
                    through, plain = [], []
                    for _ in range(runs):
                        through.append(_timed(proxied, env))
                        plain.append(_timed(direct, env))
                    rows.append(
                        {
                            "workload": name,
                            "proxy_s": statistics.median(through),
                            "direct_s": statistics.median(plain),
                            "runs": runs,
                        }
                    )
            finally:
                subprocess.run([engine, "kill", twin], capture_output=True, check=False)
            return rows
        finally:
            subprocess.run(
                [*scratch.DEVAGENT, "destroy", str(project), "--purge"],
                env=env,
                capture_output=True,
                check=False,
            )
