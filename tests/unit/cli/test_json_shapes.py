"""Every --json output has the keys the README documents (its "JSON output" table)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devagent.cli import main
from tests.fakes import docker_fake, fixture
from tests.unit.manager.test_doctor import healthy

ENV = {"project_path", "project_hash", "engine", "state", "template", "created", "app", "proxy",
       "agent", "active"}  # fmt: skip
CONTAINER = {"name", "id", "state", "status"}
RECORD = {"time", "decision", "reason", "method", "scheme", "host", "port", "path", "status",
          "bytes", "duration_ms", "error"}  # fmt: skip
ALLOWLIST = {"project_path", "entries", "denied", "added", "removed", "live"}


def _json(argv: list[str], capsys: pytest.CaptureFixture[str], executor: Any = None) -> Any:
    main(argv, executor=executor or docker_fake())
    return json.loads(capsys.readouterr().out)


def test_list_and_status(isolated_dirs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    listed = _json(["list", "--json"], capsys)
    assert set(listed) == {"engine", "environments"}
    (env,) = listed["environments"]
    assert set(env) == ENV and set(env["app"]) == CONTAINER
    status = _json(["status", "devagent-342670b99fa4-app", "--json"], capsys)
    assert set(status) == ENV | {"engine_reason", "warnings"}


def test_doctor(isolated_dirs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = _json(["--runtime", "docker", "doctor", "--json"], capsys, healthy())
    assert set(report) == {"ok", "checks", "leftovers", "removed"}
    assert all(set(c) == {"name", "status", "detail", "fix"} for c in report["checks"])
    assert {c["status"] for c in report["checks"]} <= {"ok", "warn", "fail"}


def test_logs_and_allowlist(
    isolated_dirs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    ps = fixture("docker_ps.jsonl")
    from devagent.project import identify

    digest = identify(project).hash
    fake = docker_fake().on(
        ["docker", "ps"], ps.replace("342670b99fa4", digest).replace("/tmp/demo/proj", str(project))
    )
    main(["create", str(project), "--allow", "a.test"], executor=fake)
    capsys.readouterr()
    logs_dir = isolated_dirs / "data" / "proxy-logs" / digest
    record = dict.fromkeys(RECORD, None) | {"decision": "blocked", "host": "x.test", "time": "t"}
    (logs_dir / "requests.jsonl").write_text(json.dumps(record) + "\n")
    logs = _json(["logs", str(project), "--json"], capsys, fake)
    assert set(logs) == {"project_path", "records", "blocked_hosts"}
    assert set(logs["records"][0]) == RECORD
    assert set(logs["blocked_hosts"][0]) == {"host", "count", "allow_command"}
    for argv in (["allowlist", str(project)], ["allow", "b.test", str(project)],
                 ["deny", "b.test", str(project)]):  # fmt: skip
        shown = _json([*argv, "--json"], capsys, fake)
        assert set(shown) == ALLOWLIST
        assert set(shown["entries"][0]) == {"entry", "sources"}
