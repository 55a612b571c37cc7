"""The proxy container's program: squid's helpers, and the supervisor that starts squid.

``filter.py`` (see ``devagent.proxy.bundle``) ends by calling ``main`` with the project's
policy. Standard library only, so that squid's helpers stay small:

- ``filter.py run``: the container's entry point. Writes what squid needs at run time (the
  proxy's own addresses, the certificate database), starts mitmproxy when some host's rules
  read bodies, then squid, and starts again whichever of them ends (``Supervisor``).
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


class Supervisor:
    """Runs mitmproxy (when some host needs it) and squid; a child that dies is started
    again after a second (meanwhile nothing gets out: fail closed), and SIGTERM or SIGINT
    stops both. As PID 1 it also reaps the orphans of squid's helpers.

    The container's restart policy is not enough on its own: rootless Podman 4.3 deadlocks
    restarting a container with a user namespace of its own (keep-id), which the proxy
    needs to write the user's log directory as the user.
    """

    def __init__(self, policy: dict[str, Any]) -> None:
        self.commands: dict[str, tuple[list[str], int | None]] = {}
        mitm = policy.get("mitm")
        if mitm:
            self.commands["mitmproxy"] = (list(mitm["argv"]), int(mitm["port"]))
        self.commands["squid"] = (["squid", "-N", "-f", policy["squid_conf"]], None)
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.stopping = False

    def start(self, name: str) -> None:
        argv, port = self.commands[name]
        process = subprocess.Popen(argv)
        self.children[name] = process
        if port is not None:
            _wait_for_port(port, process)

    def stop(self, signum: int, _frame: object) -> None:
        self.stopping = True
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        for name in self.commands:
            self.start(name)
        while not self.stopping or any(c.poll() is None for c in self.children.values()):
            try:
                pid, _status = os.wait()
            except ChildProcessError:
                break
            died = [name for name, child in self.children.items() if child.pid == pid]
            if died and not self.stopping:
                print(f"devagent proxy: {died[0]} ended; starting it again", file=sys.stderr,
                      flush=True)  # fmt: skip
                time.sleep(1)
                self.start(died[0])
        return 0


def supervise(policy: dict[str, Any]) -> int:
    prepare(Path(policy["runtime_dir"]))
    return Supervisor(policy).run()
