from __future__ import annotations

import datetime
import json
from pathlib import Path

from devagent.manager.facts import ContainerFacts, uptime
from devagent.manager.requestlog import Tail
from devagent.manager.tmux import Session, claude_command, parse_sessions

DOCKER_INSPECT = {
    "Name": "/devagent-abc-app",
    "Config": {"User": "vscode"},
    "HostConfig": {
        "CapDrop": ["ALL"], "CapAdd": None, "Memory": 4294967296, "NanoCpus": 2000000000,
        "PidsLimit": 512, "SecurityOpt": ["no-new-privileges:true"], "ReadonlyRootfs": False,
        "Privileged": False,
    },
    "NetworkSettings": {"Networks": {"devagent-abc-net": {}}},
    "State": {"StartedAt": "2026-11-28T08:34:22.198512007Z"},
}  # fmt: skip


def test_docker_facts_say_what_is_enforced() -> None:
    facts = ContainerFacts.from_inspect(DOCKER_INSPECT)
    assert facts.name == "devagent-abc-app" and facts.capabilities == ()
    assert facts.lines() == [
        "user vscode · caps none (dropped all)",
        "no-new-privileges:true · root fs writable",
        "memory 4.0 GiB · cpus 2 · pids 512",
        "networks devagent-abc-net",
    ]
    assert facts.started_at == datetime.datetime(2026, 11, 28, 8, 34, 22, 198512, datetime.UTC)


def test_podman_reports_effective_capabilities_and_missing_limits() -> None:
    podman = json.loads(json.dumps(DOCKER_INSPECT))
    podman["EffectiveCaps"] = ["CAP_NET_ADMIN"]
    podman["HostConfig"].update(Memory=0, NanoCpus=0, PidsLimit=0, Privileged=True)
    podman["State"]["StartedAt"] = "2026-11-28T08:34:22.198512007+00:00"
    facts = ContainerFacts.from_inspect(podman)
    assert facts.lines()[0] == "user vscode PRIVILEGED · caps CAP_NET_ADMIN (dropped all)"
    assert facts.lines()[2] == "memory unlimited · cpus 0 · pids unlimited"
    assert facts.started_at is not None
    never = ContainerFacts.from_inspect({"State": {"StartedAt": "0001-01-01T00:00:00Z"}})
    assert never.started_at is None and never.user == "root"


def test_uptime_reads_like_ps() -> None:
    start = datetime.datetime(2026, 11, 28, 8, 0, tzinfo=datetime.UTC)
    at = [
        start + datetime.timedelta(seconds=s)
        for s in (12, 7 * 60, 2 * 3600 + 300, 3 * 86400 + 4 * 3600)
    ]
    assert [uptime(start, now) for now in at] == ["12s", "7m", "2h 5m", "3d 4h"]
    assert uptime(None) == ""


def test_sessions_parse_tmux_output_and_claude_starts_in_a_login_shell() -> None:
    out = "claude  1  attached\nwork  3  detached\n"
    assert parse_sessions(out) == (Session("claude", 1, True), Session("work", 3, False))
    assert parse_sessions("") == ()
    assert claude_command(["--resume"])[-1] == "bash -lc 'claude --resume'"


def test_tail_reads_new_lines_across_rotation(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    log.write_text('{"host": "a"}\n')
    tail = Tail(tmp_path)
    assert tail.poll() == []  # from the end
    with log.open("a") as handle:
        handle.write('{"host": "b"}\n{"host": "c"')  # the last line is not complete yet
    assert [r["host"] for r in tail.poll()] == ["b"]
    with log.open("a") as handle:
        handle.write("}\n")
    assert [r["host"] for r in tail.poll()] == ["c"]
    log.replace(tmp_path / "requests.jsonl.1")
    log.write_text('{"host": "d"}\n')
    assert [r["host"] for r in tail.poll()] == ["d"]
    assert [r["host"] for r in Tail(tmp_path, from_start=True).poll()] == ["d"]
