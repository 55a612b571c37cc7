from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from devagent.errors import EngineError
from devagent.project import identify
from devagent.runtime import removal
from devagent.runtime.engine import Engine
from devagent.runtime.executor import CommandResult, LineCallback

PODMAN = Engine("podman", "podman")


class PodmanLike:
    """An engine that refuses to remove a container others depend on, as Podman does."""

    def __init__(self, key: str, *, stuck: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        labels = {"devagent.sidecar_of": key}
        self.containers = {
            f"devagent-{key}-netguard": {**labels, "devagent.sidecar_type": "netguard"},
            f"devagent-{key}-app": {"devagent.project_hash": key},
            f"devagent-{key}-proxy": {**labels, "devagent.sidecar_type": "proxy"},
        }
        self.depends = {f"devagent-{key}-proxy": f"devagent-{key}-app",
                        f"devagent-{key}-app": f"devagent-{key}-netguard"}  # fmt: skip
        self.networks = {f"devagent-{key}-net", f"devagent-{key}-egress"}
        self.stuck = set(stuck)  # removals that fail once, as "in use" races do
        self.calls: list[tuple[str, ...]] = []

    def run(self, argv: Sequence[str], *, check: bool = True, cwd: Path | None = None,
            env: Mapping[str, str] | None = None, on_line: LineCallback | None = None,
            timeout: float | None = None) -> CommandResult:  # fmt: skip
        argv = tuple(argv)
        self.calls.append(argv)
        if argv[1] == "ps":
            wanted = argv[argv.index("--filter") + 1].removeprefix("label=").split("=")
            rows = [{"Id": name, "Names": [name], "State": "exited", "Labels": labels}
                    for name, labels in self.containers.items()
                    if labels.get(wanted[0]) == wanted[1]]  # fmt: skip
            return CommandResult(argv, 0, json.dumps(rows), "")
        if argv[1:3] == ("network", "ls"):
            return CommandResult(argv, 0, "\n".join(sorted(self.networks)), "")
        if argv[1:3] == ("network", "rm"):
            if self.containers:
                return CommandResult(argv, 2, "", f"Error: {argv[3]} has associated containers")
            self.networks.discard(argv[3])
            return CommandResult(argv, 0, "", "")
        if argv[1] == "rm":
            name = argv[-1]
            dependant = self.depends.get(name)
            if dependant in self.containers or name in self.stuck:
                self.stuck.discard(name)
                return CommandResult(argv, 2, "", f"Error: {name} has dependent containers "
                                     "which must be removed before it")  # fmt: skip
            self.containers.pop(name, None)
            return CommandResult(argv, 0, "", "")
        raise AssertionError(argv)

    def interactive(self, argv: Sequence[str]) -> int:
        raise AssertionError(argv)


def test_containers_go_in_dependency_order_and_networks_after_them(tmp_path: Path) -> None:
    project = identify(tmp_path)
    engine = PodmanLike(project.hash)
    removal.remove_containers_and_networks(PODMAN, engine, project)
    assert not engine.containers and not engine.networks
    removed = [call[-1] for call in engine.calls if call[1] == "rm"]
    assert removed == [project.netguard_container, project.app_container,
                       project.proxy_container]  # fmt: skip


def test_what_is_still_in_use_is_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(removal, "PAUSE", 0)
    project = identify(tmp_path)
    engine = PodmanLike(project.hash, stuck={project.proxy_container})
    removal.remove_containers_and_networks(PODMAN, engine, project)
    assert not engine.containers and not engine.networks


def test_what_cannot_be_removed_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(removal, "PAUSE", 0)
    project = identify(tmp_path)
    engine = PodmanLike(project.hash)
    engine.depends[project.netguard_container] = "something-of-another-project"
    engine.containers["something-of-another-project"] = {}  # never listed, never removed
    with pytest.raises(EngineError, match=r"container devagent-\w+-netguard: .*dependent"):
        removal.remove_containers_and_networks(PODMAN, engine, project)
    assert "something-of-another-project" in engine.containers
