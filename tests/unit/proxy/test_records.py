from __future__ import annotations

import json
from pathlib import Path

from devagent.proxy.records import PATH_CAP, LogFile, RequestLog, bounded, record


def _record(decision: str = "allowed", path: str = "/") -> dict[str, object]:
    return record(
        decision=decision,
        reason="r",
        method="GET",
        scheme="http",
        host="a.test",
        port=80,
        path=path,
    )


def test_fields_are_capped_and_inert() -> None:
    assert len(_record(path="/" + "x" * 100_000)["path"]) == PATH_CAP  # type: ignore[arg-type]
    assert bounded("a\x1b[1m\x07\x9bz") == "a\\x1b[1m\\x07\\x9bz"
    assert _record(path="/p?secret=1#frag")["path"] == "/p"


def test_refusals_are_kept_apart(tmp_path: Path) -> None:
    log = RequestLog(tmp_path)
    log.write(_record("allowed"))
    log.write(_record("blocked"))
    log.write(_record("error"))
    assert len((tmp_path / "requests.jsonl").read_text().splitlines()) == 2
    assert len((tmp_path / "blocked.jsonl").read_text().splitlines()) == 1


def test_a_flood_is_cut_to_the_rate_and_what_was_dropped_is_counted(tmp_path: Path) -> None:
    now = [0.0]
    log = LogFile(tmp_path / "blocked.jsonl", rate=10, burst=5, clock=lambda: now[0])
    for _ in range(100):
        log.write(_record("blocked"))
    now[0] = 1.0  # a second later: room for ten more
    log.write(_record("blocked"))
    lines = [json.loads(text) for text in (tmp_path / "blocked.jsonl").open()]
    assert len(lines) == 7  # the burst, the count of what was dropped, the new one
    assert lines[5]["reason"] == "95 records dropped: more than the log's rate"


def test_rotation_keeps_one_older_generation(tmp_path: Path) -> None:
    log = LogFile(tmp_path / "requests.jsonl", max_bytes=500, burst=1000)
    for _ in range(20):
        log.write(_record())
    assert (tmp_path / "requests.jsonl.1").exists()
    assert (tmp_path / "requests.jsonl").stat().st_size < 1000
