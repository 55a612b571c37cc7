"""devagent create: resolve every input, generate the files, write them into the project,
bring the environment up with the devcontainer CLI and prove it isolated."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from devagent.errors import (
    CommandFailed,
    ConfigError,
    DevagentError,
    EngineError,
    Interrupted,
    ProjectError,
)
from devagent.manager import agents, credentials, gitguard, isolation, state
from devagent.manager.allowlist import (
    canonical,
    current_layers,
    layers_for,
    merge_allowlists,
    write_policy,
)
from devagent.manager.appwatch import AppExitWatch
from devagent.manager.context import Context
from devagent.manager.environments import engine_warnings, status
from devagent.manager.lifecycle import leftovers, remove_containers
from devagent.manager.results import CreateResult, Progress, ProgressEvent, no_progress
from devagent.project import Project, identify, internal_subnet
from devagent.runtime.devcontainer_cli import read_log_line

if TYPE_CHECKING:
    # Generation pulls in YAML, pydantic and cryptography: imported by `create` alone, so
    # that list, status, start and stop stay quick.
    from devagent.generate.options import AgentGit, EnvironmentOptions
    from devagent.templates import Template


def check(
    context: Context, path: str | Path | None, *, template: str | None, allow: Sequence[str]
) -> tuple[Project, Template]:
    """What create checks before it touches anything: the folder, template and entries."""
    from devagent.templates import get as get_template

    project = identify(path or Path.cwd())
    chosen = get_template(template or context.config.default_template, context.paths)
    canonical(allow)
    return project, chosen


@dataclass(frozen=True)
class PreparedState:
    """What create writes before it generates: the state the files will point at."""

    allowlist: tuple[str, ...]  # in force, after the project's own entries were saved
    proxy_ca_cert: bytes
    proxy_user: str
    secrets: tuple[tuple[str, str], ...]  # (name, kind) of each credential held


def prepare_state(
    context: Context, project: Project, template: Template, allow: Sequence[str]
) -> PreparedState:
    """Make the project's state exist (directories, Claude config, CA, secrets) and save
    ``allow`` and the template in its allowlist file: the one step of create that writes
    state before the files are generated."""
    ca_cert = state.ensure(context, project, remote_uid=template.manifest.remote_uid)
    return PreparedState(
        allowlist=layers_for(context, project, template, allow).effective(),
        proxy_ca_cert=ca_cert.read_bytes(),
        proxy_user=state.proxy_user(context, project),
        secrets=state.prepare_secrets(context, project),
    )


def options_for(
    context: Context, project: Project, template: Template, prepared: PreparedState
) -> EnvironmentOptions:
    """Every input of generation, resolved (reads the engine and config, writes nothing)."""
    from devagent.generate.options import EnvironmentOptions

    paths, config, runtime = context.paths, context.config, context.runtime
    agent = agents.agent_of(context, project)
    return EnvironmentOptions(
        project=project,
        template=template,
        allowlist=prepared.allowlist,
        resources=template.manifest.resources.apply(config.resources),
        proxy_resources=config.proxy_resources,
        git_metadata=gitguard.guarded_metadata(project.path),
        engine=runtime.engine.name,
        proxy_user=prepared.proxy_user,
        claude_config_dir=paths.claude_config_dir(project.hash),
        proxy_certs_dir=paths.proxy_certs_dir(project.hash),
        proxy_logs_dir=paths.proxy_logs_dir(project.hash),
        proxy_ca_cert=prepared.proxy_ca_cert,
        internal_subnet=_internal_subnet(context, project),
        rootless=runtime.engine.kind.maps_user_ids and runtime.facts.rootless,
        extra_ca_certificates=_extra_ca_certificates(context),
        github_guarded_hosts=_github_guarded_hosts(context, template, prepared),
        push_branches=agent.push_branches if agent else config.branches_for(project.path),
        credentials=credentials.bindings(config, prepared.secrets),
        secrets_dir=paths.secrets_dir(project.hash),
        agent=_agent_git(context, agent),
    )


def _agent_git(context: Context, agent: agents.Agent | None) -> AgentGit | None:
    from devagent.generate.options import AgentGit

    if agent is None:
        return None
    project = identify(agent.project, must_exist=False)
    return AgentGit(agent.name, agent.branch, project.path, project.hash,
                    gitguard.guarded_metadata(project.path))  # fmt: skip


def _github_guarded_hosts(
    context: Context, template: Template, prepared: PreparedState
) -> tuple[str, ...]:
    """GitHub's hosts when the proxy holds a GitHub credential (the agent pushes with it)
    or merges are to be refused anyway; else none (GitHub goes through squid alone)."""
    config = context.config
    block = template.manifest.block_github_merges
    if block is None:
        block = config.block_github_merges
    held = any(name == "github" for name, _kind in prepared.secrets)
    return merge_allowlists(config.github_hosts) if block or held else ()


def _internal_subnet(context: Context, project: Project) -> ipaddress.IPv4Network:
    """Keep the subnet of the project's existing network; else pick a free one."""
    subnets = context.runtime.network_subnets()
    own = [n for n in subnets.pop(project.internal_network, []) if n.version == 4]
    if own:
        return ipaddress.IPv4Network(own[0])
    return internal_subnet(project.hash, [n for nets in subnets.values() for n in nets])


def _extra_ca_certificates(context: Context) -> bytes:
    chunks = []
    for path in context.config.extra_ca_certificates:
        try:
            data = Path(path).expanduser().read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"extra_ca_certificates: {path}: cannot be read ({exc.strerror})"
            ) from exc
        if b"-----BEGIN CERTIFICATE-----" not in data:
            raise ConfigError(f"extra_ca_certificates: {path}: is not a PEM certificate")
        chunks.append(data.rstrip(b"\n") + b"\n")
    return b"".join(chunks)


class Steps:
    """The step create is in, so that a failure can say where it stopped."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.current = "preparing"

    def __call__(self, name: str, message: str | None = None) -> None:
        self.current = name
        if message:
            self.progress(ProgressEvent("step", message))


def create(
    context: Context,
    path: str | Path | None,
    *,
    template: str | None = None,
    allow: Sequence[str] = (),
    force: bool = False,
    progress: Progress = no_progress,
) -> CreateResult:
    project, chosen = check(context, path, template=template, allow=allow)
    steps = Steps(progress)
    try:
        return _create(context, project, chosen, allow, force=force, steps=steps)
    except (DevagentError, KeyboardInterrupt) as exc:
        raise stopped(context, project, steps.current, exc) from exc


def _create(
    context: Context, project: Project, chosen: Template, allow: Sequence[str], *,
    force: bool, steps: Steps,
) -> CreateResult:  # fmt: skip
    from devagent.generate.compose import ComposeGenerator
    from devagent.generate.devcontainer import DevcontainerGenerator
    from devagent.generate.files import write_to_project

    steps("generating files", f"Generating files for {project.path} ({chosen.name})")
    options = options_for(context, project, chosen, prepare_state(context, project, chosen, allow))
    state.save_git_record(context, project)
    compose = ComposeGenerator().generate(options)
    devcontainer = DevcontainerGenerator().generate(options)
    if leftovers(context, project):
        # `devcontainer up` would reuse old containers and ignore the new files; and what
        # a failed or interrupted create left (networks too) must not carry over.
        steps(
            "removing the previous containers", "Removing the previous containers (state is kept)"
        )
        remove_containers(context, project)
    steps("writing .devcontainer/")
    backup = write_to_project(project, [compose.files, devcontainer.files], force=force)
    # With the user's inbox answers (entries allowed for a while, hosts declined) on top.
    write_policy(context, project, current_layers(context, project))
    post_create = chosen.manifest.post_create_command

    def on_line(line: str) -> None:
        read = read_log_line(line, post_create=post_create)
        if read.step:
            steps(read.step[0].lower() + read.step[1:], read.step)
        if read.text:
            steps.progress(ProgressEvent("output", read.text))

    steps("starting the devcontainer CLI")
    with AppExitWatch(context.runtime, project) as watch:
        try:
            context.runtime.devcontainer_up(project, on_line=on_line, cancel=watch.cancel)
        except DevagentError:
            if (ended := watch.error(look=True)) is not None:
                raise ended from None
            raise
    if (ended := watch.error()) is not None:
        raise ended
    steps("restricting the app's routes to its proxy")
    isolation.wait_until_isolated(context, project)
    steps("waiting until the app reaches its proxy")
    isolation.wait_for_proxy(context, project)
    steps("running the isolation self-test")
    isolation.require(context, project)
    environment = status(context, project)
    if environment.state != "running":
        raise ProjectError(
            f"environment for {project.path} is {environment.state} after create",
            hint="see `devagent status` and the engine's logs of the proxy container",
        )
    return CreateResult(
        environment=environment,
        devcontainer_dir=str(project.devcontainer_dir),
        backup=str(backup) if backup else None,
        allowlist=options.allowlist,
        warnings=(*engine_warnings(context), *state.credential_warnings(context)),
    )


def stopped(
    context: Context, project: Project, step: str, cause: DevagentError | KeyboardInterrupt
) -> DevagentError:
    """A failed or interrupted create, said with its step, what it left and what to run."""
    try:
        left = ", ".join(leftovers(context, project)) or "no containers or networks"
    except (DevagentError, KeyboardInterrupt):
        left = "unknown (the engine did not answer)"
    where = project.path
    hint = (
        f"`devagent create {where}` starts again and replaces what is left; "
        f"`devagent destroy {where}` removes it (the project's state is kept either way)"
    )
    if isinstance(cause, KeyboardInterrupt):
        return Interrupted(f"create was interrupted while {step}; left: {left}", hint=hint)
    text = f"create failed while {step}: {cause.message}\n  left: {left}"
    if cause.hint:
        hint = f"{cause.hint}; or {hint}"
    kind = EngineError if isinstance(cause, CommandFailed) else type(cause)
    return kind(text, hint=hint)
