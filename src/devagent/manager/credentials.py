"""The agent's credentials: files named in config, copied where only the app reads them.

The copies live in devagent's data directory (a 0700 directory per project) and are
mounted read-only into the app; a login shell there exports them
(``devcontainer.CREDENTIALS_PROFILE``). Their values never enter a generated file, an image
or a container's environment.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from devagent import safefs

if TYPE_CHECKING:
    from devagent.config import Credentials


def configured(settings: Credentials) -> list[tuple[str, Path]]:
    return [
        (name, path)
        for name, path in (("claude", settings.claude), ("github", settings.github))
        if path is not None
    ]


def prepare(directory: Path, settings: Credentials) -> tuple[tuple[str, Path], ...]:
    """Copy each configured credential file into ``directory``; returns (name, copy).

    Rewritten in place, not replaced, so that a running container's mount sees a new
    token. A missing file is left out (``warnings`` says so).
    """
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)  # other host users: nothing to see here
    prepared = []
    for name, source in configured(settings):
        try:
            value = Path(source).expanduser().read_bytes().strip()
        except OSError:
            continue
        target = directory / name
        # In place (keeps the inode that is mounted), never through a link; the container
        # user reads it, whatever its uid.
        safefs.write_file(target, value + b"\n", mode=0o644)
        prepared.append((name, target))
    return tuple(prepared)


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
