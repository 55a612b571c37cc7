"""Where a project's allowlist comes from: config, template, and the project's own changes.

The project's own part is what ``create --allow``, ``allow`` and ``deny`` said, kept in
devagent's data directory so that a re-create keeps it. What is in force is every entry
of config, template and project, minus the project's denials.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from devagent.errors import ConfigError
from devagent.generate.files import replace_generated_file
from devagent.manager.agents import agent_of, of_project
from devagent.manager.context import Context
from devagent.manager.environments import require_files, status
from devagent.manager.results import AllowlistEntryView, AllowlistResult
from devagent.manager.state import record_generated
from devagent.project import Project, identify
from devagent.proxy.allowlist import InvalidHost, parse_entry
from devagent.safefs import replace_file

if TYPE_CHECKING:
    from devagent.templates import Template

Source = Literal["config", "template", "project", "agent"]


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
    # The user's answers in the inbox: entries allowed until a time, hosts declined.
    until: tuple[tuple[str, float], ...] = ()
    declined: tuple[str, ...] = ()

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
        raw_until = data.get("until")
        until = tuple(
            (str(entry), float(end)) for entry, end in (raw_until or {}).items()
            if isinstance(end, (int, float))
        ) if isinstance(raw_until, dict) else ()  # fmt: skip
        return cls(texts("allow"), texts("deny"), template if isinstance(template, str) else None,
                   until, texts("declined"))  # fmt: skip

    def save(self, path: Path) -> None:
        document: dict[str, Any] = {
            "template": self.template, "allow": list(self.allow), "deny": list(self.deny),
        }  # fmt: skip
        if self.until:
            document["until"] = dict(self.until)
        if self.declined:
            document["declined"] = list(self.declined)
        replace_file(path, (json.dumps(document, indent=2) + "\n").encode())

    def live_until(self, now: float) -> dict[str, float]:
        return {entry: end for entry, end in self.until if end > now}

    def allowing(self, entries: Sequence[str]) -> ProjectEntries:
        added = canonical(entries)
        return replace(
            self,
            allow=merge_allowlists(self.allow, added),
            deny=tuple(e for e in self.deny if e not in added),
        )

    def denying(self, entries: Sequence[str], inherited: Iterable[str]) -> ProjectEntries:
        """Drop entries of the project's own; remember a denial of ``inherited`` ones."""
        removed = canonical(entries)
        kept_out = set(removed).intersection(inherited)
        return replace(
            self,
            allow=tuple(e for e in self.allow if e not in removed),
            deny=merge_allowlists(self.deny, sorted(kept_out)),
        )


@dataclass(frozen=True)
class Layers:
    """The sources of a project's allowlist: config, template, the project's own; for an
    agent, its project's own under its own (``project`` is then the agent's)."""

    config: tuple[str, ...]
    template: tuple[str, ...]
    project: ProjectEntries = field(default_factory=ProjectEntries)
    parent: ProjectEntries | None = None

    def effective(self) -> tuple[str, ...]:
        inherited = self.parent or ProjectEntries()
        denied = (set(inherited.deny) - set(self.project.allow)) | set(self.project.deny)
        merged = merge_allowlists(self.config, self.template, inherited.allow, self.project.allow)
        return tuple(entry for entry in merged if entry not in denied)

    def sources(self) -> dict[str, list[Source]]:
        """Each entry in force, with where it comes from."""
        found: dict[str, list[Source]] = {}
        own: Source = "project" if self.parent is None else "agent"
        layers: tuple[tuple[Source, Sequence[str]], ...] = (
            ("config", self.config), ("template", self.template),
            ("project", self.parent.allow if self.parent else ()), (own, self.project.allow),
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


def layers_for(
    context: Context, project: Project, template: Template, allow: Sequence[str] = ()
) -> Layers:
    """The project's allowlist sources at create; ``allow`` and the template are saved."""
    path = context.paths.project_allowlist_file(project.hash)
    own = ProjectEntries.load(path)
    updated = replace(own.allowing(allow), template=template.name)
    if updated != own:
        updated.save(path)
    config = context.config
    return Layers(canonical(config.allowlist), canonical(template.manifest.allowlist), updated,
                  _parent_entries(context, project))  # fmt: skip


def current_layers(context: Context, project: Project) -> Layers:
    from devagent.templates import get as get_template

    config = context.config
    own = ProjectEntries.load(context.paths.project_allowlist_file(project.hash))
    template = get_template(own.template or config.default_template, context.paths)
    return Layers(canonical(config.allowlist), canonical(template.manifest.allowlist), own,
                  _parent_entries(context, project))  # fmt: skip


def _parent_entries(context: Context, project: Project) -> ProjectEntries | None:
    """For an agent, its project's own entries (they apply to it too); else None."""
    agent = agent_of(context, project)
    if agent is None:
        return None
    parent = identify(agent.project, must_exist=False)
    return ProjectEntries.load(context.paths.project_allowlist_file(parent.hash))


def show(context: Context, project: Project) -> AllowlistResult:
    """The entries in force for a project, with where each comes from."""
    require_files(project)
    return describe(str(project.path), current_layers(context, project))


def document(layers: Layers) -> bytes:
    """The proxy's allowlist file for these layers (what is in force now)."""
    from devagent.generate.proxy import allowlist_document

    own = layers.project
    return allowlist_document(layers.effective(), own.live_until(time.time()), own.declined)


def write_policy(context: Context, project: Project, layers: Layers) -> None:
    """Write what is in force into the project's policy file: a running proxy reads it
    before its next request."""
    from devagent.generate.layout import ALLOWLIST_FILE

    replace_generated_file(project, ALLOWLIST_FILE, document(layers))
    record_generated(context, project)


def change(
    context: Context, project: Project, *, allow: Sequence[str] = (), deny: Sequence[str] = ()
) -> AllowlistResult:
    """Add or remove entries (a denial is kept for re-creates); the proxy reads its file
    again at its next request, so a running environment applies the change at once."""
    require_files(project)
    before = current_layers(context, project)
    inherited = (*before.config, *before.template, *(before.parent.allow if before.parent else ()))
    own = before.project.allowing(allow).denying(deny, inherited)
    after = replace(before, project=own)
    old, new = set(before.effective()), set(after.effective())
    own.save(context.paths.project_allowlist_file(project.hash))
    write_policy(context, project, after)
    for agent in of_project(context, project):  # the project's entries are theirs too
        worktree = identify(agent.worktree, must_exist=False)
        if worktree.compose_file.exists():
            write_policy(context, worktree, current_layers(context, worktree))
    result = describe(
        str(project.path),
        after,
        added=tuple(sorted(new - old)),
        removed=tuple(sorted(old - new)),
        live=status(context, project).state == "running",
    )
    return replace(result, action="allow" if allow else "deny", asked=(*allow, *deny))


def answer(
    context: Context, project: Project, entry: str, host: str, *, until: float | None,
    decline: bool = False,
) -> None:  # fmt: skip
    """Record the user's answer from the inbox and apply it live: ``entry`` allowed until
    ``until``, or ``host`` declined (the proxy tells the agent not to retry); either
    clears the other."""
    (entry,) = canonical([entry])
    path = context.paths.project_allowlist_file(project.hash)
    own = ProjectEntries.load(path)
    kept = tuple((e, end) for e, end in own.until if e != entry and end > time.time())
    declined = tuple(h for h in own.declined if h != host)
    own = replace(
        own,
        until=(*kept, (entry, until)) if until is not None else kept,
        declined=(*declined, host) if decline else declined,
    )
    own.save(path)
    write_policy(context, project, current_layers(context, project))
