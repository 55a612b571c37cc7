"""Holding an environment to its isolation: wait until the netguard step has left the app
one route (to its proxy) and the proxy answers, then run the self-test, and refuse to go
on when anything fails."""

from __future__ import annotations

import shlex
import time

from devagent.errors import EngineError, IsolationError, ProjectError
from devagent.generate.layout import PROXY_HOST, PROXY_PORT
from devagent.manager import gitguard
from devagent.manager.context import Context
from devagent.manager.environments import require_running
from devagent.manager.selftest import VerifyResult, read_routes, run_checks
from devagent.manager.state import check_generated
from devagent.project import Project
from devagent.runtime.firewall import accept_rule


def verify(context: Context, project: Project) -> VerifyResult:
    """The isolation self-test, tried from inside the app, and the files' integrity."""
    require_running(context, project)
    return check(context, project)


def check(context: Context, project: Project) -> VerifyResult:
    """Every check of a running environment: its files, then its ways out."""
    guarded = gitguard.guarded_metadata(project.path, make_missing=False)
    inside = run_checks(context.runtime, project, git_metadata=guarded)
    return VerifyResult(inside.project_path, (check_generated(context, project), *inside.checks))


def require(context: Context, project: Project) -> None:
    result = check(context, project)
    if not result.ok:
        failed = "; ".join(f"{c.name}: NO ({c.detail})" for c in result.failures)
        raise IsolationError(
            f"the environment of {project.path} is not isolated: {failed}",
            hint="do not use it; `devagent verify` repeats the test, `devagent destroy` removes it",
        )


def wait_until_isolated(context: Context, project: Project, *, timeout: float = 60.0) -> None:
    """Return once the app's only route leads to its proxy (the netguard step ran)."""
    runtime = context.runtime
    deadline = time.monotonic() + timeout
    while True:
        # Read before the routes: once the step is over, routes that still lead elsewhere
        # will not go away by waiting (a route put back, a step that failed).
        over = _step_over(context, project)
        view = read_routes(runtime, project)
        if view.isolated:
            return
        if over or time.monotonic() > deadline:
            raise IsolationError(
                f"the app of {project.path} still has routes beyond its proxy: {view.describe()}",
                hint=f"see `{runtime.engine.binary} logs "
                f"{project.netguard_container}`; the environment is not safe to use",
            )
        time.sleep(0.2)


def _step_over(context: Context, project: Project) -> bool:
    """Whether the netguard step has run to its end (whatever its exit code)."""
    try:
        found = context.runtime.inspect([project.netguard_container])
    except EngineError:
        return False
    state = found[0].get("State", {}) if found else {}
    return isinstance(state, dict) and str(state.get("Status", "")).lower() in (
        "exited",
        "stopped",
    )


def wait_for_proxy(context: Context, project: Project, *, timeout: float = 30.0) -> None:
    """Return once the app reaches its proxy (the one path out that must work).

    Compose's `service_healthy` is not enough: podman-compose ignores it before podman
    4.6, and rootless podman runs no healthchecks without a systemd user session.
    """
    # Any HTTP answer from the proxy itself proves the connection; templates ship curl.
    probe = ["curl", "--noproxy", "*", "-s", "-o", "/dev/null", "--max-time", "2",
             f"http://{PROXY_HOST}:{PROXY_PORT}/"]  # fmt: skip
    runtime = context.runtime
    deadline = time.monotonic() + timeout
    while True:
        result = runtime.exec(project.app_container, probe, timeout=10)
        if result.returncode == 0:
            return
        if result.returncode in (126, 127):
            raise ProjectError(
                f"the app container of {project.path} has no curl",
                hint="templates must install curl (see the README's Templates section)",
            )
        if time.monotonic() > deadline:
            _explain_unreachable_proxy(context, project)
            raise ProjectError(
                f"the app of {project.path} cannot reach its proxy",
                hint=f"see `{runtime.engine.binary} logs {project.proxy_container}`",
            )
        time.sleep(0.2)


def _explain_unreachable_proxy(context: Context, project: Project) -> None:
    runtime = context.runtime
    if not runtime.engine.kind.shares_host_firewall or runtime.facts.rootless:
        return
    conflict = runtime.bridge_blocked(project.internal_network)
    if conflict is not None:
        raise EngineError(
            f"Docker's firewall drops traffic inside Podman's bridge {conflict} "
            "(iptables FORWARD policy DROP), so the app cannot reach its proxy",
            hint=f"allow traffic within that bridge: sudo {shlex.join(accept_rule(conflict))}"
            f" then `devagent start {project.path}`",
        )
