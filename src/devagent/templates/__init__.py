"""Templates: a directory with a Dockerfile, optional ``home/`` files and ``template.yaml``.

Built-in templates ship inside this package; users add or override them in
``<config dir>/templates/<name>/``.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from devagent.config import AllowlistEntry, Paths, ResourceOverrides, load_yaml_model
from devagent.errors import ConfigError

MANIFEST = "template.yaml"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
DOCKERFILE = "Dockerfile"


class Manifest(BaseModel):
    """The contents of a template's ``template.yaml``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    description: str = ""
    remote_user: str = "vscode"
    remote_uid: int = Field(default=1000, ge=0)  # the remote user's uid in the image
    post_create_command: str | None = None
    allowlist: list[AllowlistEntry] = Field(default_factory=list)
    resources: ResourceOverrides = Field(default_factory=ResourceOverrides)
    customizations: dict[str, Any] = Field(default_factory=dict)
    # None: as config.yaml says; true/false: this template's choice.
    block_github_merges: bool | None = None


@dataclass(frozen=True)
class Template:
    name: str
    directory: Path
    manifest: Manifest
    builtin: bool

    @property
    def dockerfile(self) -> str:
        return (self.directory / DOCKERFILE).read_text(encoding="utf-8")

    def home_files(self) -> dict[str, bytes]:
        """Files under ``home/``, keyed by their path relative to it."""
        home = self.directory / "home"
        if not home.is_dir():
            return {}
        return {
            path.relative_to(home).as_posix(): path.read_bytes()
            for path in sorted(home.rglob("*"))
            if path.is_file()
        }


def builtin_dir() -> Path:
    return Path(str(resources.files("devagent.templates")))


def _load(directory: Path, *, builtin: bool) -> Template:
    if not (directory / DOCKERFILE).is_file():
        raise ConfigError(f"template {directory}: has no {DOCKERFILE}")
    manifest_path = directory / MANIFEST
    manifest = load_yaml_model(manifest_path, Manifest) if manifest_path.exists() else Manifest()
    return Template(directory.name, directory, manifest, builtin)


def _candidates(paths: Paths) -> dict[str, tuple[Path, bool]]:
    found: dict[str, tuple[Path, bool]] = {}
    for root, builtin in ((builtin_dir(), True), (paths.user_templates_dir, False)):
        if root.is_dir():
            for child in sorted(root.iterdir()):
                if child.is_dir() and (child / DOCKERFILE).is_file():
                    found[child.name] = (child, builtin)
    return found


def discover(paths: Paths) -> list[Template]:
    """All templates, user templates overriding built-ins of the same name."""
    return [_load(d, builtin=b) for d, b in _candidates(paths).values()]


def get(name: str, paths: Paths) -> Template:
    candidates = _candidates(paths)
    if name not in candidates:
        known = ", ".join(sorted(candidates)) or "none"
        raise ConfigError(
            f"unknown template {name!r}",
            hint=f"available: {known}; add your own under {paths.user_templates_dir}",
        )
    directory, builtin = candidates[name]
    return _load(directory, builtin=builtin)


def copy_template(source: str, name: str, paths: Paths) -> Path:
    """Copy template ``source`` to the user's template dir as ``name``, to customise it."""
    if not _NAME.match(name):
        raise ConfigError(f"{name!r} is not a template name (letters, digits, '-', '_')")
    original = get(source, paths)
    target = paths.user_templates_dir / name
    if target.exists():
        raise ConfigError(f"{target} exists already", hint="choose another name, or edit it")
    shutil.copytree(original.directory, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target
