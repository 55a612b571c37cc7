"""The isolation self-test: what the app can really reach, tried from inside the app.

Run after every create and start, and on demand (`devagent verify`). Each check pairs a
way out that must fail with evidence that the environment itself works, so that a broken
network cannot pass for a secure one.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from dataclasses import dataclass
from typing import Any

from devagent.generate.layout import PROXY_HOST, PROXY_PORT
from devagent.project import SUBNET_PREFIX, Project
from devagent.proxy.records import PROBE_HOST
from devagent.runtime import Runtime

# Names that no allowlist or resolver should ever answer (RFC 2606/6761 reserved). The
# proxy's log marks requests to PROBE_HOST as the self-test's, never as a host to allow.
UNLISTED_URL = f"http://{PROBE_HOST}/"
CLEAN_ENV = ("env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "HOME=/nonexistent", "LC_ALL=C")  # fmt: skip
EXTERNAL_NAME = "devagent-verify.example.com"


@dataclass(frozen=True)
class Route:
    destination: ipaddress.IPv4Address
    mask: ipaddress.IPv4Address
    gateway: ipaddress.IPv4Address


def _le_address(hex_text: str) -> ipaddress.IPv4Address:
    # /proc/net/route prints addresses as host-order (little-endian) hex.
    return ipaddress.IPv4Address(socket.inet_ntoa(struct.pack("<I", int(hex_text, 16))))


def parse_proc_routes(text: str) -> list[Route]:
    routes = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8:
            routes.append(Route(_le_address(fields[1]), _le_address(fields[7]),
                                _le_address(fields[2])))  # fmt: skip
    return routes


def hosts_address(hosts_text: str, name: str) -> str | None:
    for line in hosts_text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and name in fields[1:]:
            return fields[0]
    return None


def only_route_is_to(routes: list[Route], address: str) -> bool:
    """True when the one route left leads straight to ``address`` and nowhere else."""
    return len(routes) == 1 and (
        str(routes[0].destination) == address
        and str(routes[0].mask) == "255.255.255.255"
        and int(routes[0].gateway) == 0
    )


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class VerifyResult:
    project_path: str
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if not check.ok)

    def to_json(self) -> dict[str, Any]:
        return {
            "project_path": self.project_path,
            "ok": self.ok,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
        }


@dataclass(frozen=True)
class RouteView:
    """The app's routing table and where its /etc/hosts puts the proxy."""

    proxy_ip: str | None
    routes: tuple[Route, ...]

    @property
    def isolated(self) -> bool:
        return self.proxy_ip is not None and only_route_is_to(list(self.routes), self.proxy_ip)

    def describe(self) -> str:
        return ", ".join(f"{r.destination}/{r.mask} via {r.gateway}" for r in self.routes) or "none"


def local_addresses(fib_trie: str) -> set[str]:
    """The addresses of the container itself, from /proc/net/fib_trie's LOCAL entries."""
    found: set[str] = set()
    last = ""
    for line in fib_trie.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "|--":
            last = words[1]
        elif words[:3] == ["/32", "host", "LOCAL"] and last:
            found.add(last)
    return found


def beside(proxy_ip: str, taken: set[str]) -> str:
    """The highest address of the proxy's subnet that is neither the proxy nor the app."""
    subnet = ipaddress.ip_network(f"{proxy_ip}/{SUBNET_PREFIX}", strict=False)
    for address in reversed(list(subnet.hosts())):
        if str(address) != proxy_ip and str(address) not in taken:
            return str(address)
    return str(subnet.broadcast_address)


def read_routes(runtime: Runtime, project: Project) -> RouteView:
    routes = runtime.exec(project.app_container, ["cat", "/proc/net/route"], timeout=30)
    hosts = runtime.exec(project.app_container, ["cat", "/etc/hosts"], timeout=30)
    return RouteView(
        hosts_address(hosts.stdout, PROXY_HOST), tuple(parse_proc_routes(routes.stdout))
    )


def run_checks(
    runtime: Runtime, project: Project, *, git_metadata: tuple[str, ...] = ()
) -> VerifyResult:
    """Try each way out from inside the app (as its container user's peer, root-less exec),
    and that the project's ``git_metadata`` (names under .git/) cannot be written there."""
    app = project.app_container

    def sh(*argv: str) -> tuple[int, str]:
        # A clean environment, no home: nothing the agent wrote (~/.curlrc, BASH_ENV, a PATH
        # of its own) takes part in the test.
        result = runtime.exec(app, [*CLEAN_ENV, *argv], timeout=30)
        return result.returncode, result.stdout + result.stderr

    checks = []
    view = read_routes(runtime, project)
    proxy_ip = view.proxy_ip
    checks.append(
        Check(
            "the only route leads to the proxy",
            view.isolated,
            f"proxy {proxy_ip or 'not in /etc/hosts'}; routes: {view.describe()}",
        )
    )
    if proxy_ip:
        # An address beside the proxy that nothing holds. With the proxy's /32 as the only
        # route the kernel refuses at once ("Network is unreachable"); any broader route
        # gives "refused", "no route to host" (after ARP) or a timeout instead.
        # Never the app's own address: the engine may give it any address of the subnet,
        # and a connection to itself is refused locally (a false alarm, not a way out).
        own = local_addresses(runtime.exec(app, ["cat", "/proc/net/fib_trie"], timeout=30).stdout)
        target = beside(proxy_ip, own)
        code, output = sh("timeout", "3", "bash", "-c", f"exec 3<>/dev/tcp/{target}/80")
        checks.append(
            Check(
                "a direct connection beside the proxy is unroutable",
                code != 0 and "Network is unreachable" in output,
                f"{target}: exit {code}: {output.strip()[:120] or 'connected'}",
            )
        )
    code, output = sh("getent", "hosts", EXTERNAL_NAME)
    checks.append(
        Check(
            "an external name does not resolve",
            code == 2,  # getent: "key not found"; 127 would mean it could not even check
            f"getent exit {code}{': ' + output.strip()[:120] if output.strip() else ''}",
        )
    )
    code, headers = sh("curl", "-q", "-s", "-o", "/dev/null", "-D", "-", "--max-time", "10",
                       "--proxy", f"http://{PROXY_HOST}:{PROXY_PORT}", UNLISTED_URL)  # fmt: skip
    first = headers.strip().splitlines()[0] if headers.strip() else f"curl exit {code}"
    checks.append(
        Check(
            "an unlisted host gets the proxy's 403",
            " 403" in first and "x-devagent-blocked" in headers.lower(),
            first,
        )
    )
    if git_metadata:
        paths = " ".join(f"{project.workspace_folder}/.git/{name}" for name in git_metadata)
        _, output = sh("sh", "-c", f'for p in {paths}; do [ -w "$p" ] && echo "writable: $p"; '
                       "done; true")  # fmt: skip
        writable = [line for line in output.splitlines() if line.startswith("writable:")]
        checks.append(
            Check(
                "the project's git metadata is read-only in the app",
                not writable,
                "; ".join(writable) or ", ".join(f".git/{name}" for name in git_metadata),
            )
        )
    return VerifyResult(str(project.path), tuple(checks))
