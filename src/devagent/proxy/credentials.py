"""Credentials the proxy puts on the wire: the app holds placeholders, never the values.

Each credential is bound to hosts (allowlist patterns). On an HTTPS request to one of them the
proxy replaces the credential headers the client sent with the real ones, read from a file
mounted read-only into the proxy alone (re-read when it changes, so a rotated token is
used at once). On any other host nothing is swapped: a placeholder travels as it is. The
values never enter a log record or an error message; records name the credential.

Standard library only (it runs inside the proxy); the header objects are mitmproxy's.
"""

from __future__ import annotations

import base64
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devagent.proxy.allowlist import Allowlist

ANTHROPIC, GITHUB = "anthropic", "github"
OAUTH_PREFIX = "sk-ant-oat"
OAUTH_BETA = "oauth-2025-04-20"
# Git's smart-HTTP requests (GitHub takes Basic there and refuses Bearer).
_GIT_PATHS = ("/info/refs", "/git-upload-pack", "/git-receive-pack")
# Where a setup-token's missing user:profile scope makes the API answer 403.
PROFILE_PATHS = ("/api/oauth/profile", "/api/oauth/usage")


@dataclass(frozen=True)
class Binding:
    """One credential: its name, its kind (which headers), its hosts, and its file."""

    name: str
    kind: str
    hosts: Allowlist
    path: Path


class Keyring:
    """The proxy's credentials, by host; values read from their files when they change."""

    def __init__(self, bindings: tuple[Binding, ...]) -> None:
        self.bindings = bindings
        self._cache: dict[Path, tuple[tuple[int, int], str]] = {}

    @classmethod
    def from_policy(cls, policy: dict[str, Any]) -> Keyring:
        directory = Path(policy.get("credentials_dir") or "/nonexistent")
        return cls(
            tuple(
                Binding(
                    entry["name"],
                    entry["kind"],
                    Allowlist.parse(entry["hosts"]),
                    directory / entry["name"],
                )
                for entry in policy.get("credentials", ())
            )
        )

    def for_host(self, host: str, port: int) -> Binding | None:
        """The credential bound to this (normalized) host and port (HTTPS ports only)."""
        return next((b for b in self.bindings if b.hosts.allows(host, port, tunnel=True)), None)

    def value(self, binding: Binding) -> str | None:
        """The credential's value now, or None when its file is missing or empty."""
        try:
            stat = binding.path.stat()
            key = (stat.st_mtime_ns, stat.st_size)
            cached = self._cache.get(binding.path)
            if cached is None or cached[0] != key:
                cached = (key, binding.path.read_text(encoding="utf-8").strip())
                self._cache[binding.path] = cached
        except (OSError, UnicodeDecodeError):
            return None
        return cached[1] or None

    def carried(self, texts: list[str]) -> str | None:
        """The name of a credential whose real value appears in any of ``texts``."""
        for binding in self.bindings:
            value = self.value(binding)
            if value and len(value) >= 8 and any(value in text for text in texts):
                return binding.name
        return None


def put_on_wire(headers: MutableMapping[str, str], kind: str, value: str, path: str) -> None:
    """Replace the credential headers of a request to a host bound to this credential."""
    if kind == ANTHROPIC:
        _anthropic(headers, value)
    elif kind == GITHUB:
        headers.pop("authorization", None)
        if is_git_request(path):
            basic = base64.b64encode(f"x-access-token:{value}".encode()).decode()
            headers["authorization"] = f"Basic {basic}"
        else:
            headers["authorization"] = f"Bearer {value}"
    else:
        raise ValueError(f"unknown credential kind {kind!r}")


def _anthropic(headers: MutableMapping[str, str], value: str) -> None:
    # The API refuses a request whose x-api-key is wrong even when Authorization is right.
    headers.pop("x-api-key", None)
    headers.pop("authorization", None)
    if not value.startswith(OAUTH_PREFIX):
        headers["x-api-key"] = value
        return
    headers["authorization"] = f"Bearer {value}"
    flags = [flag.strip() for flag in headers.get("anthropic-beta", "").split(",")]
    if OAUTH_BETA not in flags:
        flags.append(OAUTH_BETA)
    headers["anthropic-beta"] = ",".join(flag for flag in flags if flag)


def is_git_request(path: str) -> bool:
    return path.split("?", 1)[0].rstrip("/").endswith(_GIT_PATHS)


def is_oauth(value: str | None) -> bool:
    return bool(value and value.startswith(OAUTH_PREFIX))


def hides_missing_scope(path: str, status: int) -> bool:
    """A profile or usage call refused for a setup-token's scope: answered with an empty 200."""
    return status == 403 and path.split("?", 1)[0].rstrip("/") in PROFILE_PATHS
