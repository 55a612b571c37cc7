"""The project's git metadata: what the app may not change, and whether it changed anyway.

The project, ``.git`` included, is the agent's to write. But git on the host runs what
``.git/config`` (``core.fsmonitor``, ``core.hooksPath``, filters, ``diff.external``...) and
``.git/hooks/`` name, and reads ``.git/commondir`` and ``config.worktree``. So in the app
``.git`` is a mount point of its own (it cannot be renamed or replaced), and its
``config``, ``hooks`` and ``info`` are read-only mounts; objects, refs, the index and the
rest stay writable, so commits, branches, stash and fetch work as usual.

What the app cannot write may still change from the host, or by a way nobody thought of:
devagent keeps a snapshot of the guarded metadata from ``create`` (digests only) and
``start`` and ``status`` name every key or file that differs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

from devagent.safefs import replace_file

GUARDED = ("config", "hooks", "info")
# Files git reads at the top of .git that redirect it elsewhere.
REDIRECTS = ("commondir", "config.worktree", "gitdir")
_SECTION = re.compile(r'^\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]')
_MAX_BYTES = 1 << 20


def guarded_metadata(project: Path, *, make_missing: bool = True) -> tuple[str, ...]:
    """The names under ``.git`` to mount read-only (none when ``.git`` is not a directory).

    With ``make_missing`` (at create), ``hooks`` and ``info`` are made if missing, through
    the directory's descriptor, so that the app cannot create them in their place.
    """
    try:
        fd = os.open(project / ".git", os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return ()  # no repository, or .git is a file or a link: nothing devagent mounts
    try:
        for name in ("hooks", "info") if make_missing else ():
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, 0o755, dir_fd=fd)
        present = []
        for name in GUARDED:
            try:
                kind = os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode
            except FileNotFoundError:
                continue
            if not stat.S_ISLNK(kind):
                present.append(name)
        return tuple(present)
    finally:
        os.close(fd)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _read(path: Path) -> bytes | None:
    """A regular file's first MiB, never through a link (None for anything else)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.read(fd, _MAX_BYTES)
    finally:
        os.close(fd)


def config_keys(text: str) -> dict[str, str]:
    """``section[.subsection].key`` -> digest of its values, from a git config file."""
    keys: dict[str, list[str]] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        header = _SECTION.match(line)
        if header:
            name, sub = header.group(1).lower(), header.group(2)
            section = f"{name}.{sub}" if sub is not None else name
            line = line[header.end() :].strip()
            if not line:
                continue
        key, _, value = line.partition("=")
        keys.setdefault(f"{section}.{key.strip().lower()}", []).append(value.strip())
    return {key: _digest("\n".join(values).encode()) for key, values in keys.items()}


def _directory(path: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    try:
        entries = sorted(os.scandir(path), key=lambda entry: entry.name)
    except OSError:
        return found
    for entry in entries[:1000]:
        if entry.is_symlink():
            found[entry.name] = "link to " + str(Path(entry.path).readlink())
        elif entry.is_file(follow_symlinks=False):
            data = _read(Path(entry.path))
            found[entry.name] = _digest(data) if data is not None else "unreadable"
        else:
            found[entry.name] = "directory" if entry.is_dir(follow_symlinks=False) else "special"
    return found


def snapshot(project: Path) -> dict[str, Any]:
    """Digests of everything guarded (no content is kept)."""
    git = project / ".git"
    try:
        info = git.lstat()
    except OSError:
        return {"git": None}
    config = _read(git / "config")
    return {
        "git": [info.st_dev, info.st_ino, stat.S_IFMT(info.st_mode)],
        "config": config_keys(config.decode(errors="replace")) if config is not None else None,
        "hooks": _directory(git / "hooks"),
        "info": _directory(git / "info"),
        "redirects": {
            name: _digest(data) for name in REDIRECTS if (data := _read(git / name)) is not None
        }
        | {name: "link" for name in REDIRECTS if (git / name).is_symlink()},
    }


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What differs, one short phrase each (``core.fsmonitor added``, ``hooks/pre-commit``)."""
    found = []
    if before.get("git") != after.get("git"):
        found.append(".git itself (replaced, moved or made a link or a file)")
    for part, prefix in (("config", ""), ("hooks", "hooks/"), ("info", "info/"),
                         ("redirects", "")):  # fmt: skip
        old, new = before.get(part) or {}, after.get(part) or {}
        for key in sorted(set(old) | set(new)):
            if key not in old:
                found.append(f"{prefix}{key} added")
            elif key not in new:
                found.append(f"{prefix}{key} removed")
            elif old[key] != new[key]:
                found.append(f"{prefix}{key} changed")
    return found


def save(record: Path, project: Path) -> None:
    document = json.dumps(snapshot(project), indent=1, sort_keys=True) + "\n"
    replace_file(record, document.encode())


def warnings(record: Path, project: Path) -> tuple[str, ...]:
    """A loud warning naming what changed since create (nothing if no record was kept)."""
    try:
        before = json.loads(record.read_text())
    except (OSError, ValueError):
        return ()
    found = changes(before, snapshot(project))
    if not found:
        return ()
    return (
        f"GIT METADATA CHANGED since create in {project}/.git: {', '.join(found)}. Git on this "
        "host runs what .git/config and .git/hooks name: read them before any git command "
        f"here (`cat {project}/.git/config`), then `devagent create` records them anew",
    )
