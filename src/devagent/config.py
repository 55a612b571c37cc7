"""User configuration: ``config.yaml`` as a validated model, loaded with clear errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from devagent.errors import ConfigError
from devagent.paths import Paths
from devagent.proxy.allowlist import InvalidHost, parse_entry

M = TypeVar("M", bound=BaseModel)
_MEMORY = re.compile(r"^[0-9]+(\.[0-9]+)?[bkmg]$")


class Resources(BaseModel):
    """Limits for the app container."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    memory: str = "4g"
    cpus: float = Field(default=2.0, gt=0)
    pids: int = Field(default=512, ge=16)

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: str) -> str:
        value = value.strip().lower()
        if not _MEMORY.match(value):
            raise ValueError(f"{value!r} is not a size like '4g' or '512m'")
        return value


class ResourceOverrides(BaseModel):
    """Per-template changes to the configured limits."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    memory: str | None = None
    cpus: float | None = Field(default=None, gt=0)
    pids: int | None = Field(default=None, ge=16)

    def apply(self, base: Resources) -> Resources:
        changes = {k: v for k, v in self.model_dump().items() if v is not None}
        return Resources.model_validate({**base.model_dump(), **changes})


class Credentials(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    claude: Path | None = None
    github: Path | None = None


def _check_entry(entry: str) -> str:
    try:
        parse_entry(entry)
    except InvalidHost as exc:
        raise ValueError(str(exc)) from exc
    return entry


def _entry_from_mapping(value: Any) -> Any:
    """``{host: h, mode: tunnel, private: true}`` is ``"h tunnel private"`` (``passthrough:
    true`` is the older spelling of ``mode: tunnel``)."""
    if not isinstance(value, dict):
        return value
    unknown = set(value) - {"host", "passthrough", "mode", "private"}
    mode = value.get("mode", "inspect")
    if (
        unknown
        or not isinstance(value.get("host"), str)
        or mode not in ("inspect", "tunnel", "passthrough")
        or not all(isinstance(value.get(flag, False), bool) for flag in ("passthrough", "private"))
    ):
        raise ValueError(
            "an entry as a mapping has 'host' (text), 'mode' (inspect or tunnel) and "
            "'private' (true/false)"
        )
    # The older spelling stays as written ("passthrough" is read as "tunnel").
    mode_word = "passthrough" if value.get("passthrough") is True else mode
    words = [value["host"], *([mode_word] if mode_word != "inspect" else [])]
    words += ["private"] if value.get("private") else []
    return " ".join(words)


# One allowlist entry in a user file; errors point at its index (``allowlist[3]``).
AllowlistEntry = Annotated[str, BeforeValidator(_entry_from_mapping), AfterValidator(_check_entry)]


def _check_branch_pattern(pattern: str) -> str:
    if not pattern or pattern.startswith(("/", "refs/")) or any(c.isspace() for c in pattern):
        raise ValueError(
            f"{pattern!r} is not a branch pattern like 'agent/*' (a branch name, no refs/heads/)"
        )
    return pattern


BranchPattern = Annotated[str, AfterValidator(_check_branch_pattern)]


class ProjectSettings(BaseModel):
    """What one project changes of the defaults (``projects:`` in config, by folder)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    push_branches: list[BranchPattern] | None = None


class Config(BaseModel):
    """The contents of ``config.yaml``; every key is optional."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    runtime: Literal["auto", "docker", "podman"] = "auto"
    default_template: str = "basic"
    allowlist: list[AllowlistEntry] = Field(default_factory=list)
    resources: Resources = Field(default_factory=Resources)
    # Limits of the proxy container (squid, its helpers, and mitmproxy where rules need it).
    proxy_resources: Resources = Field(
        default_factory=lambda: Resources(memory="512m", cpus=1.0, pids=256)
    )
    credentials: Credentials = Field(default_factory=Credentials)
    extra_ca_certificates: list[Path] = Field(default_factory=list)
    # Refuse pull-request merges through the proxy (the agent may push, a person merges).
    block_github_merges: bool = False
    # Where GitHub answers: github.com's, or a GitHub Enterprise Server's host names. The
    # GitHub credential is put on the wire there, and pushes and API writes are read.
    github_hosts: list[AllowlistEntry] = Field(
        default_factory=lambda: ["github.com", "api.github.com"]
    )
    # Where the Claude credential is put on the wire.
    anthropic_hosts: list[AllowlistEntry] = Field(default_factory=lambda: ["api.anthropic.com"])
    # The branches the agent's pushes may create or move (patterns of branch names).
    push_branches: list[BranchPattern] = Field(default_factory=lambda: ["agent/*"])
    # Settings of one project, by its folder.
    projects: dict[str, ProjectSettings] = Field(default_factory=dict)

    def project_settings(self, folder: Path) -> ProjectSettings:
        """The settings given for this project's folder (paths compared resolved)."""
        for key, settings in self.projects.items():
            if Path(key).expanduser().resolve() == folder.resolve():
                return settings
        return ProjectSettings()

    def branches_for(self, folder: Path) -> tuple[str, ...]:
        own = self.project_settings(folder).push_branches
        return tuple(own if own is not None else self.push_branches)


def load_yaml_model(path: Path, model: type[M]) -> M:
    """Read a YAML file into ``model``; errors name the file, the key and what was expected."""
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}") from exc
    try:
        return model.model_validate(data or {})
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(path, exc)) from exc


def describe_validation_error(path: Path, exc: ValidationError) -> str:
    """One line per problem: ``<file>: <key>: <what was expected>``."""
    problems = []
    for error in exc.errors():
        where = "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]
        ).lstrip(".")
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"{path}: {where or '(top level)'}: {message}")
    return "\n".join(problems)


__all__ = ["Config", "Paths", "Resources", "load"]


def load(paths: Paths) -> Config:
    """Load the user's config, or the defaults when there is no config file."""
    if not paths.config_file.exists():
        return Config()
    return load_yaml_model(paths.config_file, Config)
