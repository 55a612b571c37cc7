"""Lifecycle under faults: a step made to fail for real (a template whose image does not
build, a post-create command that exits 1), Ctrl-C at random moments of `create`; then the
same command again converges, `destroy` leaves nothing of the project on the engine, the
project's state is whole, and `doctor --fix` clears what an abandoned create left.

Counts of injected faults and converged runs go to $DEVAGENT_FAULT_REPORT (scripts/test
prints them) and to the test's properties.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from devagent.runtime.firewall import parse_forward
from tests.e2e.conftest import ENGINES, Sandbox, make_sandbox, run
from tests.e2e.pki import make_pki

pytestmark = pytest.mark.e2e

# How many times `create` is interrupted on each engine setup (after one uninterrupted
# create measured how long a create takes there): 30 a run, each followed by a create.
INTERRUPTIONS = {"docker": 12, "podman": 10, "rootful podman": 8}


@pytest.fixture(scope="module")
def faulty(engine: str, pki: Path, sandbox_root: Path) -> Iterator[Sandbox]:
    """A project on a template of its own (a copy of basic), to break and repair."""
    box = make_sandbox(engine, sandbox_root, pki, "faults project")
    box.devagent("templates", "new", "faulty", "--from", "basic")
    try:
        yield box
    finally:
        box.devagent("destroy", str(box.project), "--purge", check=False)


@pytest.fixture(scope="module")
def rootful_faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The same, on rootful Podman (devagent as root). Where Docker's firewall drops
    traffic inside Podman's bridges, the fix devagent names is applied for all of them
    for the duration (its own message is tested by the rootful smoke test)."""
    if "podman" not in ENGINES:
        pytest.skip("podman not among DEVAGENT_E2E_ENGINES")
    if os.geteuid() != 0:
        pytest.fail("the rootful podman tests must run as root")
    root = tmp_path_factory.mktemp("rootful-faults")
    box = make_sandbox("podman", root, make_pki(root / "pki"), "faults project", rootful=True)
    rule = ["DOCKER-USER", "-i", "podman+", "-o", "podman+", "-j", "ACCEPT"]
    blocked = parse_forward(run(["iptables", "-S", "FORWARD"], check=False).stdout)
    if blocked.docker_blocks_bridges:
        run(["iptables", "-I", *rule])
    box.devagent("templates", "new", "faulty", "--from", "basic")
    try:
        yield box
    finally:
        box.devagent("destroy", str(box.project), "--purge", check=False)
        if blocked.docker_blocks_bridges:
            run(["iptables", "-D", *rule], check=False)


def template_dir(box: Sandbox) -> Path:
    return box.root / "config" / "templates" / "faulty"


def of_the_project(box: Sandbox) -> dict[str, list[str]]:
    """Everything of the project on the engine: containers, networks, images."""
    labels = [f"label=devagent.project_hash={box.hash}", f"label=devagent.sidecar_of={box.hash}"]
    containers: list[str] = []
    for label in labels:
        listed = box.engine_run("ps", "-a", "--filter", label, "--format", "{{.Names}}")
        containers += listed.stdout.split()
    networks = box.engine_run(
        "network", "ls", "--filter", f"label=devagent.sidecar_of={box.hash}", "--format",
        "{{.Name}}",
    ).stdout.split()  # fmt: skip
    listed = box.engine_run("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    images = [name for name in listed if f"devagent-{box.hash}-" in name]
    return {"containers": containers, "networks": networks, "images": images}


def state_is_whole(box: Sandbox) -> None:
    data = box.root / "data"
    assert (data / "proxy-certs" / box.hash / "mitmproxy-ca.pem").is_file()
    allowlist = json.loads((data / "allowlists" / f"{box.hash}.json").read_text())
    assert allowlist["template"] == "faulty"
    assert (data / "generated" / f"{box.hash}.json").is_file()


def report(engine: str, what: str, injected: int, converged: int) -> None:
    path = os.environ.get("DEVAGENT_FAULT_REPORT")
    if path:
        with Path(path).open("a", encoding="utf-8") as out:
            out.write(f"{engine}: {what}: {injected} faults injected, {converged} converged\n")


def create(box: Sandbox) -> subprocess.CompletedProcess[str]:
    return box.devagent("create", str(box.project), "--template", "faulty", check=False)


BREAKS: dict[str, tuple[str, str, Callable[[str], str]]] = {
    # fault: (file of the template, what create's error says, how the file breaks)
    "build": (
        "Dockerfile",
        "create failed while building images",
        lambda text: text + "\nRUN exit 1\n",
    ),
    "post-create": (
        "template.yaml",
        "create failed while running the post-create command",
        lambda text: text.replace("post_create_command: ", "post_create_command: exit 1; "),
    ),
    # The app's entrypoint exits at once (podman-compose alone would wait for it for an hour).
    "app start": (
        "Dockerfile",
        "the app's container exited at start (exit code 1)",
        lambda text: text + '\nENTRYPOINT ["false"]\n',
    ),
}


def generated_subnet(box: Sandbox, newer_than: float) -> str | None:
    """The internal subnet in the compose file create wrote after ``newer_than``."""
    path = box.project / ".devcontainer" / "docker-compose.yml"
    try:
        if path.stat().st_mtime < newer_than:
            return None
        document = yaml.safe_load(path.read_text())
        return str(document["networks"]["internal"]["ipam"]["config"][0]["subnet"])
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        return None


def take_the_subnet(box: Sandbox, started: float) -> Callable[[], None]:
    """Another network takes the subnet create chose, after create chose it and before
    compose makes the project's network (a VPN or another tool's network, in real life):
    the network step fails for real. Returns how to remove that network."""
    subnet = None
    deadline = time.monotonic() + 60
    while subnet is None:
        assert time.monotonic() < deadline, "create wrote no compose file"
        subnet = generated_subnet(box, started)
        time.sleep(0.02)
    name = f"devagent-e2e-squatter-{box.hash}"
    box.engine_run("network", "create", "--internal", "--subnet", subnet, name)
    return lambda: box.engine_run("network", "rm", name, check=False) and None


def put_a_route_back(box: Sandbox, started: float) -> Callable[[], None]:
    """Once the netguard step has sealed the app, put a way out back from outside (during
    the post-create command): the route step's check must catch it."""
    netguard = f"devagent-{box.hash}-netguard"
    deadline = time.monotonic() + 300
    while True:
        assert time.monotonic() < deadline, "the netguard step never ended"
        state = box.engine_run("inspect", "--format", "{{.State.Status}}", netguard, check=False)
        if state.returncode == 0 and state.stdout.strip() == "exited":
            break
        time.sleep(0.1)
    subnet = generated_subnet(box, started)
    assert subnet is not None
    box.reopen_way_out(subnet)
    return lambda: None


POST_CREATE = "post_create_command: "
# fault: (the steps create may name, what breaks, how the template is changed for it)
RACES: dict[str, tuple[tuple[str, ...], Callable[[Sandbox, float], Callable[[], None]],
                       tuple[str, Callable[[str], str]] | None]] = {
    "network": (("starting the devcontainer CLI", "starting the proxy"), take_the_subnet, None),
    "route put back": (
        ("restricting the app's routes to its proxy", "running the isolation self-test"),
        put_a_route_back,
        ("template.yaml", lambda text: text.replace(POST_CREATE, f"{POST_CREATE}sleep 6; ")),
    ),
}  # fmt: skip


def race(faulty: Sandbox, fault: str) -> None:
    """A fault made while create runs; then create again converges, destroy leaves nothing
    of the project (and the other network alone), the state is whole."""
    steps, make_fault, change = RACES[fault]
    faulty.devagent("destroy", str(faulty.project), check=False)  # its networks are made anew
    path = template_dir(faulty) / change[0] if change else None
    original = path.read_text() if path else ""
    if path and change:
        path.write_text(change[1](original))
    undo: Callable[[], None] = lambda: None  # noqa: E731
    try:
        started = time.time() - 1
        creating = subprocess.Popen(
            faulty.devagent_argv("create", str(faulty.project), "--template", "faulty"),
            env=faulty.process_env(), text=True, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        undo = make_fault(faulty, started)
        _, stderr = creating.communicate(timeout=600)
        assert creating.returncode == 1, stderr
        assert any(f"error: create failed while {step}" in stderr for step in steps), stderr
        assert "left:" in stderr and f"devagent create {faulty.project}" in stderr, stderr
        state_is_whole(faulty)
        again = create(faulty)  # the fault still there for the network: another subnet
        assert again.returncode == 0, again.stderr
        assert json.loads(faulty.devagent("verify", str(faulty.project), "--json").stdout)["ok"]
        destroyed = faulty.devagent("destroy", str(faulty.project), check=False)
        assert destroyed.returncode == 0, destroyed.stderr
        assert of_the_project(faulty) == {"containers": [], "networks": [], "images": []}
        state_is_whole(faulty)
        if fault == "network":  # another's network: untouched by devagent
            squatter = f"devagent-e2e-squatter-{faulty.hash}"
            assert faulty.engine_run("network", "inspect", squatter, check=False).returncode == 0
    finally:
        if path:
            path.write_text(original)
        undo()
    report(label(faulty), f"{fault} during create", 1, 1)


@pytest.mark.parametrize("fault", sorted(BREAKS))
def test_create_converges_after_a_step_fails(faulty: Sandbox, fault: str) -> None:
    step_fails(faulty, fault)


@pytest.mark.parametrize("fault", sorted(BREAKS))
def test_rootful_podman_create_converges_after_a_step_fails(
    rootful_faulty: Sandbox, fault: str
) -> None:
    step_fails(rootful_faulty, fault)


@pytest.mark.parametrize("fault", sorted(RACES))
def test_create_converges_after_a_fault_during_it(faulty: Sandbox, fault: str) -> None:
    race(faulty, fault)


@pytest.mark.parametrize("fault", sorted(RACES))
def test_rootful_podman_create_converges_after_a_fault_during_it(
    rootful_faulty: Sandbox, fault: str
) -> None:
    race(rootful_faulty, fault)


def test_create_converges_after_the_proxy_never_turns_healthy(faulty: Sandbox) -> None:
    proxy_never_healthy(faulty)


def test_rootful_podman_create_converges_after_the_proxy_never_turns_healthy(
    rootful_faulty: Sandbox,
) -> None:
    proxy_never_healthy(rootful_faulty)


def test_create_converges_after_ctrl_c_at_random_moments(
    faulty: Sandbox, record_property: Callable[[str, object], None]
) -> None:
    ctrl_c(faulty, INTERRUPTIONS[faulty.engine], record_property)


def test_rootful_podman_create_converges_after_ctrl_c(
    rootful_faulty: Sandbox, record_property: Callable[[str, object], None]
) -> None:
    ctrl_c(rootful_faulty, INTERRUPTIONS["rootful podman"], record_property)


def test_doctor_fix_clears_an_environment_left_half_way(faulty: Sandbox) -> None:
    doctor_fix(faulty)


def test_rootful_podman_doctor_fix(rootful_faulty: Sandbox) -> None:
    doctor_fix(rootful_faulty)


def label(box: Sandbox) -> str:
    return "rootful podman" if box.rootful else box.engine


def step_fails(faulty: Sandbox, fault: str) -> None:
    name, said, breaking = BREAKS[fault]
    path = template_dir(faulty) / name
    original = path.read_text()
    path.write_text(breaking(original))
    try:
        failed = create(faulty)
    finally:
        path.write_text(original)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "error: create failed while " in failed.stderr and said in failed.stderr, failed.stderr
    assert "left:" in failed.stderr
    assert f"devagent create {faulty.project}" in failed.stderr
    assert f"devagent destroy {faulty.project}" in failed.stderr
    state_is_whole(faulty)

    again = create(faulty)  # the template is whole again
    assert again.returncode == 0, again.stderr
    assert json.loads(faulty.devagent("verify", str(faulty.project), "--json").stdout)["ok"]
    destroyed = faulty.devagent("destroy", str(faulty.project), check=False)
    assert destroyed.returncode == 0, destroyed.stderr
    assert of_the_project(faulty) == {"containers": [], "networks": [], "images": []}
    state_is_whole(faulty)  # destroy without --purge keeps it
    report(label(faulty), f"step {fault}", 1, 1)


def proxy_never_healthy(faulty: Sandbox) -> None:
    """The proxy cannot read its CA key (its state damaged on the host): squid never
    listens, so the proxy never turns healthy and the app never reaches it."""
    created = create(faulty)
    assert created.returncode == 0, created.stderr
    key = faulty.root / "data" / "proxy-certs" / faulty.hash / "mitmproxy-ca.pem"
    key.chmod(0)
    try:
        failed = create(faulty)
    finally:
        key.chmod(0o600)
    assert failed.returncode == 1, failed.stderr
    waits = ("starting the proxy, waiting until it is healthy", "waiting until the app reaches")
    assert any(f"error: create failed while {step}" in failed.stderr for step in waits), (
        failed.stderr
    )
    assert "left:" in failed.stderr and f"devagent create {faulty.project}" in failed.stderr
    again = create(faulty)
    assert again.returncode == 0, again.stderr
    destroyed = faulty.devagent("destroy", str(faulty.project), check=False)
    assert destroyed.returncode == 0, destroyed.stderr
    assert of_the_project(faulty) == {"containers": [], "networks": [], "images": []}
    state_is_whole(faulty)
    report(label(faulty), "proxy never healthy", 1, 1)


def interrupted_create(box: Sandbox, delay: float, signum: int = signal.SIGINT) -> int:
    """`devagent create`, stopped after ``delay`` seconds as a terminal does it: SIGINT
    (Ctrl-C) or SIGHUP (the terminal closed) to its whole process group. Returns its exit
    code."""
    argv = box.devagent_argv("create", str(box.project), "--template", "faulty")
    process = subprocess.Popen(
        argv, env=box.process_env(), start_new_session=True, text=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signum)
    _, stderr = process.communicate(timeout=120)
    if process.returncode == 130:
        # Before its first step (still starting, checking the template) it changed nothing
        # and says only that; from then on it says where it was and what it left.
        said = "create was interrupted while" in stderr and "left:" in stderr
        assert said or stderr.strip().splitlines()[-1:] == ["interrupted"], stderr
    return process.returncode


def ctrl_c(faulty: Sandbox, runs: int, record_property: Callable[[str, object], None]) -> None:
    first = create(faulty)
    assert first.returncode == 0, first.stderr
    started = time.monotonic()  # a re-create, as each run below makes one
    second = create(faulty)
    assert second.returncode == 0, second.stderr
    duration = time.monotonic() - started
    seed = int(os.environ.get("DEVAGENT_FAULT_SEED", str(time.time_ns())))
    chance = random.Random(seed)
    injected = converged = 0
    for _ in range(runs):
        signum = chance.choice([signal.SIGINT, signal.SIGINT, signal.SIGHUP])
        code = interrupted_create(faulty, chance.uniform(0.2, duration * 0.9), signum)
        assert code in (0, 130), f"create exited {code} (seed {seed})"
        injected += code == 130
        again = create(faulty)
        assert again.returncode == 0, f"seed {seed}: {again.stderr}"
        converged += 1
    record_property("seed", seed)
    record_property("faults_injected", injected)
    record_property("runs_converged", converged)
    what = f"Ctrl-C or a closed terminal during create (seed {seed})"
    report(label(faulty), what, injected, converged)
    assert injected >= runs // 2, f"too few real faults (seed {seed})"

    destroyed = faulty.devagent("destroy", str(faulty.project), check=False)
    assert destroyed.returncode == 0, destroyed.stderr
    assert of_the_project(faulty) == {"containers": [], "networks": [], "images": []}
    state_is_whole(faulty)


def doctor_fix(faulty: Sandbox) -> None:
    created = create(faulty)
    assert created.returncode == 0, created.stderr
    # What a crash between two removals leaves: the proxy, the networks, the images.
    # (Podman removes nothing that another container depends on: the netguard step first.)
    faulty.engine_run("rm", "--force", f"devagent-{faulty.hash}-netguard")
    faulty.engine_run("rm", "--force", faulty.app)
    doctor = json.loads(faulty.devagent("doctor", "--json", check=False).stdout)
    ours = {(item["kind"], item["name"]) for item in doctor["leftovers"]
            if faulty.hash in item["name"]}  # fmt: skip
    assert ("container", faulty.proxy) in ours
    assert {kind for kind, _ in ours} >= {"container", "network", "image"}
    assert not any(item["kind"] == "state" and faulty.hash in item["name"]
                   for item in doctor["leftovers"])  # its folder is there: kept  # fmt: skip
    fixed = faulty.devagent("doctor", "--fix", check=False)
    assert "Removing" in fixed.stderr and faulty.proxy in fixed.stderr
    assert of_the_project(faulty) == {"containers": [], "networks": [], "images": []}
    state_is_whole(faulty)
    again = create(faulty)
    assert again.returncode == 0, again.stderr
    report(label(faulty), "half-removed environment, doctor --fix", 1, 1)


def restart_dockerd() -> None:
    """Stop the Docker daemon and start it again (systemd's, or the one scripts/setup
    started), as a host update or a crash would."""
    if run(["systemctl", "is-active", "--quiet", "docker"], check=False).returncode == 0:
        run(["systemctl", "restart", "docker"])
    else:
        pid = int(run(["pidof", "dockerd"]).stdout.split()[0])
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        with Path("/var/log/dockerd.log").open("ab") as log:
            subprocess.Popen(["dockerd"], stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + 60
    while run(["docker", "info"], check=False).returncode != 0:
        assert time.monotonic() < deadline, "dockerd did not come back"
        time.sleep(0.5)


def test_start_converges_after_the_engine_restarts_under_it(
    faulty: Sandbox, sandbox: Sandbox, upstream: str
) -> None:
    """Docker's daemon restarted while `start` runs; on Podman (no daemon) the engine's
    command dies instead: the compose process `start` runs is killed."""

    def restore() -> None:  # what a daemon restart stopped, for the tests after this one
        if faulty.engine == "docker":
            faulty.engine_run("start", upstream, check=False)
            sandbox.devagent("start", str(sandbox.project), check=False)

    engine_restart(faulty, restore)


def test_rootful_podman_start_converges_after_its_command_dies(rootful_faulty: Sandbox) -> None:
    engine_restart(rootful_faulty, lambda: None)


def engine_restart(faulty: Sandbox, restore: Callable[[], None]) -> None:
    created = create(faulty)
    assert created.returncode == 0, created.stderr
    faulty.devagent("stop", str(faulty.project))
    argv = faulty.devagent_argv("start", str(faulty.project))
    starting = subprocess.Popen(
        argv, env=faulty.process_env(), start_new_session=True, text=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        if faulty.engine == "docker":
            time.sleep(1.0)
            restart_dockerd()
        else:
            deadline = time.monotonic() + 30
            while run(["pkill", "-KILL", "-f", "podman-compose .* start"],
                      check=False).returncode != 0:  # fmt: skip
                assert time.monotonic() < deadline and starting.poll() is None, "no compose"
                time.sleep(0.05)
        _, stderr = starting.communicate(timeout=300)
        again = faulty.devagent("start", str(faulty.project), check=False)
        assert again.returncode == 0, f"first start: {stderr}\nagain: {again.stderr}"
        assert json.loads(faulty.devagent("verify", str(faulty.project), "--json").stdout)["ok"]
        report(label(faulty), "engine restarted (docker) or its command killed during start",
               1, 1)  # fmt: skip
    finally:
        restore()
    destroyed = faulty.devagent("destroy", str(faulty.project), check=False)
    assert destroyed.returncode == 0, destroyed.stderr
    assert of_the_project(faulty) == {"containers": [], "networks": [], "images": []}
