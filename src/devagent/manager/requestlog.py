"""Reading a project's proxy request log: filter, summarize, follow.

The proxy appends one JSON object per decision to one of the files in
``devagent.proxy.records.LOG_FILES`` (refusals apart from the rest) and keeps one older
generation of each as ``NAME.1`` (see ``devagent.proxy.records``). Readers merge them by time.
"""

from __future__ import annotations

import datetime
import json
import re
import shlex
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devagent.manager.results import LogsResult
from devagent.project import Project
from devagent.proxy.records import BLOCKED, LOG_FILES

_SINCE = re.compile(r"^([0-9]+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(text: str) -> datetime.timedelta:
    """``30s``, ``10m``, ``2h``, ``1d``."""
    match = _SINCE.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration like 30s, 10m, 2h or 1d")
    return datetime.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def record_time(record: dict[str, Any]) -> datetime.datetime | None:
    try:
        return datetime.datetime.strptime(str(record["time"]), "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.UTC
        )
    except (KeyError, ValueError):
        return None


@dataclass(frozen=True)
class LogFilter:
    blocked_only: bool = False
    since: datetime.datetime | None = None
    credential: str | None = None  # only the requests the proxy put this credential on

    def __call__(self, record: dict[str, Any]) -> bool:
        if self.blocked_only and record.get("decision") != "blocked":
            return False
        if self.credential is not None and record.get("credential") != self.credential:
            return False
        if self.since is not None:
            when = record_time(record)
            return when is not None and when >= self.since
        return True


def _parse(line: str) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None  # a line cut short by a rotation or a crash
    return record if isinstance(record, dict) else None


def by_time(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records of several files in time order (stable: the same second keeps file order)."""
    return sorted(records, key=lambda record: str(record.get("time", "")))


def read(log_dir: Path, keep: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """The records of every file and generation, oldest first, that ``keep`` accepts."""
    records = []
    for name in LOG_FILES:
        for path in (log_dir / f"{name}.1", log_dir / name):
            try:
                text = path.read_text(encoding="utf-8")
            except OSError:
                continue
            for line in text.splitlines():
                record = _parse(line)
                if record is not None and keep(record):
                    records.append(record)
    return by_time(records)


def blocked_hosts(records: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """Blocked hosts with how often each was refused, most often first."""
    counts = Counter(str(r.get("host", "")) for r in records if r.get("decision") == BLOCKED)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def allow_command(project: Project) -> str:
    """The command that allows a refused host, with "{host}" where the host goes."""
    return "devagent allow {host} " + shlex.quote(str(project.path))


def report(project: Project, log_dir: Path, keep: LogFilter) -> LogsResult:
    records = read(log_dir, keep)
    return LogsResult(
        str(project.path), tuple(records), tuple(blocked_hosts(records)), allow_command(project)
    )


class Tail:
    """New records of a request log since the last look, across files and rotations
    (non-blocking)."""

    def __init__(self, log_dir: Path, *, from_start: bool = False) -> None:
        self._files = [_FileTail(log_dir / name, from_start=from_start) for name in LOG_FILES]

    def poll(self) -> list[dict[str, Any]]:
        return by_time([record for tail in self._files for record in tail.poll()])


class _FileTail:
    def __init__(self, path: Path, *, from_start: bool) -> None:
        self.path = path
        self.position, self.inode = (0, None) if from_start else _end(self.path)
        self._pending = ""

    def poll(self) -> list[dict[str, Any]]:
        try:
            stat = self.path.stat()
        except OSError:
            return []
        if stat.st_ino != self.inode or stat.st_size < self.position:
            # Rotated (or first seen): read the new file whole.
            self.position, self.inode, self._pending = 0, stat.st_ino, ""
        if stat.st_size <= self.position:
            return []
        with self.path.open("r", encoding="utf-8") as handle:
            handle.seek(self.position)
            chunk = handle.read()
            self.position = handle.tell()
        *lines, self._pending = (self._pending + chunk).split("\n")
        return [record for line in lines if (record := _parse(line)) is not None]


def follow(
    log_dir: Path,
    keep: Callable[[dict[str, Any]], bool],
    *,
    interval: float = 0.2,
    stop: Callable[[], bool] = lambda: False,
) -> Iterator[dict[str, Any]]:
    """New records as they are appended (from the end of the file), across rotations."""
    tail = Tail(log_dir)
    while not stop():
        records = tail.poll()
        yield from (record for record in records if keep(record))
        if not records:
            time.sleep(interval)


def _end(path: Path) -> tuple[int, int | None]:
    try:
        stat = path.stat()
    except OSError:
        return 0, None
    return stat.st_size, stat.st_ino
