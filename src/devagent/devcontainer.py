"""DevcontainerGenerator, and writing every generated file into ``<project>/.devcontainer``."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devagent import __version__
from devagent.errors import ProjectError
from devagent.options import EnvironmentOptions
from devagent.project import Project

MARKER = ".devagent.json"
PROXY_CA_FILE = "devagent-proxy-ca.crt"


@dataclass(frozen=True)
class DevcontainerResult:
    """Generated files, by name relative to ``.devcontainer/``."""

    files: dict[str, bytes] = field(default_factory=dict)


class DevcontainerGenerator:
    """devcontainer.json, the app Dockerfile (template + proxy CA trust) and home/ files."""

    def generate(self, options: EnvironmentOptions) -> DevcontainerResult:
        files = {
            "devcontainer.json": self.devcontainer_json(options),
            "Dockerfile": self.app_dockerfile(options).encode(),
            PROXY_CA_FILE: options.proxy_ca_cert,
        }
        for relative, content in options.template.home_files().items():
            files[f"home/{relative}"] = content
        if not any(name.startswith("home/") for name in files):
            files["home/.keep"] = b""  # the template's `COPY home/` needs the directory
        return DevcontainerResult(files)

    def devcontainer_json(self, options: EnvironmentOptions) -> bytes:
        manifest = options.template.manifest
        document: dict[str, Any] = {
            "name": f"devagent: {options.project.name}",
            "dockerComposeFile": "docker-compose.yml",
            "service": "app",
            "workspaceFolder": options.project.workspace_folder,
            "remoteUser": options.remote_user,
        }
        if options.engine == "podman":
            # Podman maps the host user with keep-id instead. Seen with CLI 0.89.0 on Podman
            # 4.3: the CLI's UID-update build works (cli #863 does not bite this version), but
            # it then moves the container user off the keep-id uid and the agent can no
            # longer write the workspace.
            document["updateRemoteUserUID"] = False
        if manifest.post_create_command:
            document["postCreateCommand"] = manifest.post_create_command
        if manifest.customizations:
            document["customizations"] = manifest.customizations
        return (json.dumps(document, indent=2) + "\n").encode()

    def app_dockerfile(self, options: EnvironmentOptions) -> str:
        # Baking the CA into the image makes every TLS client trust the proxy from the first
        # process on, without giving the container user any way to change the trust store.
        trust = [
            "",
            "# --- added by devagent: trust this project's proxy CA ---",
            "USER root",
            f"COPY {PROXY_CA_FILE} /usr/local/share/ca-certificates/{PROXY_CA_FILE}",
            "RUN update-ca-certificates",
            f"USER {options.remote_user}",
            "",
        ]
        return options.template.dockerfile.rstrip("\n") + "\n" + "\n".join(trust)


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _marker(project: Project, files: Mapping[str, bytes]) -> bytes:
    document = {
        "generated_by": "devagent",
        "version": __version__,
        "project_hash": project.hash,
        "files": {name: digest(content) for name, content in sorted(files.items())},
    }
    return (json.dumps(document, indent=2) + "\n").encode()


def read_marker(directory: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((directory / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("generated_by") == "devagent" else None


def changed_files(directory: Path, recorded: Mapping[str, str]) -> tuple[str, ...]:
    """Files added, removed or changed in ``directory`` since their digests were recorded."""
    present = {
        path.relative_to(directory).as_posix(): path
        for path in directory.rglob("*")
        if (path.is_file() or path.is_symlink()) and path.name != MARKER
    }
    changed = set(present).symmetric_difference(recorded)
    changed.update(
        name
        for name, path in present.items()
        if name in recorded and (path.is_symlink() or digest(path.read_bytes()) != recorded[name])
    )
    return tuple(sorted(changed))


def _is_pristine(directory: Path, marker: dict[str, Any]) -> bool:
    """True when the directory holds exactly the files devagent wrote, unchanged."""
    return not changed_files(directory, marker.get("files", {}))


def replace_generated_file(project: Project, name: str, content: bytes) -> None:
    """Replace one generated file in place (atomically) and its digest in the marker."""
    directory = project.devcontainer_dir
    marker = read_marker(directory)
    if marker is None:
        raise ProjectError(f"{directory} was not generated by devagent")
    files: dict[str, str] = dict(marker.get("files", {}))
    files[name] = digest(content)
    marker["files"] = dict(sorted(files.items()))
    for path, data in (
        (directory / name, content),
        (directory / MARKER, (json.dumps(marker, indent=2) + "\n").encode()),
    ):
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_bytes(data)
        temporary.chmod(0o644)
        temporary.replace(path)


def _backup_name(directory: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate = directory.with_name(f"{directory.name}.backup-{stamp}")
    counter = 1
    while candidate.exists():
        counter += 1
        candidate = directory.with_name(f"{directory.name}.backup-{stamp}-{counter}")
    return candidate


def write_to_project(
    project: Project, results: list[Mapping[str, bytes]], *, force: bool = False
) -> Path | None:
    """Write all generated files into ``.devcontainer/`` in one atomic rename.

    A directory devagent did not generate is refused, or with ``force`` moved aside to a
    timestamped backup. A devagent directory the user has changed is backed up too; an
    unchanged one is replaced. Returns the backup path, if one was made.
    """
    files: dict[str, bytes] = {}
    for result in results:
        files.update(result)
    target = project.devcontainer_dir
    backup: Path | None = None
    old: Path | None = None
    if target.exists():
        marker = read_marker(target)
        if marker is None and not force:
            raise ProjectError(
                f"{target} exists and was not generated by devagent",
                hint="re-run with --force to move it aside to a timestamped backup",
            )
        if marker is None or not _is_pristine(target, marker):
            backup = _backup_name(target)
        else:
            old = target.with_name(f"{target.name}.replaced-{time.time_ns()}")
    staging = Path(tempfile.mkdtemp(prefix=".devcontainer.tmp-", dir=project.path))
    try:
        for name, content in {**files, MARKER: _marker(project, files)}.items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        staging.chmod(0o755)
        if backup is not None:
            target.rename(backup)
        elif old is not None:
            target.rename(old)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        moved_aside = backup or old
        if moved_aside is not None and moved_aside.exists() and not target.exists():
            moved_aside.rename(target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return backup
