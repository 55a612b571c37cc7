"""The push policy: which ref updates of a ``git-receive-pack`` request may reach the server.

A push over smart HTTP is one POST whose body starts with the ref updates, as pkt-lines
(``old new ref``, the first carrying the client's capabilities after a NUL), then a flush,
then the pack. The proxy reads the updates with dulwich's pkt-line reader and lets the
request through only when every update creates or moves a branch matching the
environment's patterns. Anything else - a delete, a tag, the default branch, a ref outside
the patterns, a push certificate, a body it cannot read - refuses the whole push, answered
the way git understands: a report-status with ``ng <ref> <reason>`` for each ref (inside
side-band 1 when the client asked for it), so the agent sees ``! [remote rejected]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from io import BytesIO

from dulwich.protocol import (
    SIDE_BAND_CHANNEL_DATA,
    Protocol,
    extract_capabilities,
    pkt_line,
)

DEFAULT_PATTERNS = ("agent/*",)
# The branches a push never moves, whatever the patterns say (the usual default branches).
PROTECTED = ("main", "master")
RESULT_TYPE = "application/x-git-receive-pack-result"
_OBJECT_ID = re.compile(rb"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_ZERO = re.compile(rb"^0+$")
# Side-band packets carry at most this much data (65520 minus the length and band bytes).
_BAND_DATA = 65515


class Unreadable(ValueError):
    """The body is not a push the policy can read: refuse it."""


@dataclass(frozen=True)
class RefUpdate:
    old: str
    new: str
    ref: str

    @property
    def deletes(self) -> bool:
        return bool(_ZERO.match(self.new.encode()))


@dataclass(frozen=True)
class Push:
    updates: tuple[RefUpdate, ...]
    capabilities: tuple[str, ...]

    @property
    def side_band(self) -> bool:
        return "side-band-64k" in self.capabilities or "side-band" in self.capabilities


def is_push(method: str, path: str) -> bool:
    """A receive-pack request (the POST that carries ref updates and the pack)."""
    return method == "POST" and path.split("?", 1)[0].rstrip("/").endswith("/git-receive-pack")


def read_push(body: bytes) -> Push:
    """The ref updates at the head of a receive-pack body; raises Unreadable."""
    protocol = Protocol(BytesIO(body).read, lambda _data: None)
    updates: list[RefUpdate] = []
    capabilities: list[bytes] = []
    try:
        while (line := protocol.read_pkt_line()) is not None:
            if line.startswith(b"shallow ") and not updates:
                continue
            if line.startswith(b"push-cert"):
                raise Unreadable("signed pushes (push certificates) are not read")
            if not updates:
                line, capabilities = extract_capabilities(line)
            updates.append(_update(line))
    except Unreadable:
        raise
    except Exception as exc:  # dulwich's protocol errors, truncated bodies
        raise Unreadable(f"the push cannot be read: {exc}") from exc
    if not updates:
        raise Unreadable("the push names no ref")
    return Push(tuple(updates), tuple(c.decode("ascii", "replace") for c in capabilities))


def _update(line: bytes) -> RefUpdate:
    parts = line.rstrip(b"\n").split(b" ")
    if len(parts) != 3 or not all(_OBJECT_ID.match(part) for part in parts[:2]):
        raise Unreadable("a ref update is not 'old new ref'")
    try:
        ref = parts[2].decode("ascii")
    except UnicodeDecodeError as exc:
        raise Unreadable("a ref name is not ASCII") from exc
    if not ref.isprintable() or not ref:
        raise Unreadable("a ref name has control characters")
    return RefUpdate(parts[0].decode(), parts[1].decode(), ref)


def refusal(update: RefUpdate, patterns: tuple[str, ...]) -> str | None:
    """Why this update may not reach the server, or None."""
    where = ", ".join(patterns) or "no"
    if update.ref.startswith("refs/tags/"):
        return f"devagent: tags are refused; pushes go to {where} branches"
    if not update.ref.startswith("refs/heads/"):
        return f"devagent: only branches are pushed; pushes go to {where} branches"
    branch = update.ref.removeprefix("refs/heads/")
    if update.deletes:
        return f"devagent: deleting branches is refused; pushes go to {where} branches"
    if not branch_allowed(branch, patterns):
        return f"devagent: pushes go to {where} branches"
    return None


def branch_allowed(branch: str, patterns: tuple[str, ...]) -> bool:
    """A branch (``refs/heads/`` optional) the agent may move: matched, and not protected."""
    branch = branch.removeprefix("refs/heads/")
    return branch not in PROTECTED and any(fnmatchcase(branch, p) for p in patterns)


def refusals(push: Push, patterns: tuple[str, ...]) -> dict[str, str]:
    """Every ref of a push that is refused, with its reason; empty when the push may pass.

    One refused ref refuses the push as a whole (the pack is not sent anywhere), so the
    others are reported refused too, saying why.
    """
    refused = {u.ref: reason for u in push.updates if (reason := refusal(u, patterns))}
    if not refused:
        return {}
    others = "devagent: refused with the rest of this push"
    return {update.ref: refused.get(update.ref, others) for update in push.updates}


def report(push: Push, refused: dict[str, str]) -> bytes:
    """The receive-pack result git reads: ``unpack ok`` then ``ng`` per refused ref."""
    status = pkt_line(b"unpack ok\n")
    for update in push.updates:
        reason = refused.get(update.ref, "devagent: refused")
        line = f"ng {update.ref} {_one_line(reason)}\n".encode()
        status += pkt_line(line)
    status += pkt_line(None)
    if not push.side_band:
        return status
    banded = b"".join(
        pkt_line(bytes([SIDE_BAND_CHANNEL_DATA]) + status[start : start + _BAND_DATA])
        for start in range(0, len(status), _BAND_DATA)
    )
    return banded + pkt_line(None)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]
