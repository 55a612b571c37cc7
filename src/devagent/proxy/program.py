"""The proxy container's program: squid's helpers, and the supervisor that starts squid.

``filter.py`` (see ``devagent.proxy.bundle``) ends by calling ``main`` with the project's
policy. Standard library only, so that squid's helpers stay small:

- ``filter.py run``: the container's entry point. Writes what squid needs at run time (the
  proxy's own addresses, the certificate database), starts mitmproxy when some host's rules
  read bodies, then squid in the foreground, and stops both when either one ends.
- ``filter.py acl``: the external ACL helper (``devagent.proxy.helper``).
- ``filter.py mitm ARGS``: mitmproxy with the rules addon (``devagent.proxy.server``);
  only this one imports mitmproxy.
- ``devagent-logd PATH`` (a link to ``filter.py``): the log daemon (``devagent.proxy.logd``).
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from devagent.proxy.allowlist import Allowlist, AllowlistFile
from devagent.proxy.helper import serve_helper
from devagent.proxy.logd import serve_logd

LOGD_NAME = "devagent-logd"
CERTGEN = "/usr/lib/squid/security_file_certgen"


def main(policy: dict[str, Any], argv: list[str] | None = None) -> int:
    argv = sys.argv if argv is None else argv
    if Path(argv[0]).name == LOGD_NAME:
        serve_logd(Path(argv[1]))
        return 0
    command = argv[1] if len(argv) > 1 else "run"
    if command == "acl":
        rules = policy.get("rules_hosts") or []
        serve_helper(
            AllowlistFile(Path(policy["allowlist_path"])),
            Allowlist.parse(rules) if rules else None,
            policy.get("allow_command", "devagent allow {host}"),
            log_error=lambda text: print(text, file=sys.stderr, flush=True),
        )
        return 0
    if command == "mitm":
        from devagent.proxy.addon import load_policy
        from devagent.proxy.server import serve

        serve(load_policy(policy), argv[2:])
        return 0
    if command == "run":
        return supervise(policy)
    print(f"usage: {argv[0]} [run|acl|mitm]", file=sys.stderr)
    return 2


def own_addresses() -> list[str]:
    """This container's own addresses (squid must never connect to itself; loopback is
    refused anyway, with the other never-reached networks)."""
    found: set[str] = set()
    try:
        lines = Path("/proc/net/fib_trie").read_text().splitlines()
    except OSError:
        lines = []
    for previous, line in itertools.pairwise(lines):
        if "/32 host LOCAL" in line and not previous.split()[-1].startswith("127."):
            found.add(previous.split()[-1])
    try:
        for line in Path("/proc/net/if_inet6").read_text().splitlines():
            raw = line.split()[0]
            address = ipaddress.IPv6Address(int(raw, 16))
            if not address.is_loopback:
                found.add(address.compressed)
    except (OSError, ValueError, IndexError):
        pass
    return sorted(found)


def prepare(runtime: Path) -> None:
    """What squid reads or writes at run time, on the container's private tmpfs."""
    runtime.mkdir(parents=True, exist_ok=True)
    (runtime / "own-addresses").write_text("\n".join(own_addresses()) + "\n")
    database = runtime / "ssl_db"
    if not database.exists():
        subprocess.run([CERTGEN, "-c", "-s", str(database), "-M", "4MB"], check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"mitmproxy did not listen on port {port}")


def supervise(policy: dict[str, Any]) -> int:
    prepare(Path(policy["runtime_dir"]))
    squid = ["squid", "-N", "-f", policy["squid_conf"]]
    mitm = policy.get("mitm")
    if not mitm:
        # Nothing else to watch: squid itself becomes the container's process.
        os.execvp(squid[0], squid)  # noqa: S606 - a fixed argv, no shell
    children: list[subprocess.Popen[bytes]] = []
    process = subprocess.Popen(mitm["argv"])
    children.append(process)
    _wait_for_port(int(mitm["port"]), process)
    children.append(subprocess.Popen(squid))

    def stop(signum: int, _frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM if signum != signal.SIGINT else signal.SIGINT)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # Either one ending ends both: the container restarts the pair (fail closed meanwhile).
    _pid, status = os.wait()
    stop(signal.SIGTERM, None)
    for child in children:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
    return os.waitstatus_to_exitcode(status) or 1
