"""A project's state in devagent's own directories (never in the workspace): the Claude
config, the proxy's CA and request log, the credentials the proxy holds, and the records
of what devagent generated and of the project's git metadata."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from devagent.generate.files import changed_files, read_marker
from devagent.generate.layout import PROXY_SYSTEM_ID
from devagent.manager import agents, credentials, gitguard
from devagent.manager.context import Context
from devagent.manager.selftest import Check
from devagent.paths import Paths
from devagent.project import Project
from devagent.safefs import replace_file


def ensure(context: Context, project: Project, *, remote_uid: int) -> Path:
    """Make the project's state directories; returns the proxy's CA certificate."""
    from devagent.proxy.ca import ensure_ca

    remember_project(context, project)
    paths = context.paths
    claude_dir = paths.claude_config_dir(project.hash)
    logs_dir = paths.proxy_logs_dir(project.hash)
    for directory in (claude_dir, logs_dir):
        directory.mkdir(parents=True, exist_ok=True)
    logs_dir.chmod(0o700)  # the request log is the user's business only
    credentials.seed_claude_config(claude_dir, remote_uid)
    return ensure_ca(
        paths.proxy_certs_dir(project.hash), common_name=f"devagent proxy CA {project.hash}"
    )


def remember_project(context: Context, project: Project) -> None:
    """Record which folder this state belongs to (doctor tells kept state from leftovers)."""
    replace_file(context.paths.project_record_file(project.hash), f"{project.path}\n".encode())


def proxy_user(context: Context, project: Project) -> str:
    """The proxy's user: never root. The user's own id (rootless Podman maps it through
    keep-id), so that the proxy reads its key and the user reads the request log; when
    devagent runs as root, the proxy gets an unprivileged system id and these
    directories (devagent's own, never the app's) are handed to it."""
    uid, gid = os.getuid(), os.getgid()
    if uid != 0:
        return f"{uid}:{gid}"
    paths = context.paths
    for directory in (paths.proxy_certs_dir(project.hash), paths.proxy_logs_dir(project.hash)):
        for path in (directory, *directory.iterdir()):
            os.chown(path, PROXY_SYSTEM_ID, PROXY_SYSTEM_ID, follow_symlinks=False)
    return f"{PROXY_SYSTEM_ID}:{PROXY_SYSTEM_ID}"


def prepare_secrets(context: Context, project: Project) -> tuple[tuple[str, str], ...]:
    return credentials.prepare(context.paths.secrets_dir(project.hash), context.config.credentials)


def credential_warnings(context: Context) -> tuple[str, ...]:
    return credentials.warnings(context.config.credentials)


def record_generated(context: Context, project: Project) -> None:
    """Keep the digests of ``.devcontainer/`` as written, out of the workspace."""
    marker = read_marker(project.devcontainer_dir) or {}
    document = json.dumps(marker.get("files", {}), indent=2) + "\n"
    replace_file(context.paths.generated_record_file(project.hash), document.encode())


def check_generated(context: Context, project: Project) -> Check:
    """Whether ``.devcontainer/`` still holds exactly what devagent generated.

    The directory sits in the workspace. The app sees it read-only, but a commit the
    agent made and the user checked out could still change it; the record to compare
    with lives in devagent's data directory, out of the agent's reach.
    """
    name = "the generated files are unchanged"
    try:
        recorded = json.loads(
            context.paths.generated_record_file(project.hash).read_text(encoding="utf-8")
        )
    except (OSError, ValueError):
        return Check(name, False, "no record of what devagent generated here")
    changed = changed_files(project.devcontainer_dir, recorded)
    detail = f"changed: {', '.join(changed)}" if changed else f"{len(recorded)} files"
    return Check(name, not changed, detail)


def save_git_record(context: Context, project: Project) -> None:
    """The project's (for an agent, its project's) git metadata at create."""
    gitguard.save(context.paths.git_record_file(project.hash), agents.git_root(context, project))


def git_warnings(context: Context, project: Project) -> tuple[str, ...]:
    """Loud words when the project's git metadata changed since create."""
    root = agents.git_root(context, project)
    return gitguard.warnings(context.paths.git_record_file(project.hash), root)


def pieces(paths: Paths, key: str) -> tuple[Path, ...]:
    """Every piece of one project's state, whether it exists or not."""
    return (
        paths.claude_config_dir(key),
        paths.proxy_certs_dir(key),
        paths.proxy_logs_dir(key),
        paths.secrets_dir(key),
        paths.project_allowlist_file(key),
        paths.generated_record_file(key),
        paths.git_record_file(key),
        paths.project_record_file(key),
    )


def remove_piece(piece: Path) -> None:
    """Remove one piece of state (a link in its place is removed, never followed)."""
    if piece.is_dir() and not piece.is_symlink():
        shutil.rmtree(piece)
    else:
        piece.unlink(missing_ok=True)


def purge(context: Context, project: Project) -> tuple[str, ...]:
    """Remove every piece of the project's state; returns what was removed."""
    purged = []
    for piece in pieces(context.paths, project.hash):
        if piece.exists() or piece.is_symlink():
            remove_piece(piece)
            purged.append(str(piece))
    return tuple(purged)
