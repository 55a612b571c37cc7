"""Several agents on one real repository, on Docker and rootless Podman: a worktree, a
branch and a sandbox each; git works inside; none sees another; removal keeps work."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import Sandbox, make_sandbox, run

pytestmark = pytest.mark.e2e

COMMIT = "git -c user.name=agent -c user.email=agent@test commit -q"
REPO = "https://git.allowed.test/project.git"


@dataclass
class Agent:
    name: str
    worktree: Path
    app: str
    egress: str


@dataclass
class Team:
    box: Sandbox
    agents: dict[str, Agent]
    seconds: dict[str, float]

    def sh(self, name: str, script: str) -> str:
        result = self.box.engine_run("exec", "-u", "vscode", self.agents[name].app,
                                     "sh", "-c", script, check=False)  # fmt: skip
        return result.stdout + result.stderr + f"\nrc={result.returncode}"

    def git(self, *args: str) -> str:
        """git on the host, in the project (as root: the repository may be the user's)."""
        argv = ["git", "-c", "safe.directory=*", "-C", str(self.box.project), *args]
        return run(argv).stdout


def _agent(box: Sandbox, name: str) -> Agent:
    listed = json.loads(box.devagent("status", str(box.project), "--agent", name,
                                     "--json").stdout)  # fmt: skip
    app = listed["app"]["name"]
    key = app.split("-")[1]
    return Agent(name, Path(listed["project_path"]), app, f"devagent-{key}-egress")


@pytest.fixture(scope="module")
def team(engine: str, upstream: str, pki: Path, sandbox_root: Path) -> Iterator[Team]:
    box = make_sandbox(engine, sandbox_root, pki, "agents project")
    git = ["git", "-c", "safe.directory=*", "-C", str(box.project)]
    run([*git, "init", "-q", "-b", "main"])
    run([*git, "add", "README.md"])
    run([*git, "-c", "user.name=user", "-c", "user.email=user@test", "commit", "-qm", "start"])
    if box.host.user is None:  # docker as root: the container's user (uid 1000) writes .git
        run(["chmod", "-R", "a+rwX", str(box.project)])
    box.host.give(box.project)
    agents, seconds = {}, {}
    try:
        for name in ("a1", "a2"):
            started = time.monotonic()
            box.devagent("agent", "add", str(box.project), name,
                         "--allow", "*.allowed.test private")  # fmt: skip
            seconds[name] = round(time.monotonic() - started, 1)
            agents[name] = _agent(box, name)
        yield Team(box, agents, seconds)
    finally:
        for agent in agents.values():
            box.engine_run("network", "disconnect", agent.egress, upstream, check=False)
        box.devagent("destroy", str(box.project), "--agents", "--force", "--purge", check=False)


def test_each_agent_commits_on_its_own_branch_in_its_own_container(
    team: Team, record_property: Callable[[str, object], None]
) -> None:
    record_property("agent_add_seconds", team.seconds)  # the first add builds, the next reuse
    for name, agent in team.agents.items():
        work = f"echo {name} > {name}.txt && git add -A && {COMMIT} -m 'work of {name}'"
        output = team.sh(name, f"cd /workspaces/{name} && git status --porcelain && {work}"
                               " && git branch --show-current")  # fmt: skip
        # Nothing to commit but the work (devagent's .devcontainer/ is ignored), then its branch.
        assert output == f"agent/{name}\n\nrc=0", output
        assert agent.worktree.parent.parent.name == "worktrees"
    # The host's repository holds both branches, each with its agent's commit.
    for name in team.agents:
        log = team.git("log", "--format=%s", f"agent/{name}")
        assert log.splitlines()[0] == f"work of {name}", log
        files = team.git("show", "--name-only", "--format=", f"agent/{name}").split()
        assert files == [f"{name}.txt"], files  # devagent's .devcontainer/ is not the work
    assert team.git("log", "--format=%s", "main").splitlines() == ["start"]


def test_no_agent_sees_another_agents_worktree_or_the_projects_files(team: Team) -> None:
    a2 = team.agents["a2"]
    git_dir = team.box.project / ".git"
    # Of the worktrees' metadata, its own alone; no other worktree, not the project's files.
    assert team.sh("a1", f"ls -A '{git_dir}/worktrees'") == "a1\n\nrc=0"
    for path in (a2.worktree, team.box.project / "README.md", git_dir / "worktrees" / "a2"):
        assert team.sh("a1", f"test -e '{path}'").endswith("rc=1"), path
    # The metadata git on the host runs and follows is read-only for the agent.
    for path in (git_dir / "config", git_dir / "hooks" / "pre-commit",
                 git_dir / "worktrees" / "a1" / "commondir"):  # fmt: skip
        assert "Read-only file system" in team.sh("a1", f"echo x >> '{path}'"), path
    # Nor can it reach the other agent's container: no name resolves, the proxy refuses.
    direct = team.sh("a1", f"curl -sS --noproxy '*' --max-time 5 http://{a2.app}/")
    assert "Could not resolve host" in direct, direct
    proxied = team.sh("a1", f"curl -s -o /dev/null -w '%{{http_code}}' http://{a2.app}/")
    assert proxied.startswith("403"), proxied


def test_list_and_status_show_agents_under_their_project(team: Team) -> None:
    listed = json.loads(team.box.devagent("list", "--json").stdout)["environments"]
    mine = [e for e in listed if (e["agent"] or {}).get("project_path") == str(team.box.project)]
    assert [(e["agent"]["name"], e["agent"]["branch"], e["state"]) for e in mine] == [
        ("a1", "agent/a1", "running"), ("a2", "agent/a2", "running"),
    ]  # fmt: skip
    shown = team.box.devagent_run(["agent", "list", str(team.box.project)], {"COLUMNS": "200"})
    human = shown.stdout
    assert str(team.box.project) in human and "└ a1 (agent/a1)" in human, human


def test_an_agent_pushes_to_its_own_branch_only(team: Team, upstream: str) -> None:
    a1 = team.agents["a1"]
    names = ("--alias", "git.allowed.test")
    team.box.engine_run("network", "connect", *names, a1.egress, upstream)
    push = "GIT_TERMINAL_PROMPT=0 git push origin"
    clone = (f"rm -rf /tmp/c && git clone -q {REPO} /tmp/c && cd /tmp/c"
             f" && {COMMIT} --allow-empty -m push && {push}")  # fmt: skip
    try:
        own = team.sh("a1", f"{clone} HEAD:agent/a1")
        other = team.sh("a1", f"cd /tmp/c && {push} HEAD:agent/a2")
    finally:  # a container of another's on its network would hold the network at removal
        team.box.engine_run("network", "disconnect", a1.egress, upstream, check=False)
    assert "rc=0" in own and "rejected" not in own, own
    assert "! [remote rejected]" in other and "agent/a1" in other, other


def test_removing_a_dirty_worktree_needs_force_and_keeps_the_other_agent(team: Team) -> None:
    a1 = team.agents["a1"]
    team.sh("a1", "cd /workspaces/a1 && echo unsaved > notes.txt")
    refused = team.box.devagent("agent", "rm", str(team.box.project), "a1", check=False)
    assert refused.returncode == 1 and "notes.txt" in refused.stderr, refused.stderr
    assert (a1.worktree / "notes.txt").read_text() == "unsaved\n"
    destroy = team.box.devagent("destroy", str(team.box.project), check=False)
    assert destroy.returncode == 1 and "has agents: a1 (on agent/a1)" in destroy.stderr
    removed = team.box.devagent("agent", "rm", str(team.box.project), "a1", "--force")
    assert "branch agent/a1 stays" in removed.stdout, removed.stdout
    assert not a1.worktree.exists()
    assert "agent/a1" in team.git("branch", "--list", "agent/a1")
    assert team.git("worktree", "list").count("\n") == 2  # the project and a2
    assert "running" in team.box.engine_run("inspect", "-f", "{{.State.Status}}",
                                            team.agents["a2"].app).stdout  # fmt: skip
    gone = team.box.engine_run("ps", "-a", "--filter", "name=" + a1.app, "-q").stdout
    assert gone.strip() == ""
    del team.agents["a1"]
