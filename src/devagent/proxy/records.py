"""The request-log record: its fields, how each is bounded, and the files it is written to.

One owner for the record: squid's log daemon (``devagent.proxy.logd``) and the mitmproxy
addon build records here, and the host side (``devagent.manager.requestlog``) reads them with the
names defined here. Standard library only: it runs inside the proxy.

Everything in a record may come from the agent, so every text field is capped and its
control characters are written as visible ``\\xNN`` escapes. Refusals are kept apart from the
rest (``blocked.jsonl``), and each file is rate limited with a count of what was dropped, so
that a flood of huge or numerous requests cannot push earlier refusals out of the log.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

# The files of one project's log directory: every decision goes to exactly one of them.
REQUESTS_LOG = "requests.jsonl"  # allowed requests, tunnels, upstream errors
BLOCKED_LOG = "blocked.jsonl"  # refusals
RULES_LOG = "rules.jsonl"  # what mitmproxy decided, for the hosts whose rules read bodies
LOG_FILES = (REQUESTS_LOG, BLOCKED_LOG, RULES_LOG)
LOG_MAX_BYTES = 5 * 1024 * 1024  # per file; one older generation (``.1``) is kept

ALLOWED, BLOCKED, ERROR, PROBE = "allowed", "blocked", "error", "probe"
# The host of devagent verify's own probe (reserved: it resolves nowhere). Its refusals are
# logged as "probe", never as a blocked host to allow.
PROBE_HOST = "devagent-verify.invalid"
# The reason of a refusal for the address a name resolves to (the fix: the entry's "private").
PRIVATE_ADDRESS = "the name resolves to a private address (allow the host with 'private')"
FIELDS = (
    "time", "decision", "reason", "method", "scheme", "host", "port", "path", "status",
    "bytes", "duration_ms", "error", "mode", "sni", "credential",
)  # fmt: skip
PATH_CAP = 2048
TEXT_CAP = 256
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def bounded(text: object, cap: int = TEXT_CAP) -> str:
    """Text safe to store and show: control characters escaped, at most ``cap`` characters."""
    value = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))
    return value if len(value) <= cap else value[: cap - 3] + "..."


def record(
    *,
    decision: str,
    reason: str,
    method: str,
    scheme: str,
    host: str,
    port: int | None,
    path: str = "",
    status: int | None = None,
    size: int | None = None,
    duration_ms: float = 0.0,
    error: str | None = None,
    mode: str = "",
    sni: str = "",
    credential: str = "",
    when: float | None = None,
) -> dict[str, Any]:
    """One line of the request log (the same keys for every kind of decision)."""
    # The path only: query strings and fragments can carry secrets.
    path = path.split("?", 1)[0].split("#", 1)[0]
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when)),
        "decision": decision,
        "reason": bounded(reason),
        "method": bounded(method, 32),
        "scheme": bounded(scheme, 16),
        "host": bounded(host),
        "port": port,
        "path": bounded(path, PATH_CAP),
        "status": status,
        "bytes": size,
        "duration_ms": duration_ms,
        "error": None if error is None else bounded(error),
        "mode": bounded(mode, 16),
        "sni": bounded(sni),
        # The name of the credential the proxy put on this request (never its value).
        "credential": bounded(credential, 32),
    }


def log_name(entry: dict[str, Any]) -> str:
    return BLOCKED_LOG if entry.get("decision") == BLOCKED else REQUESTS_LOG


class LogFile:
    """Appends records to one file, keeping at most two generations and a steady rate.

    The file stays open between records (one write and flush each, so readers see every
    line at once). Past ``burst`` records, at most ``rate`` a second are written; the others
    are counted and the count is written as a record of its own once writing resumes.
    """

    def __init__(
        self,
        path: Path,
        *,
        rate: float = 100.0,
        burst: float = 1000.0,
        max_bytes: int = LOG_MAX_BYTES,
        clock: Any = time.monotonic,
    ) -> None:
        self.path, self.rate, self.burst, self.max_bytes = path, rate, burst, max_bytes
        self._clock = clock
        self._tokens, self._last = burst, clock()
        self.dropped = 0
        self._handle: Any = None

    def write(self, entry: dict[str, Any]) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens < 1:
            self.dropped += 1
            return
        self._tokens -= 1
        if self.dropped:
            dropped, self.dropped = self.dropped, 0
            self._append(
                record(
                    decision=entry.get("decision", ALLOWED),
                    reason=f"{dropped} records dropped: more than the log's rate",
                    method="-",
                    scheme="-",
                    host="-",
                    port=None,
                )
            )
        self._append(entry)

    def _open(self) -> Any:
        # Only the user reads the log (0600); never through a link.
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        return os.fdopen(os.open(self.path, flags, 0o600), "a", encoding="utf-8")

    def _append(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, sort_keys=True) + "\n"
        try:
            if self._handle is None:
                self._handle = self._open()
            elif self._handle.tell() > self.max_bytes:
                self._handle.close()
                self.path.replace(self.path.with_name(self.path.name + ".1"))
                self._handle = self._open()
            self._handle.write(line)
            self._handle.flush()
        except (OSError, ValueError):
            self._handle = None  # Logging must never decide a request: try again next time.


class RequestLog:
    """A project's log directory: each record goes to the file its decision belongs in."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._files: dict[str, LogFile] = {}

    def write(self, entry: dict[str, Any], *, name: str | None = None) -> None:
        if self.directory is None:
            return
        name = name or log_name(entry)
        log = self._files.get(name)
        if log is None:
            log = self._files[name] = LogFile(self.directory / name)
        log.write(entry)
