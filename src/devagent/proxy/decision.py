"""The one decision: may this request or tunnel go out, and how.

Pure and standard-library only: squid's external ACL helper (``devagent.proxy.helper``)
and the mitmproxy addon (``devagent.proxy.addon``) both call ``decide``, and the squid
configuration and the addon both take their address policy from here.

A request names its destination up to four times: the CONNECT target, the URL (absolute
form, or the CONNECT target for origin-form requests inside a tunnel), the ``Host`` header
and the TLS SNI. Every name it carries must be the same host, and that host and port must
be allowlisted; the entry then says how the tunnel is handled (its mode) and whether the
host may resolve to a private address.
"""

from __future__ import annotations

import ipaddress
from typing import NamedTuple

from devagent.proxy.allowlist import Allowlist, InvalidHost, normalize_host

# How a tunnel is handled: TLS terminated with the project's CA and every request inside
# decided on its own; spliced after the ClientHello; handed to mitmproxy for rules that read
# bodies; or a plain http:// request.
INSPECT, TUNNEL, RULES, HTTP = "inspect", "tunnel", "rules", "http"

# Never reached, whatever the allowlist says: loopback, unspecified, link-local (cloud
# metadata among them), multicast, broadcast and reserved, and their IPv6 kin. The AWS
# metadata address fd00:ec2::254 sits inside fc00::/7, so it is named here first.
NEVER_NETWORKS = (
    "0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4",
    "::/128", "::1/128", "fe80::/10", "ff00::/8", "fd00:ec2::254/128",
)  # fmt: skip
# Reached only through entries marked ``private``: RFC 1918, carrier-grade NAT, unique local.
PRIVATE_NETWORKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")

Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


def networks(texts: tuple[str, ...] | list[str]) -> Networks:
    return tuple(ipaddress.ip_network(text) for text in texts)


NEVER = networks(NEVER_NETWORKS)
PRIVATE = networks(PRIVATE_NETWORKS)


# NamedTuple, not dataclass: mitmproxy runs the generated file without registering it as a
# module, and dataclasses look their module up in sys.modules.
NOT_ALLOWED = "not in allowlist"  # the refusal the user decides on (devagent inbox)


class Decision(NamedTuple):
    allowed: bool
    reason: str
    host: str
    mode: str = INSPECT
    private: bool = False


def decide(
    allowlist: Allowlist,
    *,
    target_host: str,
    target_port: int,
    host_header: str | None,
    sni: str | None,
    tunnel: bool,
    connect: tuple[str, int] | None = None,
    rules: Allowlist | None = None,
) -> Decision:
    """Decide one request or CONNECT from every name it carries for its destination.

    ``connect`` is the CONNECT target of the tunnel a request arrived in (None for a plain
    request or the CONNECT itself); ``rules`` lists the hosts whose tunnels go to mitmproxy.
    """
    try:
        host = normalize_host(target_host)
    except InvalidHost:
        return Decision(False, "invalid destination host", target_host)
    names: list[tuple[str, str | None]] = [("Host header", host_header), ("TLS SNI", sni)]
    if connect is not None:
        names.append(("tunnel's CONNECT host", connect[0]))
    for label, other in names:
        if other is None:
            continue
        try:
            other_host = normalize_host(_strip_port(other))
        except InvalidHost:
            return Decision(False, f"invalid {label}", host)
        if other_host != host:
            return Decision(False, f"{label} {other_host!r} differs from destination", host)
    if connect is not None and connect[1] != target_port:
        return Decision(False, f"port {target_port} differs from the tunnel's", host)
    if not allowlist.allows(host, target_port, tunnel=tunnel):
        return Decision(False, NOT_ALLOWED, host)
    private = allowlist.may_be_private(host, target_port, tunnel=tunnel)
    if not tunnel and rules is not None and rules.allows(host, target_port):
        # Credentials and the GitHub policies are applied inside TLS only.
        return Decision(False, "plain HTTP to a host with rules: use HTTPS", host)
    if not tunnel:
        mode = HTTP
    elif rules is not None and rules.allows(host, target_port, tunnel=True):
        mode = RULES
    elif allowlist.passes_through(host, target_port):
        mode = TUNNEL
    else:
        mode = INSPECT
    return Decision(True, "allowlisted", host, mode, private)


def _strip_port(authority: str) -> str:
    if authority.startswith("["):
        return authority[1 : authority.find("]")] if "]" in authority else authority
    host, sep, port = authority.rpartition(":")
    return host if sep and port.isdigit() and ":" not in host else authority


def address_refusal(
    address: str,
    *,
    private_ok: bool,
    own: frozenset[str] = frozenset(),
    never: Networks = NEVER,
    private: Networks = PRIVATE,
) -> str:
    """Why the proxy must not connect to ``address`` ('' when it may)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address!r} is not an address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.compressed in own:
        return f"{ip} is the proxy's own address"
    if any(ip in network for network in never):
        return f"{ip} is a loopback, link-local, multicast or reserved address"
    if not private_ok and any(ip in network for network in private):
        return f"{ip} is a private address (allow the host with the 'private' option)"
    return ""
