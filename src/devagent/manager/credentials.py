"""The agent's credentials: files named in config, held where only the proxy reads them.

devagent copies each into its data directory (a 0700 directory per project, the files
0600, owned by the proxy's user), which is mounted read-only into the proxy alone. The app
gets placeholders of the same shape (``generate.options.PLACEHOLDERS``) and the proxy puts
the real values on the wire, on the hosts each is bound to (``devagent.proxy.credentials``).
The values never enter a generated file, an image, a container's environment or a log.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from devagent import safefs
from devagent.generate.layout import PROXY_SYSTEM_ID
from devagent.generate.options import CredentialBinding
from devagent.proxy.credentials import OAUTH_PREFIX

if TYPE_CHECKING:
    from devagent.config import Config, Credentials


def configured(settings: Credentials) -> list[tuple[str, Path]]:
    return [
        (name, path)
        for name, path in (("claude", settings.claude), ("github", settings.github))
        if path is not None
    ]


def kind_of(name: str, value: bytes) -> str:
    """Which headers and placeholder a credential takes: by its name, and its shape."""
    if name == "github":
        return "github"
    return "anthropic-oauth" if value.startswith(OAUTH_PREFIX.encode()) else "anthropic-key"


def prepare(directory: Path, settings: Credentials) -> tuple[tuple[str, str], ...]:
    """Copy each configured credential file into ``directory``; returns (name, kind).

    Replaced atomically (the directory is mounted), so that a running proxy reads a new
    token at once and never half of one. Readable by the
    proxy's user only (when devagent runs as root, the proxy's system id owns them). A
    missing or empty file is left out (``warnings`` says so), and a copy of a credential no
    longer configured is removed.
    """
    directory.mkdir(parents=True, exist_ok=True)
    owner = PROXY_SYSTEM_ID if os.geteuid() == 0 else None
    fd = safefs.open_directory(directory)
    try:
        os.fchmod(fd, 0o700)  # other host users: nothing to see here
        if owner is not None:
            os.fchown(fd, owner, owner)
    finally:
        os.close(fd)
    prepared = []
    for name, source in configured(settings):
        try:
            value = Path(source).expanduser().read_bytes().strip()
        except OSError:
            continue
        if not value:
            continue
        target = directory / name
        safefs.replace_file(target, value + b"\n", mode=0o600, owner=owner)
        prepared.append((name, kind_of(name, value)))
    for stale in {"claude", "github"} - {name for name, _ in prepared}:
        (directory / stale).unlink(missing_ok=True)
    return tuple(prepared)


def bindings(
    config: Config, prepared: tuple[tuple[str, str], ...]
) -> tuple[CredentialBinding, ...]:
    """Each prepared credential with the hosts it is put on the wire for."""
    hosts = {"claude": tuple(config.anthropic_hosts), "github": tuple(config.github_hosts)}
    return tuple(CredentialBinding(name, kind, hosts[name]) for name, kind in prepared)


def warnings(settings: Credentials) -> tuple[str, ...]:
    found = []
    if settings.claude is None:
        found.append(
            "no Claude credential configured: Claude Code will ask to log in; run "
            "`claude setup-token` on the host, save the token to a file and set "
            "credentials.claude to it in config.yaml"
        )
    for name, path in configured(settings):
        if not Path(path).expanduser().is_file():
            found.append(f"credentials.{name}: {path} does not exist; it is not mounted")
    return tuple(found)


def seed_claude_config(claude_dir: Path, uid: int) -> None:
    """Onboarding done, so the agent starts straight away; owned by the agent's user.

    The directory is the agent's (mounted read-write into the app): devagent creates the
    one file it seeds only where nothing is, never follows a link, and gives away only the
    directory and that file, through their descriptors (no walk of the tree as root).
    """
    claude_dir.mkdir(parents=True, exist_ok=True)
    owner = uid if os.geteuid() == 0 else None  # a rootful engine: the agent's uid owns it
    fd = safefs.open_directory(claude_dir)
    try:
        if owner is not None:
            os.fchown(fd, owner, owner)
        os.fchmod(fd, 0o700)
        settings = json.dumps({"hasCompletedOnboarding": True}).encode() + b"\n"
        safefs.create_file(fd, ".claude.json", settings, owner=owner, where=claude_dir)
    finally:
        os.close(fd)
