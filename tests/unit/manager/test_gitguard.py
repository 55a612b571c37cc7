from __future__ import annotations

from pathlib import Path

from devagent.generate.network import git_mounts
from devagent.manager import gitguard


def _repo(tmp_path: Path) -> Path:
    git = tmp_path / ".git"
    (git / "objects").mkdir(parents=True)
    (git / "config").write_text('[core]\n\tbare = false\n[remote "origin"]\n\turl = x\n')
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    return tmp_path


def test_guarded_parts_exist_and_are_mounted_read_only(tmp_path: Path) -> None:
    project = _repo(tmp_path)
    assert gitguard.guarded_metadata(project) == ("config", "hooks", "info")
    assert (project / ".git" / "hooks").is_dir() and (project / ".git" / "info").is_dir()
    mounts = git_mounts("/workspaces/p", ("config", "hooks"))
    assert mounts == [
        "../.git:/workspaces/p/.git",
        "../.git/config:/workspaces/p/.git/config:ro",
        "../.git/hooks:/workspaces/p/.git/hooks:ro",
    ]


def test_no_mounts_without_a_real_git_directory(tmp_path: Path) -> None:
    assert gitguard.guarded_metadata(tmp_path) == ()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / ".git").symlink_to(tmp_path / "elsewhere")
    assert gitguard.guarded_metadata(tmp_path) == ()
    assert git_mounts("/w", ()) == []


def test_changes_name_the_keys_and_files(tmp_path: Path) -> None:
    project = _repo(tmp_path)
    gitguard.guarded_metadata(project)
    record = tmp_path / "record.json"
    gitguard.save(record, project)
    assert gitguard.warnings(record, project) == ()
    config = project / ".git" / "config"
    config.write_text(config.read_text() + "[core]\n\tfsmonitor = evil\n")
    (project / ".git" / "hooks" / "pre-commit").write_text("#!/bin/sh\n")
    (project / ".git" / "commondir").write_text("/elsewhere\n")
    (warning,) = gitguard.warnings(record, project)
    for phrase in ("core.fsmonitor added", "hooks/pre-commit added", "commondir added"):
        assert phrase in warning
    assert "remote.origin.url" not in warning  # unchanged keys are not named


def test_config_keys_read_sections_subsections_and_bare_keys() -> None:
    keys = gitguard.config_keys('[Core]\n  FSMonitor = a\n[remote "Up"]\nurl=b\n[x] y\n')
    assert set(keys) == {"core.fsmonitor", "remote.Up.url", "x.y"}


def test_verify_looks_without_making_anything(tmp_path: Path) -> None:
    project = _repo(tmp_path)
    assert gitguard.guarded_metadata(project, make_missing=False) == ("config",)
    assert not (project / ".git" / "hooks").exists()
