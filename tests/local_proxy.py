"""The generated proxy, run on this host: squid and devagent's helpers, exactly as generated
(``ComposeGenerator``'s filter.py, squid.conf, modules and error pages), with the container
paths mapped to a scratch directory. Used by the unit tests of the generated files and by
the benchmarks (``bench/servers.py``).

Upstreams on this host are on loopback, which the proxy never reaches: the mapping lets the
"never" networks leave out the one loopback address the caller names, and nothing else.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from devagent.generate import layout
from devagent.proxy.program import LOGD_NAME

SQUID_ERRORS = Path("/usr/share/squid/errors/templates")


@dataclass(frozen=True)
class LocalProxy:
    port: int
    pid: int  # the supervisor (``filter.py run``)
    work: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def allowlist(self) -> Path:
        return self.work / "policy" / Path(layout.ALLOWLIST_FILE).name

    @property
    def logs(self) -> Path:
        return self.work / "logs"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _mapped(text: str, mapping: dict[str, str]) -> str:
    # One pass, longest first: no container path is cut by a shorter one, and no mapped
    # path is mapped again.
    pattern = re.compile("|".join(map(re.escape, sorted(mapping, key=len, reverse=True))))
    return pattern.sub(lambda match: mapping[match.group()], text)


def lay_out(files: dict[str, bytes], work: Path, *, certs: Path, upstream_ca: Path | None,
            port: int) -> Path:  # fmt: skip
    """Write the generated proxy files under ``work`` as they are laid out in the image."""
    opt = work / "opt"
    rules_port = free_port()
    mapping = {
        layout.POLICY_IN_PROXY: str(work / "policy"),
        layout.LOGS_IN_PROXY: str(work / "logs"),
        layout.CERTS_IN_PROXY: str(certs),
        layout.RUNTIME_IN_PROXY: str(work / "run"),
        "/opt/devagent/": f"{opt}/",
        layout.LIB_IN_PROXY: str(opt / "lib"),
        # This host's upstreams answer on 127.0.0.1 only: leave that one address reachable.
        "127.0.0.0/8 ": "127.255.255.254/32 ",  # squid.conf
        '"127.0.0.0/8"': '"127.255.255.254/32"',  # the policy in filter.py (mitmproxy's)
        f"http_port {layout.PROXY_PORT} ": f"http_port 127.0.0.1:{port} ",
        # mitmproxy: this interpreter (it has mitmproxy), on a free port.
        '"python3"': json.dumps(sys.executable),
        f'"{layout.RULES_PORT}"': f'"{rules_port}"',
        f'"port": {layout.RULES_PORT}': f'"port": {rules_port}',
        f" parent {layout.RULES_PORT} ": f" parent {rules_port} ",
    }
    if upstream_ca is not None:
        mapping[layout.UPSTREAM_CA_IN_PROXY] = str(upstream_ca)
    for directory in ("policy", "logs", "run", "opt/errors"):
        (work / directory).mkdir(parents=True, exist_ok=True)
    for template in SQUID_ERRORS.iterdir():
        shutil.copy(template, opt / "errors" / template.name)
    places = {"proxy-lib": opt / "lib", "proxy-errors": opt / "errors", "policy": work / "policy"}
    for name, data in files.items():
        top, _, rest = name.partition("/")
        if top in places:
            target = places[top] / rest
        elif name in ("filter.py", "squid.conf"):
            target = opt / name
        else:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data if top == "proxy-lib" else _mapped(data.decode(), mapping).encode())
    (opt / "filter.py").chmod(0o755)
    (opt / LOGD_NAME).symlink_to("filter.py")
    # squid started by root works as its own user: let it read and write here.
    subprocess.run(["chmod", "-R", "a+rwX", str(work), str(certs)], check=True)
    return opt / "filter.py"


@contextlib.contextmanager
def run_generated_proxy(
    files: dict[str, bytes], *, certs: Path, upstream_ca: Path | None = None
) -> Iterator[LocalProxy]:
    """Start ``filter.py run`` (the container's entry point) on a free loopback port."""
    if shutil.which("squid") is None and not Path("/usr/sbin/squid").exists():
        raise RuntimeError("squid is not installed (scripts/setup installs squid-openssl)")
    work = Path(tempfile.mkdtemp(prefix="devagent-proxy-", dir="/tmp"))
    work.chmod(0o755)
    port = free_port()
    program = lay_out(files, work, certs=certs, upstream_ca=upstream_ca, port=port)
    env = {**os.environ, "PATH": f"{os.environ.get('PATH', '')}:/usr/sbin"}
    output = (work / "proxy.out").open("wb")
    process = subprocess.Popen([sys.executable, str(program), "run"], stdout=output,
                               stderr=subprocess.STDOUT, env=env)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the proxy did not start: {(work / 'proxy.out').read_text()}")
            time.sleep(0.05)
        yield LocalProxy(port, process.pid, work)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        output.close()
        shutil.rmtree(work, ignore_errors=True)
