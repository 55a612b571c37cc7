"""What an allowlist entry means, and whether a destination matches one.

This module is the single definition of allowlist semantics. The CLI uses it to validate
entries, and generation copies it verbatim into the proxy's ``filter.py``, so it imports
nothing but the standard library.

Entry forms:
  ``example.com``         exactly that host
  ``*.example.com``       any host *below* example.com at any depth (``a.example.com``,
                          ``a.b.example.com``) - but NOT ``example.com`` itself; list both
                          when both are wanted
  ``10.1.2.3``, ``::1``   that IP address (bare IPs are refused unless listed)
  ``host:8443``           the entry applies to that port only (``[::1]:8443`` for IPv6)
  ``host tunnel``        tunnels to the host are not intercepted (for clients that pin
                          certificates or speak only HTTP/2): the CONNECT host and port,
                          and the TLS SNI, are still checked; what is inside is not.
                          ``passthrough`` is another name for it; ``inspect`` (the default)
                          says the opposite explicitly
  ``host private``        the host may resolve to a private address (RFC 1918, 100.64/10,
                          fc00::/7: a company registry, a test network); without it such
                          addresses are refused. Options combine: ``host:8443 tunnel private``

Without a port an entry allows port 443 for tunnels (CONNECT) and ports 80 and 443 for
plain requests. Hosts are compared after normalization: lowercase, one trailing dot
removed, internationalized names in punycode, IP addresses in canonical form.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

DEFAULT_TUNNEL_PORTS = frozenset({443})
DEFAULT_PLAIN_PORTS = frozenset({80, 443})

_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
# What an IPv4 or IPv6 literal can look like (a superset: ipaddress decides).
_MAYBE_IP = re.compile(r"^[0-9.]+$|^[0-9a-fA-F:.%]*:[0-9a-zA-Z:.%]*$")


class InvalidHost(ValueError):
    """A host name or allowlist entry that cannot be used."""


def normalize_host(raw: str) -> str:
    """Return the canonical form of a host name or IP literal, or raise InvalidHost."""
    host = raw.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host:
        raise InvalidHost("empty host")
    if _MAYBE_IP.match(host):  # most names cannot be addresses: skip the costly attempt
        try:
            return ipaddress.ip_address(host).compressed
        except ValueError:
            pass
    if any(c in host for c in "%@/\\:?#[] \t"):
        raise InvalidHost(f"{raw!r} is not a plain host name")
    if host.endswith("."):
        host = host[:-1]
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise InvalidHost(f"{raw!r} is not a valid internationalized name") from exc
    host = host.lower()
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise InvalidHost(f"{raw!r} is not a valid host name")
    if labels[-1].isdigit():
        # "1.2.3" or "010.1.1.1" would be read as an address by some resolvers.
        raise InvalidHost(f"{raw!r} looks like an IP address but is not a canonical one")
    return host


def is_ip(host: str) -> bool:
    if not _MAYBE_IP.match(host):
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


INSPECT, TUNNEL, PASSTHROUGH, PRIVATE = "inspect", "tunnel", "passthrough", "private"
OPTIONS = (INSPECT, TUNNEL, PASSTHROUGH, PRIVATE)


class Entry(NamedTuple):
    """One allowlist entry: a normalized host, whether it is a ``*.`` wildcard, its port,
    whether its tunnels pass uninspected (mode ``tunnel``), and whether it may resolve to a
    private address."""

    host: str
    wildcard: bool = False
    port: int | None = None
    passthrough: bool = False
    private: bool = False

    @property
    def mode(self) -> str:
        return TUNNEL if self.passthrough else INSPECT

    def __str__(self) -> str:
        host = f"*.{self.host}" if self.wildcard else self.host
        if self.port is not None:
            host = f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"
        words = [
            host,
            *([TUNNEL] if self.passthrough else []),
            *([PRIVATE] if self.private else []),
        ]
        return " ".join(words)


def parse_entry(text: str) -> Entry:
    """Parse one allowlist entry; raise InvalidHost saying what is wrong with it."""
    if not text.split():
        raise InvalidHost("empty entry")
    raw, *options = text.split()
    unknown = [option for option in options if option not in OPTIONS]
    if unknown:
        raise InvalidHost(f"{text!r}: unknown option {unknown[0]!r} (known: {', '.join(OPTIONS)})")
    tunnel = bool({TUNNEL, PASSTHROUGH} & set(options))
    if tunnel and INSPECT in options:
        raise InvalidHost(f"{text!r}: an entry is either inspected or tunnelled, not both")
    if "://" in raw or "/" in raw:
        raise InvalidHost(f"{text!r} is a URL; list the host name only (e.g. 'example.com')")
    host, port = _split_port(raw, text)
    wildcard = host.startswith("*.")
    if wildcard:
        host = host[2:]
    if "*" in host:
        raise InvalidHost(f"{text!r}: a wildcard is only allowed as a leading '*.'")
    try:
        normalized = normalize_host(host)
    except InvalidHost as exc:
        raise InvalidHost(f"{text!r} is not a host name, IP address or *.wildcard: {exc}") from exc
    if wildcard and is_ip(normalized):
        raise InvalidHost(f"{text!r}: an IP address cannot be a wildcard")
    return Entry(normalized, wildcard, port, tunnel, PRIVATE in options)


def _split_port(raw: str, text: str) -> tuple[str, int | None]:
    if raw.startswith("["):
        host, _, rest = raw[1:].partition("]")
        if not rest:
            return host, None
        if not rest.startswith(":"):
            raise InvalidHost(f"{text!r} is not a host name, IP address or *.wildcard")
        return host, _parse_port(rest[1:], text)
    if raw.count(":") == 1:
        host, _, port_text = raw.partition(":")
        return host, _parse_port(port_text, text)
    return raw, None


def _parse_port(port_text: str, text: str) -> int:
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InvalidHost(f"{text!r}: the port must be a number from 1 to 65535")
    return int(port_text)


class Allowlist:
    """A set of entries answering ``allows(host, port)`` in time independent of its size."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self.entries = tuple(sorted(set(entries), key=lambda e: (e.host, e.wildcard, e.port or 0)))
        self._allowed = _Tables(self.entries)
        self._passthrough = _Tables(e for e in self.entries if e.passthrough)
        self._private = _Tables(e for e in self.entries if e.private)

    @classmethod
    def parse(cls, texts: Iterable[str]) -> Allowlist:
        return cls(parse_entry(text) for text in texts)

    def allows(self, host: str, port: int, *, tunnel: bool = False) -> bool:
        """Whether a (normalized) host and port may be reached."""
        return self._allowed.match(host, port, tunnel)

    def passes_through(self, host: str, port: int) -> bool:
        """Whether a tunnel to this (normalized) host and port is left uninspected."""
        return self._passthrough.match(host, port, True)

    def may_be_private(self, host: str, port: int, *, tunnel: bool = False) -> bool:
        """Whether this (normalized) host and port may resolve to a private address."""
        return self._private.match(host, port, tunnel)

    def __len__(self) -> int:
        return len(self.entries)


class _Tables:
    """Exact and ``*.`` suffix lookups, each a dict: no scan of the entries."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self.exact: dict[str, set[int | None]] = {}
        self.suffix: dict[str, set[int | None]] = {}
        for entry in entries:
            table = self.suffix if entry.wildcard else self.exact
            table.setdefault(entry.host, set()).add(entry.port)

    def match(self, host: str, port: int, tunnel: bool) -> bool:
        defaults = DEFAULT_TUNNEL_PORTS if tunnel else DEFAULT_PLAIN_PORTS
        ports = self.exact.get(host)
        if ports is not None and _port_allowed(ports, port, defaults):
            return True
        if is_ip(host):
            return False
        rest = host
        while "." in rest:
            rest = rest.split(".", 1)[1]
            ports = self.suffix.get(rest)
            if ports is not None and _port_allowed(ports, port, defaults):
                return True
        return False


def _port_allowed(ports: set[int | None], port: int, defaults: frozenset[int]) -> bool:
    return port in ports or (None in ports and port in defaults)


class AllowlistFile:
    """The allowlist in a JSON file, re-read when it changes:
    ``{"allowlist": [...], "until": {entry: unix time}, "declined": [host, ...]}``.

    ``until`` holds entries the user allowed for a while (in force until that time);
    ``declined`` the hosts the user said no to (the refusal tells the agent not to retry).
    The file is looked at no more than every ``interval`` seconds. A file that cannot be
    read or parsed allows nothing (fail closed) until it is fixed.
    """

    def __init__(self, path: Path, *, interval: float = 0.25) -> None:
        self.path = path
        self.interval = interval
        self._allowlist = Allowlist([])
        self.declined: frozenset[str] = frozenset()
        self._seen: tuple[int, int, int] | None = None
        self._checked = -interval
        self._expires = math.inf  # when the first entry allowed for a while runs out
        self.error: str | None = None

    def current(self) -> Allowlist:
        now = time.monotonic()
        if now - self._checked >= self.interval:
            self._checked = now
            if time.time() >= self._expires:
                self._seen = None  # read it again: an entry ran out
            self._reload()
        return self._allowlist

    def _reload(self) -> None:
        try:
            stat = self.path.stat()
            seen = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            if seen == self._seen:
                return
            document = json.loads(self.path.read_text(encoding="utf-8"))
            entries, now = list(document["allowlist"]), time.time()
            until = {str(k): float(v) for k, v in (document.get("until") or {}).items()}
            live = {entry: end for entry, end in until.items() if end > now}
            self._allowlist = Allowlist.parse([*entries, *live])
            self.declined = frozenset(str(host) for host in document.get("declined") or [])
            self._expires = min(live.values(), default=math.inf)
            self._seen, self.error = seen, None
        except (OSError, ValueError, KeyError, TypeError, AttributeError, InvalidHost) as exc:
            self._allowlist, self._seen, self.declined = Allowlist([]), None, frozenset()
            self._expires = math.inf
            self.error = f"{self.path}: {exc}"
