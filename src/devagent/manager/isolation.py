"""Reading the app's network state from inside it, to check what is really in force."""

from __future__ import annotations

import ipaddress
import socket
import struct
from dataclasses import dataclass


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
