"""File operations on the host in directories the app can write, without following links.

The agent can replace anything it can write with a symbolic link, between any two steps
of devagent's. So in such a directory devagent works through a file descriptor of the
directory and ``O_NOFOLLOW``: it creates files only where nothing is, changes ownership
only of what it opened itself (``fchown``), never walks the tree, and refuses a link or a
non-regular file with a clear error.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from devagent.errors import DevagentError

_NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafePath(DevagentError):
    """A path devagent will not touch: a link or a special file where a file should be."""


def open_directory(path: Path) -> int:
    """A descriptor of the directory ``path`` (its last component may not be a link)."""
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW)
    except OSError as exc:
        raise UnsafePath(
            f"{path} is not a directory devagent can use safely ({exc.strerror})",
            hint=f"remove {path} (the agent may have replaced it with a link); then run again",
        ) from exc


def _refuse(directory: Path, name: str, what: str) -> UnsafePath:
    return UnsafePath(
        f"{directory / name} is {what}, not a regular file: devagent does not follow it",
        hint=f"look at it, remove it ({directory / name}), then run the command again",
    )


def create_file(
    dir_fd: int, name: str, data: bytes, *, mode: int = 0o600, owner: int | None = None,
    where: Path = Path(),
) -> bool:  # fmt: skip
    """Create ``name`` in the directory with ``data`` unless a regular file is there already.

    Returns whether it was created; a link or anything else in its place is refused.
    ``owner`` (a uid, also used as gid) is given to the new file through its descriptor.
    """
    try:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, mode, dir_fd=dir_fd)
    except FileExistsError:
        found = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if stat.S_ISREG(found.st_mode):
            return False
        raise _refuse(where, name, "a link" if stat.S_ISLNK(found.st_mode) else "special") from None
    try:
        os.write(fd, data)
        if owner is not None:
            os.fchown(fd, owner, owner)
    finally:
        os.close(fd)
    return True


def write_file(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Write ``data`` into ``path`` in place (the inode a mount holds stays), never through
    a link, never into anything but a regular file."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | _NOFOLLOW, mode)
    except OSError as exc:
        raise _refuse(path.parent, path.name, "a link or special") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _refuse(path.parent, path.name, "special")
        os.ftruncate(fd, 0)
        os.write(fd, data)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def replace_file(path: Path, data: bytes, *, mode: int = 0o644, owner: int | None = None) -> None:
    """Give ``path`` the content ``data`` atomically: readers see the old file or the new
    one, never half of it, also when devagent is killed half-way (devagent's one writer of
    whole files; the temporary name is never followed if something put a link there).
    ``owner`` (a uid, also used as gid) owns the new file from before it takes the name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, mode)
    try:
        try:
            os.write(fd, data)
            os.fchmod(fd, mode)
            if owner is not None:
                os.fchown(fd, owner, owner)
            os.fsync(fd)
        finally:
            os.close(fd)
        temporary.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def _chown_below(fd: int, uid: int) -> None:
    os.chown(fd, uid, uid)
    for entry in os.scandir(fd):
        if entry.is_dir(follow_symlinks=False):
            with contextlib.suppress(FileNotFoundError):
                below = os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW, dir_fd=fd)
                try:
                    _chown_below(below, uid)
                finally:
                    os.close(below)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.chown(entry.name, uid, uid, dir_fd=fd, follow_symlinks=False)


def _down(fd: int, name: str) -> int:
    """The directory ``name`` in ``fd`` (not a link); closes ``fd``."""
    try:
        return os.open(name, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW, dir_fd=fd)
    finally:
        os.close(fd)


def hand_over(
    anchor: Path, walk: tuple[str, ...], own: tuple[str, ...], uid: int, *, tree: bool
) -> None:
    """Give ``anchor/walk.../own...`` to ``uid``: each directory of ``own`` on the way, the
    last one's whole content too with ``tree``. Through descriptors, one component at a
    time: a link anyone put on the way is never followed."""
    fd = open_directory(anchor)
    try:
        for part in walk:
            fd = _down(fd, part)
        for index, part in enumerate(own):
            if index == len(own) - 1 and not tree:
                os.chown(part, uid, uid, dir_fd=fd, follow_symlinks=False)
                return
            fd = _down(fd, part)
            os.chown(fd, uid, uid)
        if tree:
            _chown_below(fd, uid)
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
