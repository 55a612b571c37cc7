from __future__ import annotations

import datetime
import json
import threading
import time
from pathlib import Path

import pytest

from devagent.manager.requestlog import LogFilter, blocked_hosts, follow, parse_since, read


def _line(host: str, decision: str, when: str = "2026-11-28T10:00:00Z") -> str:
    return json.dumps({"time": when, "host": host, "decision": decision, "path": "/"}) + "\n"


def test_parse_since() -> None:
    assert parse_since("10m") == datetime.timedelta(minutes=10)
    assert parse_since("1d") == datetime.timedelta(days=1)
    with pytest.raises(ValueError, match="like 30s"):
        parse_since("ten minutes")


def test_read_both_generations_filter_and_summarize(tmp_path: Path) -> None:
    (tmp_path / "requests.jsonl.1").write_text(
        _line("old.test", "blocked", "2026-11-28T09:00:00Z") + '{"cut sh'
    )
    (tmp_path / "requests.jsonl").write_text(
        _line("a.test", "allowed") + _line("x.test", "blocked") + _line("x.test", "blocked")
    )
    everything = read(tmp_path, LogFilter())
    assert [r["host"] for r in everything] == ["old.test", "a.test", "x.test", "x.test"]
    assert blocked_hosts(everything) == [("x.test", 2), ("old.test", 1)]
    recent = LogFilter(since=datetime.datetime(2026, 11, 28, 9, 30, tzinfo=datetime.UTC))
    assert [r["host"] for r in read(tmp_path, recent)] == ["a.test", "x.test", "x.test"]
    assert {r["decision"] for r in read(tmp_path, LogFilter(blocked_only=True))} == {"blocked"}


def test_follow_sees_new_lines_and_survives_rotation(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    log.write_text(_line("before.test", "allowed"))  # already there: not repeated
    seen: list[str] = []

    def write_later() -> None:
        time.sleep(0.1)
        with log.open("a") as handle:
            handle.write(_line("one.test", "blocked"))
        time.sleep(0.3)
        log.replace(tmp_path / "requests.jsonl.1")
        log.write_text(_line("two.test", "allowed"))

    writer = threading.Thread(target=write_later)
    writer.start()
    deadline = time.monotonic() + 5
    for record in follow(
        tmp_path, LogFilter(), interval=0.02, stop=lambda: time.monotonic() > deadline
    ):
        seen.append(record["host"])
        if len(seen) == 2:
            break
    writer.join()
    assert seen == ["one.test", "two.test"]
