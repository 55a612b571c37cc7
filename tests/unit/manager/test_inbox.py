"""The inbox: refusals folded into items across environments, answered into the policy."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from devagent.config import Config, Paths
from devagent.errors import ProjectError
from devagent.manager import Manager
from devagent.manager.inbox import Answer
from devagent.project import identify
from devagent.proxy.records import PRIVATE_ADDRESS
from devagent.runtime import Runtime
from devagent.runtime.engine import Engine
from tests.fakes import docker_fake, fixture


def _created(paths: Paths, tmp_path: Path, name: str) -> tuple[Manager, Path]:
    project_dir = tmp_path / name
    project_dir.mkdir()
    project = identify(project_dir)
    recorded = fixture("docker_ps.jsonl").replace("342670b99fa4", project.hash)
    fake = docker_fake().on(["docker", "ps"], recorded.replace("/tmp/demo/proj", str(project_dir)))
    bare = paths.user_templates_dir / "bare"
    bare.mkdir(parents=True, exist_ok=True)
    (bare / "Dockerfile").write_text("FROM debian:bookworm-slim\n")
    (bare / "template.yaml").write_text("description: nothing allowed\n")
    manager = Manager(Runtime(Engine("docker", "docker"), fake), paths,
                      Config(default_template="bare"))  # fmt: skip
    manager.create(project_dir)
    return manager, project_dir


def _refused(paths: Paths, project_dir: Path, *records: dict[str, object]) -> None:
    logs = paths.proxy_logs_dir(identify(project_dir).hash)
    logs.mkdir(parents=True, exist_ok=True)
    with (logs / "blocked.jsonl").open("a") as handle:
        for record in records:
            base = {"time": "2026-12-02T10:00:00Z", "decision": "blocked", "method": "GET",
                    "reason": "not in allowlist", "port": 443, "path": "/"}  # fmt: skip
            handle.write(json.dumps(base | record) + "\n")


def _policy(project_dir: Path) -> dict[str, object]:
    document: dict[str, object] = json.loads(
        (project_dir / ".devcontainer/policy/allowlist.json").read_text()
    )
    return document


def test_refusals_fold_into_items_and_only_what_the_user_decides_on(
    paths: Paths, tmp_path: Path
) -> None:
    manager, project_dir = _created(paths, tmp_path, "proj")
    _refused(
        paths, project_dir,
        {"host": "pypi.org", "path": "/simple/x"},
        {"host": "pypi.org", "time": "2026-12-02T10:00:05Z", "path": "/simple/y"},
        {"host": "internal.test", "port": 8080, "reason": PRIVATE_ADDRESS},
        {"host": "devagent-verify.invalid"},  # the self-test's probe
        {"host": "evil.test", "reason": "Host header 'x.test' differs from destination"},
    )  # fmt: skip
    result = manager.inbox()
    assert [(i.host, i.port, i.count, i.entry, i.state) for i in result.items] == [
        ("pypi.org", 443, 2, "pypi.org", "pending"),
        ("internal.test", 8080, 1, "internal.test:8080 private", "pending"),
    ]
    first = result.items[0]
    assert first.path == "/simple/y" and first.project_path == str(project_dir)
    assert first.last - first.first == 5 and result.pending == 2
    again = manager.inbox()  # reading again does not count twice
    assert [i.count for i in again.items] == [2, 1] and again.items[0].id == first.id


def test_answers_reach_the_policy_file_live(paths: Paths, tmp_path: Path) -> None:
    manager, project_dir = _created(paths, tmp_path, "proj")
    _refused(paths, project_dir, {"host": "pypi.org"}, {"host": "ads.test"},
             {"host": "npmjs.org"})  # fmt: skip
    ids = {i.host: i.id for i in manager.inbox().items}
    before = time.time()
    done = manager.answer(ids["pypi.org"], Answer(allow=True, seconds=60))
    assert done.decided is not None and done.decided.state == "allowed for a while"
    until = _policy(project_dir)["until"]
    assert isinstance(until, dict) and before + 59 < until["pypi.org"] < time.time() + 61
    manager.answer(ids["ads.test"], Answer(allow=False))
    assert _policy(project_dir)["declined"] == ["ads.test"]
    manager.answer(ids["npmjs.org"], Answer(allow=True, always=True))
    assert "npmjs.org" in _policy(project_dir)["allowlist"]  # type: ignore[operator]
    assert [i.host for i in manager.inbox().items] == []  # nothing waits any more
    assert {i.state for i in manager.inbox(everything=True).items} == {
        "allowed", "allowed for a while", "declined",
    }  # fmt: skip
    # Refused again after its approval: the item waits again.
    _refused(paths, project_dir, {"host": "pypi.org", "time": "2099-01-01T00:00:00Z"})
    assert [i.host for i in manager.inbox().items] == ["pypi.org"]
    with pytest.raises(ProjectError, match="no inbox item 999"):
        manager.answer(999, Answer(allow=False))


def test_concurrent_readers_lose_nothing(paths: Paths, tmp_path: Path) -> None:
    manager, project_dir = _created(paths, tmp_path, "proj")
    _refused(paths, project_dir, *({"host": f"h{n}.test"} for n in range(30)))
    errors: list[BaseException] = []

    def read() -> None:
        try:
            manager.inbox()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(manager.inbox().items) == 30
