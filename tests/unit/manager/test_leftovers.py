from __future__ import annotations

import json
from pathlib import Path

from devagent.config import Config
from devagent.manager import Manager
from devagent.paths import Paths
from devagent.project import identify
from devagent.runtime import Runtime
from devagent.runtime.engine import Engine
from tests.fakes import FakeExecutor

A, B, C = "aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc"


def _ps_line(name: str, **labels: str) -> str:
    text = ",".join(f"{key}={value}" for key, value in labels.items())
    return json.dumps({"ID": name, "Names": name, "State": "exited", "Labels": text})


def test_doctor_finds_what_failed_commands_left_and_keeps_what_destroy_kept(
    tmp_path: Path, paths: Paths
) -> None:
    (tmp_path / "kept").mkdir()
    kept = identify(tmp_path / "kept")
    gone = tmp_path / "gone"
    for key, folder in ((kept.hash, kept.path), (B, gone)):
        record = paths.project_record_file(key)
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(f"{folder}\n")
        paths.proxy_certs_dir(key).mkdir(parents=True)
    paths.proxy_logs_dir(C).mkdir(parents=True)  # no record of its folder
    # A create that stopped half-way: its proxy, no app.
    proxy = _ps_line(f"devagent-{A}-proxy", **{"devagent.managed": "true",
                     "devagent.sidecar_of": A, "devagent.sidecar_type": "proxy"})  # fmt: skip
    fake = (
        FakeExecutor()
        .on(["docker", "ps"], proxy + "\n")
        .on(["docker", "network", "ls"], f"devagent-{A}-net\ndevagent-{B}-net\n")
        .on(["docker", "images"], f"devagent-{C}-app:latest\ndebian:bookworm-slim\n")
        .on(["docker", "rm"], "")
        .on(["docker", "network", "rm"], "")
        .on(["docker", "rmi"], "")
    )
    manager = Manager(Runtime(Engine("docker", "docker"), fake), paths, Config())
    found = {(item.kind, item.name) for item in manager.leftovers()}
    assert found == {
        ("container", f"devagent-{A}-proxy"),
        ("network", f"devagent-{A}-net"),  # goes after A's container
        ("network", f"devagent-{B}-net"),
        ("image", f"devagent-{C}-app:latest"),
        ("state", str(paths.proxy_certs_dir(B))),
        ("state", str(paths.project_record_file(B))),
        ("state", str(paths.proxy_logs_dir(C))),
    }
    removed = manager.remove_leftovers(manager.leftovers())
    assert len(removed) == len(found)
    assert fake.called("docker", "rm") == [("docker", "rm", "--force", f"devagent-{A}-proxy")]
    assert not paths.proxy_certs_dir(B).exists() and not paths.proxy_logs_dir(C).exists()
    assert paths.proxy_certs_dir(kept.hash).is_dir()  # destroy kept it for the next create
