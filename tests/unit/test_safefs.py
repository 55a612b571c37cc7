from __future__ import annotations

import os
from pathlib import Path

import pytest

from devagent import safefs
from devagent.manager import credentials


def test_seeding_never_follows_a_planted_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    claude = tmp_path / "claude"
    claude.mkdir()
    (claude / ".claude.json").symlink_to(victim)
    with pytest.raises(safefs.UnsafePath, match=r"\.claude\.json is a link"):
        credentials.seed_claude_config(claude, os.getuid())
    assert victim.read_text() == "precious\n"


def test_seeding_creates_once_and_keeps_what_the_agent_wrote(tmp_path: Path) -> None:
    claude = tmp_path / "claude"
    credentials.seed_claude_config(claude, os.getuid())
    assert (claude / ".claude.json").read_text().startswith('{"hasCompletedOnboarding"')
    assert (claude / ".claude.json").stat().st_mode & 0o777 == 0o600
    (claude / ".claude.json").write_text("{}\n")
    credentials.seed_claude_config(claude, os.getuid())
    assert (claude / ".claude.json").read_text() == "{}\n"
    assert claude.stat().st_mode & 0o777 == 0o700


def test_a_directory_replaced_by_a_link_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "claude").symlink_to(real)
    with pytest.raises(safefs.UnsafePath):
        safefs.open_directory(tmp_path / "claude")


def test_write_file_refuses_links_and_writes_in_place(tmp_path: Path) -> None:
    target = tmp_path / "secret"
    target.write_text("old\n")
    inode = target.stat().st_ino
    safefs.write_file(target, b"new\n", mode=0o644)
    assert target.read_text() == "new\n" and target.stat().st_ino == inode
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(safefs.UnsafePath):
        safefs.write_file(tmp_path / "link", b"x")
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="changing ownership needs root")
def test_hand_over_follows_no_link_on_the_way_or_inside(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("host's\n")
    tree = tmp_path / "anchor" / "walk" / "mine"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "file").write_text("agent's\n")
    (tree / "link").symlink_to(outside / "secret")
    (tree / "dirlink").symlink_to(outside)
    safefs.hand_over(tmp_path / "anchor", ("walk",), ("mine",), 4242, tree=True)
    for path in (tree, tree / "sub", tree / "sub" / "file"):
        assert path.stat().st_uid == 4242, path
    assert (tree / "link").lstat().st_uid == 4242  # the link itself
    assert (outside / "secret").stat().st_uid == 0 and outside.stat().st_uid == 0
    assert (tmp_path / "anchor" / "walk").stat().st_uid == 0  # walked through, not taken
    # A link on the way is refused, not followed.
    (tmp_path / "anchor" / "hop").symlink_to(outside)
    with pytest.raises(OSError):
        safefs.hand_over(tmp_path / "anchor", ("hop",), ("secret",), 4242, tree=False)
    assert (outside / "secret").stat().st_uid == 0
