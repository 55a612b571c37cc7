from __future__ import annotations

import io

import pytest
from dulwich.protocol import Protocol, pkt_line

from devagent.proxy.gitpush import (
    Push,
    RefUpdate,
    Unreadable,
    is_push,
    read_push,
    refusals,
    report,
)

OLD, NEW, ZERO = "a" * 40, "b" * 40, "0" * 40
CAPS = b"\0report-status side-band-64k agent=git/2.39"


def _body(*lines: str, caps: bytes = CAPS, pack: bytes = b"PACK\x00\x00\x00\x02") -> bytes:
    packets = [
        pkt_line(line.encode() + (caps if i == 0 else b"") + b"\n") for i, line in enumerate(lines)
    ]
    return b"".join(packets) + pkt_line(None) + pack


def test_the_ref_updates_and_capabilities_are_read_before_the_pack() -> None:
    push = read_push(_body(f"{OLD} {NEW} refs/heads/agent/x", f"{ZERO} {NEW} refs/heads/agent/y"))
    assert push.updates == (
        RefUpdate(OLD, NEW, "refs/heads/agent/x"),
        RefUpdate(ZERO, NEW, "refs/heads/agent/y"),
    )
    assert push.side_band and "report-status" in push.capabilities
    assert refusals(push, ("agent/*",)) == {}


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (f"{OLD} {NEW} refs/heads/main", "pushes go to agent/* branches"),
        (f"{OLD} {NEW} refs/heads/master", "pushes go to agent/* branches"),
        (f"{OLD} {NEW} refs/heads/feature", "pushes go to agent/* branches"),
        (f"{OLD} {ZERO} refs/heads/agent/x", "deleting branches is refused"),
        (f"{ZERO} {NEW} refs/tags/v1", "tags are refused"),
        (f"{ZERO} {NEW} refs/notes/commits", "only branches"),
        (f"{OLD} {NEW} refs/heads/agentx", "pushes go to agent/* branches"),
    ],
)
def test_refused_updates_say_why(line: str, words: str) -> None:
    (reason,) = refusals(read_push(_body(line)), ("agent/*",)).values()
    assert reason.startswith("devagent: ") and words in reason


def test_the_default_branch_is_refused_whatever_the_patterns() -> None:
    assert refusals(read_push(_body(f"{OLD} {NEW} refs/heads/main")), ("*",))


def test_one_refused_ref_refuses_the_whole_push() -> None:
    push = read_push(_body(f"{OLD} {NEW} refs/heads/agent/x", f"{OLD} {NEW} refs/heads/main"))
    refused = refusals(push, ("agent/*",))
    assert set(refused) == {"refs/heads/agent/x", "refs/heads/main"}
    assert "with the rest of this push" in refused["refs/heads/agent/x"]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        pkt_line(None),  # no ref at all
        b"zzzz",
        pkt_line(b"push-cert\0report-status\n") + pkt_line(b"certificate version 0.1\n"),
        pkt_line(f"{OLD} {NEW}\n".encode()),
        pkt_line(f"{OLD[:-1]}g {NEW} refs/heads/agent/x\n".encode()) + pkt_line(None),
        pkt_line(f"{OLD} {NEW} refs/heads/agent/\x1b[31m\n".encode()) + pkt_line(None),
        pkt_line(f"{OLD} {NEW} refs/heads/agent/x\n".encode())[:-3],  # cut short
    ],
)
def test_what_cannot_be_read_is_unreadable(body: bytes) -> None:
    with pytest.raises(Unreadable):
        read_push(body)


def test_shallow_lines_before_the_updates_are_skipped() -> None:
    body = pkt_line(f"shallow {OLD}\n".encode()) + _body(f"{OLD} {NEW} refs/heads/agent/x")
    assert read_push(body).updates[0].ref == "refs/heads/agent/x"


def _packets(data: bytes) -> list[bytes | None]:
    protocol = Protocol(io.BytesIO(data).read, lambda _b: None)
    found: list[bytes | None] = []
    while True:
        try:
            found.append(protocol.read_pkt_line())
        except Exception:  # the end of the data
            return found


def test_the_report_is_report_status_in_side_band_one_when_asked() -> None:
    update = RefUpdate(OLD, NEW, "refs/heads/main")
    plain = report(Push((update,), ("report-status",)), {"refs/heads/main": "devagent: no"})
    assert _packets(plain)[:3] == [b"unpack ok\n", b"ng refs/heads/main devagent: no\n", None]
    banded = report(Push((update,), ("report-status", "side-band-64k")), {"refs/heads/main": "x"})
    first = _packets(banded)[0]
    assert first is not None and first[:1] == b"\x01"
    assert _packets(first[1:])[:3] == [b"unpack ok\n", b"ng refs/heads/main x\n", None]


def test_is_push() -> None:
    assert is_push("POST", "/o/r.git/git-receive-pack")
    assert not is_push("GET", "/o/r.git/info/refs?service=git-receive-pack")
    assert not is_push("POST", "/o/r.git/git-upload-pack")
