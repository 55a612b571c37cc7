"""Agents: names, worktrees made and checked by real git, records, and the commands
against a fake engine (git itself runs for real)."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from devagent.config import Config, Paths
from devagent.errors import ProjectError
from devagent.manager import Manager
from devagent.manager.allowlist import Layers, ProjectEntries
from devagent.manager.worktrees import Repository, check_name
from devagent.project import identify
from devagent.runtime import Runtime
from devagent.runtime.engine import Engine
from devagent.runtime.executor import CommandResult, SubprocessExecutor
from tests.fakes import FakeExecutor, docker_fake, fixture

GIT = ["git", "-c", "user.name=u", "-c", "user.email=u@test", "-c", "safe.directory=*"]


class GitForReal(FakeExecutor):
    """The fake engine, with git run for real."""

    def run(self, argv: Sequence[str], **options: Any) -> CommandResult:  # type: ignore[override]
        if argv and argv[0] == "git":
            self.calls.append(tuple(argv))
            env: Mapping[str, str] | None = options.get("env")
            return SubprocessExecutor().run(argv, check=options.get("check", True), env=env)
        return super().run(argv, **options)


def _repo(path: Path) -> Path:
    path.mkdir()
    for args in (["init", "-q", "-b", "main"], ["commit", "-q", "--allow-empty", "-m", "start"]):
        subprocess.run([*GIT, "-C", str(path), *args], check=True)
    return path


@pytest.mark.parametrize("name", ["fix-login", "a", "tests.2", "A_b-c", "x" * 40])
def test_good_names(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", "-x", ".x", "a..b", "x.lock", "a/b", "x" * 41, "é", "a b"])
def test_bad_names_are_refused_saying_what_a_name_is(name: str) -> None:
    with pytest.raises(ProjectError, match="is not an agent name") as error:
        check_name(name)
    assert "1 to 40 letters" in error.value.hint


def test_a_worktree_is_unsaved_for_changed_files_or_commits_on_no_branch(tmp_path: Path) -> None:
    repo = Repository(_repo(tmp_path / "repo"), SubprocessExecutor())
    worktree = tmp_path / "wt" / "one"
    repo.add("one", worktree, "agent/one")
    assert repo.admin_dir("one").is_dir() and (worktree / ".git").is_file()
    (worktree / ".devcontainer").mkdir()
    (worktree / ".devcontainer" / "docker-compose.yml").write_text("devagent's\n")
    assert repo.unsaved("one", worktree) == []  # devagent's own files are not work
    (worktree / "notes.txt").write_text("draft\n")
    assert repo.unsaved("one", worktree) == ["1 changed or new files (notes.txt)"]
    git = [*GIT, "-C", str(worktree)]
    subprocess.run([*git, "add", "notes.txt"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "notes"], check=True)
    assert repo.unsaved("one", worktree) == []  # committed on agent/one: it stays
    subprocess.run([*git, "checkout", "-q", "--detach"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "lost"], check=True)
    (lost,) = repo.unsaved("one", worktree)
    assert lost.startswith("commit ") and lost.endswith(" is on no branch")
    assert [p.name for p in repo.branch_files("agent/one")] == ["agent", "one", "agent", "one"]


def test_the_worktrees_git_file_is_not_followed_by_the_host(tmp_path: Path) -> None:
    """The agent rewrites its worktree's .git to point at a repository it made, whose
    config runs a command: the host's checks never read it."""
    repo = Repository(_repo(tmp_path / "repo"), SubprocessExecutor())
    worktree = tmp_path / "wt" / "one"
    repo.add("one", worktree, "agent/one")
    evil = _repo(worktree / "evil")
    marker = tmp_path / "ran"
    with (evil / ".git" / "config").open("a") as config:
        config.write(f"[core]\n\tfsmonitor = touch {marker}\n")
    (worktree / ".git").write_text(f"gitdir: {evil / '.git'}\n")
    repo.unsaved("one", worktree)
    assert not marker.exists()


def test_an_agents_allowlist_is_its_projects_and_its_own() -> None:
    parent = ProjectEntries(allow=("pypi.org", "x.test"), deny=("api.github.com", "y.test"))
    own = ProjectEntries(allow=("y.test", "only-me.test"), deny=("x.test",))
    layers = Layers(("api.github.com",), ("npmjs.org",), own, parent)
    assert layers.effective() == ("npmjs.org", "only-me.test", "pypi.org", "y.test")
    assert layers.sources()["pypi.org"] == ["project"]
    assert layers.sources()["only-me.test"] == ["agent"]


def _manager(fake: FakeExecutor, paths: Paths) -> Manager:
    bare = paths.user_templates_dir / "bare"
    bare.mkdir(parents=True, exist_ok=True)
    (bare / "Dockerfile").write_text("FROM debian:bookworm-slim\n")
    (bare / "template.yaml").write_text("description: nothing allowed\n")
    config = Config(default_template="bare")
    return Manager(Runtime(Engine("docker", "docker"), fake), paths, config)


def test_add_list_refuse_destroy_and_remove_an_agent(paths: Paths, tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    project = identify(repo)
    worktree = identify(paths.worktrees_dir / project.hash / "one", must_exist=False)
    recorded = fixture("docker_ps.jsonl").replace("342670b99fa4", worktree.hash)
    fake = (
        GitForReal(docker_fake().rules).on(["docker", "ps"], recorded).on(["docker", "images"], "")
    )
    manager = _manager(fake, paths)
    added = manager.add_agent(repo, "one", allow=["only-me.test"])
    assert added.agent.branch == "agent/one" and "only-me.test" in added.allowlist
    compose = yaml.safe_load((worktree.path / ".devcontainer/docker-compose.yml").read_text())
    assert compose["services"]["app"]["labels"]["devagent.agent"] == "one"
    policy = compose["services"]["proxy"]
    assert policy["labels"]["devagent.agent_branch"] == "agent/one"
    assert [a.name for a in manager.agents(project)] == ["one"]
    assert manager.resolve(str(repo), "one") == worktree
    with pytest.raises(ProjectError, match="has no agent named 'two'"):
        manager.resolve(str(repo), "two")
    with pytest.raises(ProjectError, match=r"has agents: one \(on agent/one\)") as refused:
        manager.destroy(project)
    assert "--agents" in refused.value.hint
    (worktree.path / "draft.txt").write_text("unsaved\n")
    with pytest.raises(ProjectError, match=r"draft\.txt"):
        manager.remove_agent(repo, "one")
    assert (worktree.path / "draft.txt").exists()
    removed = manager.remove_agent(repo, "one", force=True)
    assert removed.action == "rm" and not worktree.path.exists()
    assert manager.agents(project) == ()
    branches = subprocess.run([*GIT, "-C", str(repo), "branch", "--list"], capture_output=True,
                              text=True, check=True).stdout  # fmt: skip
    assert "agent/one" in branches  # the branch always stays
    assert not (repo / ".git" / "worktrees" / "one").exists()  # pruned
