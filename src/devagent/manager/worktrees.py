"""Agents' git worktrees, made and removed by git on the host - carefully.

Everything under a worktree, and its administrative directory in the repository
(``.git/worktrees/<name>``), is the agent's to write. Git on the host must not take
instructions from there: every command here names the repository and the work tree
itself (never through the worktree's ``.git`` file), turns off hooks and the fsmonitor,
and reads the common directory that the agent sees read-only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from devagent.errors import ProjectError
from devagent.runtime.executor import CommandResult, Executor

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
DEVCONTAINER_PREFIX = ".devcontainer/"  # devagent's own files, written into each worktree
# Whatever the repository's config says, nothing runs on the host for these commands.
SAFE = ("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false")
# Only what devagent asks for: no user or system config on top (the command line still is).
ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
# Reading a tree the agent wrote: not even the user's own filters (its .gitattributes pick).
HERMETIC = ENV | {"GIT_CONFIG_GLOBAL": "/dev/null"}


def check_name(name: str) -> str:
    """An agent's name: a directory name and part of a branch name at once."""
    if not NAME.fullmatch(name) or ".." in name or name.endswith((".lock", ".")):
        raise ProjectError(
            f"{name!r} is not an agent name",
            hint="use 1 to 40 letters, digits, '.', '_' or '-', starting with a letter or "
            "digit (no '..', not ending in '.lock')",
        )
    return name


@dataclass(frozen=True)
class Repository:
    """The main repository of a project: its folder and its ``.git`` directory."""

    path: Path
    executor: Executor

    @property
    def git_dir(self) -> Path:
        return self.path / ".git"

    def admin_dir(self, name: str) -> Path:
        """A worktree's administrative directory (HEAD, index, and the links back)."""
        return self.git_dir / "worktrees" / name

    def git(
        self, *args: str, git_dir: Path | None = None, work_tree: Path | None = None,
        check: bool = True, hermetic: bool = False,
    ) -> CommandResult:  # fmt: skip
        argv = ["git", *SAFE, "-c", f"safe.directory={self.path}"]
        if work_tree is not None:
            argv += ["-c", f"safe.directory={work_tree}", f"--work-tree={work_tree}"]
        argv += [f"--git-dir={git_dir or self.git_dir}", *args]
        return self.executor.run(argv, check=check, env=HERMETIC if hermetic else ENV,
                                 timeout=300)  # fmt: skip

    def require(self) -> None:
        """A repository with a ``.git`` directory of its own (not a worktree or a link)."""
        if self.git_dir.is_symlink() or not self.git_dir.is_dir():
            raise ProjectError(
                f"{self.path} is not the top of a git repository (no .git directory)",
                hint="agents work in worktrees of a repository: `git init` it and commit first",
            )
        if self.git("rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False).returncode:
            raise ProjectError(
                f"{self.path} has no commit yet", hint="commit once: agents branch off HEAD"
            )

    def add(self, name: str, worktree: Path, branch: str) -> None:
        """A worktree on ``branch`` (made from HEAD unless it exists), at ``worktree``."""
        self.git("check-ref-format", "--branch", branch)
        exists = not self.git("show-ref", "--verify", "--quiet", f"refs/heads/{branch}",
                              check=False).returncode  # fmt: skip
        worktree.parent.mkdir(parents=True, exist_ok=True)
        new = () if exists else ("-b", branch)
        self.git("worktree", "add", *new, str(worktree), *(() if new else (branch,)))
        admin = Path(self.git("rev-parse", "--git-path", f"worktrees/{name}").stdout.strip())
        if not admin.is_absolute():
            admin = self.path / admin
        if admin.resolve() != self.admin_dir(name).resolve():
            raise ProjectError(f"git made the worktree's metadata at {admin}, not where expected")

    def branch_files(self, branch: str) -> tuple[Path, ...]:
        """The branch's ref and reflog, and the folders git made for them (``agent/``)."""
        found = []
        for top in (self.git_dir / "refs" / "heads", self.git_dir / "logs" / "refs" / "heads"):
            path = top
            for part in branch.split("/"):
                path = path / part
                found.append(path)
        return tuple(path for path in found if path.exists() and not path.is_symlink())

    def unsaved(self, name: str, worktree: Path) -> list[str]:
        """What removing the worktree would lose: changed or new files (devagent's own
        ``.devcontainer/`` aside) and commits on no branch."""
        admin = self.admin_dir(name)
        if not worktree.is_dir() or not admin.is_dir():
            return []
        # Submodules aside: git would run in them, under configs the agent wrote.
        status = self.git(
            "status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignore-submodules=all",
            git_dir=admin, work_tree=worktree, check=False, hermetic=True,
        )  # fmt: skip
        if status.returncode != 0:
            return [f"git status failed: {status.stderr.strip()[:200]}"]
        changed = []
        for entry in status.stdout.split("\0"):
            path = entry[3:]
            if entry and not path.startswith(DEVCONTAINER_PREFIX) and path != ".devcontainer":
                changed.append(path)
        head = self.git("rev-parse", "--verify", "--quiet", "HEAD", git_dir=admin,
                        check=False).stdout.strip()  # fmt: skip
        found = (
            [f"{len(changed)} changed or new files ({', '.join(changed[:5])})"] if changed else []
        )
        if head and not self.git("branch", "--contains", head, check=False).stdout.strip():
            found.append(f"commit {head[:12]} is on no branch")
        return found

    def prune(self) -> None:
        self.git("worktree", "prune")
