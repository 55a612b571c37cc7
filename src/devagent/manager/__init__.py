"""Manager: create, start, stop, destroy, refresh and list environments. Knows no terminal."""

from __future__ import annotations

import functools
import ipaddress
import json
import os
import shlex
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from devagent.errors import ConfigError, EngineError, IsolationError, ProjectError
from devagent.generate.devcontainer import changed_files, read_marker
from devagent.generate.options import PROXY_HOST, PROXY_PORT, PROXY_SYSTEM_ID
from devagent.manager import credentials, gitguard, tmux
from devagent.manager.allowlist import Layers, ProjectEntries, canonical, describe, merge_allowlists
from devagent.manager.results import (
    AllowlistResult,
    CreateResult,
    Environment,
    LifecycleResult,
    ListResult,
    Progress,
    ProgressEvent,
    group_environments,
    no_progress,
)
from devagent.manager.selftest import Check, VerifyResult, read_routes, run_checks
from devagent.project import (
    LABEL_PROJECT_HASH,
    Project,
    identify,
    internal_subnet,
    looks_like_container_name,
)
from devagent.runtime import Runtime
from devagent.runtime.devcontainer_cli import read_log_line
from devagent.runtime.firewall import accept_rule

if TYPE_CHECKING:
    # Generation pulls in YAML, pydantic and cryptography: imported by `create` alone, so
    # that list, status, start and stop stay quick.
    from devagent.config import Config
    from devagent.generate.options import EnvironmentOptions
    from devagent.manager.facts import ContainerFacts
    from devagent.paths import Paths
    from devagent.templates import Template


class Manager:
    """Orchestrates generators, files, state and the runtime for one user's environments."""

    def __init__(
        self, runtime: Runtime, paths: Paths, config: Config | Callable[[], Config]
    ) -> None:
        """``config`` may be a loader: only operations that need it (create) validate it."""
        self.runtime = runtime
        self.paths = paths
        self._config = config

    @functools.cached_property
    def config(self) -> Config:
        return self._config() if callable(self._config) else self._config

    # --- finding projects ---------------------------------------------------------------
    def resolve(self, target: str | None) -> Project:
        """A project from a path (default: the current directory) or a container name."""
        if target and looks_like_container_name(target):
            wanted = target.split("-")[1]
            for env in self.list().environments:
                if env.project_hash == wanted:
                    return identify(env.project_path, must_exist=False)
            raise ProjectError(f"no devagent environment has a container named {target}")
        return identify(target or Path.cwd(), must_exist=False)

    # --- create -----------------------------------------------------------------------
    def options_for(
        self, project: Project, template: Template, allow: Sequence[str]
    ) -> EnvironmentOptions:
        """Resolve every input of generation and make sure the state it points at exists."""
        from devagent.generate.options import EnvironmentOptions
        from devagent.proxy.ca import ensure_ca

        claude_dir = self.paths.claude_config_dir(project.hash)
        certs_dir = self.paths.proxy_certs_dir(project.hash)
        logs_dir = self.paths.proxy_logs_dir(project.hash)
        for directory in (claude_dir, logs_dir):
            directory.mkdir(parents=True, exist_ok=True)
        logs_dir.chmod(0o700)  # the request log is the user's business only
        credentials.seed_claude_config(claude_dir, template.manifest.remote_uid)
        ca_cert = ensure_ca(certs_dir, common_name=f"devagent proxy CA {project.hash}")
        engine = self.runtime.engine.name
        return EnvironmentOptions(
            project=project,
            template=template,
            allowlist=self._layers(project, template, allow).effective(),
            resources=template.manifest.resources.apply(self.config.resources),
            proxy_resources=self.config.proxy_resources,
            git_metadata=gitguard.guarded_metadata(project.path),
            engine=engine,
            proxy_user=self._proxy_user(certs_dir, logs_dir),
            claude_config_dir=claude_dir,
            proxy_certs_dir=certs_dir,
            proxy_logs_dir=logs_dir,
            proxy_ca_cert=ca_cert.read_bytes(),
            internal_subnet=self._internal_subnet(project),
            rootless=engine == "podman" and self.runtime.facts.rootless,
            extra_ca_certificates=self._extra_ca_certificates(),
            merge_guarded_hosts=self._merge_guarded_hosts(template),
            secrets=self.prepare_secrets(project),
        )

    @staticmethod
    def _proxy_user(*directories: Path) -> str:
        """The proxy's user: never root. The user's own id (rootless Podman maps it through
        keep-id), so that the proxy reads its key and the user reads the request log; when
        devagent runs as root, the proxy gets an unprivileged system id and these
        directories (devagent's own, never the app's) are handed to it."""
        uid, gid = os.getuid(), os.getgid()
        if uid != 0:
            return f"{uid}:{gid}"
        for directory in directories:
            for path in (directory, *directory.iterdir()):
                os.chown(path, PROXY_SYSTEM_ID, PROXY_SYSTEM_ID, follow_symlinks=False)
        return f"{PROXY_SYSTEM_ID}:{PROXY_SYSTEM_ID}"

    def prepare_secrets(self, project: Project) -> tuple[tuple[str, Path], ...]:
        return credentials.prepare(self.paths.secrets_dir(project.hash), self.config.credentials)

    def credential_warnings(self) -> tuple[str, ...]:
        return credentials.warnings(self.config.credentials)

    def _merge_guarded_hosts(self, template: Template) -> tuple[str, ...]:
        block = template.manifest.block_github_merges
        if block is None:
            block = self.config.block_github_merges
        return merge_allowlists(self.config.github_hosts) if block else ()

    def _internal_subnet(self, project: Project) -> ipaddress.IPv4Network:
        """Keep the subnet of the project's existing network; else pick a free one."""
        subnets = self.runtime.network_subnets()
        own = [n for n in subnets.pop(project.internal_network, []) if n.version == 4]
        if own:
            return ipaddress.IPv4Network(own[0])
        return internal_subnet(project.hash, [n for nets in subnets.values() for n in nets])

    def warnings(self) -> tuple[str, ...]:
        """What the engine cannot enforce on this host, said plainly."""
        facts = self.runtime.facts
        if facts.enforces_limits:
            return ()
        return (
            f"{self.runtime.engine.name} runs rootless on cgroups v1 here, so the memory, CPU "
            "and pids limits are NOT enforced; switch the host to cgroups v2 "
            "(systemd.unified_cgroup_hierarchy=1) and delegate cpu, memory and pids to users",
        )

    def _layers(self, project: Project, template: Template, allow: Sequence[str] = ()) -> Layers:
        """The project's allowlist sources; ``allow`` and the template are saved with it."""
        path = self.paths.project_allowlist_file(project.hash)
        own = ProjectEntries.load(path)
        updated = replace(own.allowing(allow), template=template.name)
        if updated != own:
            updated.save(path)
        return Layers(
            canonical(self.config.allowlist), canonical(template.manifest.allowlist), updated
        )

    def _extra_ca_certificates(self) -> bytes:
        chunks = []
        for path in self.config.extra_ca_certificates:
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

    def check_create(
        self, path: str | Path | None, *, template: str | None, allow: Sequence[str]
    ) -> tuple[Project, Template]:
        """What create checks before it touches anything: the folder, template and entries."""
        from devagent.templates import get as get_template

        project = identify(path or Path.cwd())
        chosen = get_template(template or self.config.default_template, self.paths)
        canonical(allow)
        return project, chosen

    def templates(self) -> list[Template]:
        from devagent.templates import discover

        return discover(self.paths)

    def request_log_dir(self, project: Project) -> Path:
        return self.paths.proxy_logs_dir(project.hash)

    def create(
        self,
        path: str | Path | None,
        *,
        template: str | None = None,
        allow: Sequence[str] = (),
        force: bool = False,
        progress: Progress = no_progress,
    ) -> CreateResult:
        from devagent.generate.compose import ComposeGenerator
        from devagent.generate.devcontainer import DevcontainerGenerator, write_to_project

        project, chosen = self.check_create(path, template=template, allow=allow)
        progress(ProgressEvent("step", f"Generating files for {project.path} ({chosen.name})"))
        options = self.options_for(project, chosen, allow)
        gitguard.save(self.paths.git_record_file(project.hash), project.path)
        compose = ComposeGenerator().generate(options)
        devcontainer = DevcontainerGenerator().generate(options)
        if self.status(project).state != "missing":
            # `devcontainer up` would reuse the old containers and ignore the new files.
            progress(ProgressEvent("step", "Removing the previous containers (state is kept)"))
            self._remove_containers(project)
        backup = write_to_project(project, [compose.files, devcontainer.files], force=force)
        self.record_generated(project)
        post_create = chosen.manifest.post_create_command

        def on_line(line: str) -> None:
            read = read_log_line(line, post_create=post_create)
            if read.step:
                progress(ProgressEvent("step", read.step))
            if read.text:
                progress(ProgressEvent("output", read.text))

        self.runtime.devcontainer_up(project, on_line=on_line)
        self.wait_until_isolated(project)
        self.wait_for_proxy(project)
        self.require_isolation(project)
        environment = self.status(project)
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
            warnings=(*self.warnings(), *self.credential_warnings()),
        )

    # --- start / stop / destroy -----------------------------------------------------------
    def _require_files(self, project: Project) -> None:
        if read_marker(project.devcontainer_dir) is None or not project.compose_file.exists():
            raise ProjectError(
                f"{project.path} has no devagent environment",
                hint=f"create one with `devagent create {project.path}`",
            )

    def record_generated(self, project: Project) -> None:
        """Keep the digests of ``.devcontainer/`` as written, out of the workspace."""
        marker = read_marker(project.devcontainer_dir) or {}
        record = self.paths.generated_record_file(project.hash)
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps(marker.get("files", {}), indent=2) + "\n", encoding="utf-8")

    def check_generated(self, project: Project) -> Check:
        """Whether ``.devcontainer/`` still holds exactly what devagent generated.

        The directory sits in the workspace. The app sees it read-only, but a commit the
        agent made and the user checked out could still change it; the record to compare
        with lives in devagent's data directory, out of the agent's reach.
        """
        name = "the generated files are unchanged"
        try:
            recorded = json.loads(
                self.paths.generated_record_file(project.hash).read_text(encoding="utf-8")
            )
        except (OSError, ValueError):
            return Check(name, False, "no record of what devagent generated here")
        changed = changed_files(project.devcontainer_dir, recorded)
        detail = f"changed: {', '.join(changed)}" if changed else f"{len(recorded)} files"
        return Check(name, not changed, detail)

    def start(self, project: Project, *, progress: Progress = no_progress) -> LifecycleResult:
        self._require_files(project)
        generated = self.check_generated(project)
        if not generated.ok:
            raise IsolationError(
                f"{project.devcontainer_dir} is not what devagent generated ({generated.detail});"
                " those files define the sandbox, so devagent will not start from them",
                hint=f"review the change; `devagent create {project.path}` writes them anew "
                "(keeping the changed ones in a backup)",
            )
        if self.status(project).state == "missing":
            raise ProjectError(
                f"the containers of {project.path} do not exist",
                hint=f"re-create them with `devagent create {project.path}`",
            )
        progress(ProgressEvent("step", "Starting proxy and app"))
        self.prepare_secrets(project)  # a token replaced since create reaches the app
        self.runtime.compose_start(project)
        # The restarted app has a fresh network namespace, so the netguard step must run
        # again, after the app. podman-compose starts all containers at once: run it here.
        step = self.runtime.run_step(project.netguard_container)
        if step.returncode != 0:
            raise IsolationError(
                f"the step that restricts the app's routes failed (exit {step.returncode}): "
                f"{(step.stdout + step.stderr).strip()[-300:]}",
                hint="the environment is not safe to use; `devagent create` rebuilds it",
            )
        self.wait_until_isolated(project)
        self.wait_for_proxy(project)
        self.require_isolation(project)
        return LifecycleResult("start", self.status(project), warnings=self.git_warnings(project))

    def git_warnings(self, project: Project) -> tuple[str, ...]:
        """Loud words when the project's git metadata changed since create."""
        return gitguard.warnings(self.paths.git_record_file(project.hash), project.path)

    def verify(self, project: Project) -> VerifyResult:
        """The isolation self-test, tried from inside the app, and the files' integrity."""
        self._require_running(project)
        return self.isolation(project)

    def _require_running(self, project: Project) -> None:
        self._require_files(project)
        state = self.status(project).state
        if state != "running":
            raise ProjectError(
                f"the environment of {project.path} is {state}",
                hint=f"start it with `devagent start {project.path}`",
            )

    def isolation(self, project: Project) -> VerifyResult:
        """Every check of a running environment: its files, then its ways out."""
        guarded = gitguard.guarded_metadata(project.path, make_missing=False)
        inside = run_checks(self.runtime, project, git_metadata=guarded)
        return VerifyResult(inside.project_path, (self.check_generated(project), *inside.checks))

    def require_isolation(self, project: Project) -> None:
        result = self.isolation(project)
        if not result.ok:
            failed = "; ".join(f"{c.name}: NO ({c.detail})" for c in result.failures)
            raise IsolationError(
                f"the environment of {project.path} is not isolated: {failed}",
                hint="do not use it; `devagent verify` repeats the test, "
                "`devagent destroy` removes it",
            )

    def wait_until_isolated(self, project: Project, *, timeout: float = 60.0) -> None:
        """Return once the app's only route leads to its proxy (the netguard step ran)."""
        deadline = time.monotonic() + timeout
        while True:
            view = read_routes(self.runtime, project)
            if view.isolated:
                return
            if time.monotonic() > deadline:
                raise IsolationError(
                    f"the app of {project.path} still has routes beyond its proxy: "
                    f"{view.describe()}",
                    hint=f"see `{self.runtime.engine.binary} logs "
                    f"{project.netguard_container}`; the environment is not safe to use",
                )
            time.sleep(0.2)

    def wait_for_proxy(self, project: Project, *, timeout: float = 30.0) -> None:
        """Return once the app reaches its proxy (the one path out that must work).

        Compose's `service_healthy` is not enough: podman-compose ignores it before podman
        4.6, and rootless podman runs no healthchecks without a systemd user session.
        """
        # Any HTTP answer from the proxy itself proves the connection; templates ship curl.
        probe = ["curl", "--noproxy", "*", "-s", "-o", "/dev/null", "--max-time", "2",
                 f"http://{PROXY_HOST}:{PROXY_PORT}/"]  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            result = self.runtime.exec(project.app_container, probe, timeout=10)
            if result.returncode == 0:
                return
            if result.returncode in (126, 127):
                raise ProjectError(
                    f"the app container of {project.path} has no curl",
                    hint="templates must install curl (see the README's Templates section)",
                )
            if time.monotonic() > deadline:
                self._explain_unreachable_proxy(project)
                raise ProjectError(
                    f"the app of {project.path} cannot reach its proxy",
                    hint=f"see `{self.runtime.engine.binary} logs {project.proxy_container}`",
                )
            time.sleep(0.2)

    def _explain_unreachable_proxy(self, project: Project) -> None:
        if self.runtime.engine.name != "podman" or self.runtime.facts.rootless:
            return
        conflict = self.runtime.podman_bridge_blocked(project.internal_network)
        if conflict is not None:
            raise EngineError(
                f"Docker's firewall drops traffic inside Podman's bridge {conflict} "
                "(iptables FORWARD policy DROP), so the app cannot reach its proxy",
                hint=f"allow traffic within that bridge: sudo {shlex.join(accept_rule(conflict))}"
                f" then `devagent start {project.path}`",
            )

    def stop(self, project: Project, *, progress: Progress = no_progress) -> LifecycleResult:
        self._require_files(project)
        progress(ProgressEvent("step", "Stopping app and proxy"))
        self.runtime.compose_stop(project)
        return LifecycleResult("stop", self.status(project))

    def destroy(
        self, project: Project, *, purge: bool = False, progress: Progress = no_progress
    ) -> LifecycleResult:
        """Remove containers, networks and images (with purge, the state); never the workspace."""
        progress(ProgressEvent("step", "Removing containers and networks"))
        # The app runs an image the devcontainer CLI derived (vsc-...-uid): ask before removal.
        used = {c.image for c in self.runtime.ps({LABEL_PROJECT_HASH: project.hash})}
        self._remove_containers(project)
        progress(ProgressEvent("step", "Removing images"))
        images = self.runtime.remove_images(sorted(used.union(project.images) - {""}))
        purged: list[str] = []
        if purge:
            progress(ProgressEvent("step", "Removing per-project state"))
            for directory in (
                self.paths.claude_config_dir(project.hash),
                self.paths.proxy_certs_dir(project.hash),
                self.paths.proxy_logs_dir(project.hash),
                self.paths.secrets_dir(project.hash),
            ):
                if directory.exists():
                    shutil.rmtree(directory)
                    purged.append(str(directory))
            for state_file in (
                self.paths.project_allowlist_file(project.hash),
                self.paths.generated_record_file(project.hash),
            ):
                if state_file.exists():
                    state_file.unlink()
                    purged.append(str(state_file))
        return LifecycleResult("destroy", self.status(project), tuple(purged), images)

    def _remove_containers(self, project: Project) -> None:
        if project.compose_file.exists() and read_marker(project.devcontainer_dir) is not None:
            self.runtime.compose_down(project)
        self.runtime.remove_leftovers(project)

    # --- getting in ---------------------------------------------------------------------
    def exec_argv(
        self, project: Project, command: Sequence[str], *, tty: bool, login: bool = False
    ) -> list[str]:
        """The engine command that runs ``command`` as the agent, in the workspace.

        ``login`` runs it through a login shell, which exports the credentials.
        """
        self._require_running(project)
        try:
            settings = json.loads(
                (project.devcontainer_dir / "devcontainer.json").read_text(encoding="utf-8")
            )
        except (OSError, ValueError) as exc:
            raise ProjectError(f"cannot read {project.devcontainer_dir}/devcontainer.json") from exc
        if login:
            command = ["bash", "-lc", 'exec "$@"', "devagent", *command]
        return self.runtime.engine.exec_argv(
            project.app_container,
            command,
            user=str(settings.get("remoteUser", "root")),
            workdir=str(settings.get("workspaceFolder", project.workspace_folder)),
            interactive=True,
            tty=tty,
        )

    def shell_argv(self, project: Project, *, tty: bool) -> list[str]:
        return self.exec_argv(project, tmux.LOGIN_SHELL, tty=tty)

    def claude_argv(self, project: Project, args: Sequence[str] = (), *, tty: bool) -> list[str]:
        return self.exec_argv(project, tmux.claude_command(args), tty=tty)

    def attach_argv(self, project: Project, session: str, *, tty: bool) -> list[str]:
        return self.exec_argv(project, tmux.attach_command(session), tty=tty)

    def sessions(self, project: Project) -> tuple[tmux.Session, ...]:
        """The tmux sessions in the app container (none when tmux has no server)."""
        argv = self.exec_argv(project, tmux.list_command(), tty=False)
        result = self.runtime.executor.run(argv, check=False)
        if result.returncode != 0 and not tmux.no_server(result.stderr):
            raise ProjectError(f"cannot list tmux sessions: {result.stderr.strip()}")
        return tmux.parse_sessions(result.stdout)

    def new_session(self, project: Project, name: str) -> None:
        self._tmux(project, tmux.new_command(name))

    def kill_session(self, project: Project, name: str) -> None:
        self._tmux(project, tmux.kill_command(name))

    def _tmux(self, project: Project, command: list[str]) -> None:
        result = self.runtime.executor.run(self.exec_argv(project, command, tty=False), check=False)
        if result.returncode != 0:
            raise ProjectError(f"tmux: {result.stderr.strip() or 'failed'}")

    def run_interactive(self, argv: Sequence[str]) -> int:
        """Run a command attached to this terminal; returns its exit code."""
        return self.runtime.executor.interactive(argv)

    # --- allowlist ----------------------------------------------------------------------
    def allowlist(self, project: Project) -> AllowlistResult:
        """The entries in force for a project, with where each comes from."""
        self._require_files(project)
        return describe(str(project.path), self._current_layers(project))

    def allow(self, project: Project, entries: Sequence[str]) -> AllowlistResult:
        """Add entries; a running proxy applies them to its next request."""
        return self._change_allowlist(project, allow=entries)

    def deny(self, project: Project, entries: Sequence[str]) -> AllowlistResult:
        """Remove entries, whichever source listed them (a denial is kept for re-creates)."""
        return self._change_allowlist(project, deny=entries)

    def _current_layers(self, project: Project) -> Layers:
        from devagent.templates import get as get_template

        own = ProjectEntries.load(self.paths.project_allowlist_file(project.hash))
        template = get_template(own.template or self.config.default_template, self.paths)
        return Layers(canonical(self.config.allowlist), canonical(template.manifest.allowlist), own)

    def _change_allowlist(
        self, project: Project, *, allow: Sequence[str] = (), deny: Sequence[str] = ()
    ) -> AllowlistResult:
        from devagent.generate.compose import ALLOWLIST_FILE, allowlist_document
        from devagent.generate.devcontainer import replace_generated_file

        self._require_files(project)
        before = self._current_layers(project)
        own = before.project.allowing(allow).denying(deny, (*before.config, *before.template))
        after = replace(before, project=own)
        old, new = set(before.effective()), set(after.effective())
        own.save(self.paths.project_allowlist_file(project.hash))
        replace_generated_file(project, ALLOWLIST_FILE, allowlist_document(after.effective()))
        self.record_generated(project)
        return describe(
            str(project.path),
            after,
            added=tuple(sorted(new - old)),
            removed=tuple(sorted(old - new)),
            live=self.status(project).state == "running",
        )

    # --- refresh / list -----------------------------------------------------------------
    def list(self) -> ListResult:
        """Every devagent environment on this engine, from one label-filtered `ps`."""
        return ListResult(
            self.runtime.engine.name,
            tuple(group_environments(self.runtime.managed_containers(), self.runtime.engine.name)),
        )

    def facts(self, project: Project) -> tuple[ContainerFacts, ...]:
        """What the engine enforces for the app and the proxy (read back, not as asked)."""
        from devagent.manager.facts import ContainerFacts

        env = self.status(project)
        names = [c.name for c in (env.app, env.proxy) if c is not None]
        return (
            tuple(ContainerFacts.from_inspect(d) for d in self.runtime.inspect(names))
            if names
            else ()
        )

    def status(self, project: Project) -> Environment:
        for env in self.list().environments:
            if env.project_hash == project.hash:
                return env
        return Environment(str(project.path), project.hash, self.runtime.engine.name)

    refresh = list
