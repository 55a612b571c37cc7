"""Where a project's allowlist comes from: config, template, and the project's own changes.

The project's own part is what ``create --allow``, ``allow`` and ``deny`` said, kept in
devagent's data directory so that a re-create keeps it. What is in force is every entry
of config, template and project, minus the project's denials.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from devagent.errors import ConfigError
from devagent.manager.results import AllowlistEntryView, AllowlistResult
from devagent.proxy.allowlist import InvalidHost, parse_entry

Source = Literal["config", "template", "project"]


def canonical(entries: Iterable[str]) -> tuple[str, ...]:
    """Entries validated, in canonical form, without duplicates, in a stable order."""
    try:
        return tuple(sorted({str(parse_entry(entry)) for entry in entries}))
    except InvalidHost as exc:
        raise ConfigError(f"invalid allowlist entry: {exc}") from exc


def merge_allowlists(*sources: Sequence[str]) -> tuple[str, ...]:
    return canonical(entry for source in sources for entry in source)


@dataclass(frozen=True)
class ProjectEntries:
    """A project's own allowlist changes, and the template it was created with."""

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    template: str | None = None

    @classmethod
    def load(cls, path: Path) -> ProjectEntries:
        try:
            data: Any = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        if isinstance(data, list):  # the first format: the allowed entries only
            data = {"allow": data}
        if not isinstance(data, dict):
            return cls()

        def texts(key: str) -> tuple[str, ...]:
            return tuple(str(e) for e in data.get(key) or [] if isinstance(e, str))

        template = data.get("template")
        return cls(texts("allow"), texts("deny"), template if isinstance(template, str) else None)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {"template": self.template, "allow": list(self.allow), "deny": list(self.deny)}
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        temporary.replace(path)

    def allowing(self, entries: Sequence[str]) -> ProjectEntries:
        added = canonical(entries)
        return ProjectEntries(
            merge_allowlists(self.allow, added),
            tuple(e for e in self.deny if e not in added),
            self.template,
        )

    def denying(self, entries: Sequence[str], inherited: Iterable[str]) -> ProjectEntries:
        """Drop entries of the project's own; remember a denial of ``inherited`` ones."""
        removed = canonical(entries)
        kept_out = set(removed).intersection(inherited)
        return ProjectEntries(
            tuple(e for e in self.allow if e not in removed),
            merge_allowlists(self.deny, sorted(kept_out)),
            self.template,
        )


@dataclass(frozen=True)
class Layers:
    """The three sources of a project's allowlist."""

    config: tuple[str, ...]
    template: tuple[str, ...]
    project: ProjectEntries = field(default_factory=ProjectEntries)

    def effective(self) -> tuple[str, ...]:
        denied = set(self.project.deny)
        merged = merge_allowlists(self.config, self.template, self.project.allow)
        return tuple(entry for entry in merged if entry not in denied)

    def sources(self) -> dict[str, list[Source]]:
        """Each entry in force, with where it comes from."""
        found: dict[str, list[Source]] = {}
        layers: tuple[tuple[Source, Sequence[str]], ...] = (
            ("config", self.config), ("template", self.template), ("project", self.project.allow),
        )  # fmt: skip
        for source, entries in layers:
            for entry in canonical(entries):
                found.setdefault(entry, []).append(source)
        return {entry: found[entry] for entry in self.effective()}


def describe(
    project_path: str, layers: Layers, *, added: tuple[str, ...] = (),
    removed: tuple[str, ...] = (), live: bool = False,
) -> AllowlistResult:  # fmt: skip
    """The result of allowlist, allow and deny: what is in force, from where, what changed."""
    entries = tuple(
        AllowlistEntryView(entry, tuple(sources)) for entry, sources in layers.sources().items()
    )
    return AllowlistResult(project_path, entries, layers.project.deny, added, removed, live)
