from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest

from devagent.config import Config, Paths
from devagent.errors import ConfigError, EngineError, IsolationError, ProjectError
from devagent.manager import Manager, merge_allowlists
from devagent.manager.results import Environment
from devagent.manager.selftest import CLEAN_ENV
from devagent.project import Project, identify
from devagent.runtime import Runtime
from devagent.runtime.engine import Engine
from tests.fakes import FakeExecutor, docker_fake, fixture

RECORDED_PROJECT = "/tmp/demo/proj"


def _manager(fake: FakeExecutor, paths: Paths, config: Config | None = None) -> Manager:
    """A manager whose default template, "bare", lists no hosts (exact allowlists below)."""
    bare = paths.user_templates_dir / "bare"
    bare.mkdir(parents=True, exist_ok=True)
    (bare / "Dockerfile").write_text("FROM debian:bookworm-slim\n")
    (bare / "template.yaml").write_text("description: nothing allowed\n")
    config = (config or Config()).model_copy(update={"default_template": "bare"})
    return Manager(Runtime(Engine("docker", "docker"), fake), paths, config)


def test_merge_allowlists_validates_normalizes_and_dedupes() -> None:
    assert merge_allowlists(["B.test", "*.a.test"], ["b.test."], ["c.test:8443"]) == (
        "*.a.test", "b.test", "c.test:8443",
    )  # fmt: skip


def test_list_groups_recorded_containers_into_one_environment(paths: Paths) -> None:
    result = _manager(docker_fake(), paths).list()
    (env,) = result.environments
    assert env.project_path == RECORDED_PROJECT and env.state == "running"
    assert env.template == "basic" and env.app and env.proxy
    assert env.to_json()["app"]["name"] == "devagent-342670b99fa4-app"


def test_list_is_one_ps_call(paths: Paths) -> None:
    fake = docker_fake()
    _manager(fake, paths).list()
    assert fake.calls == [
        ("docker", "ps", "--all", "--no-trunc", "--filter", "label=devagent.managed=true",
         "--format", "{{json .}}"),
    ]  # fmt: skip


def test_create_writes_files_state_and_runs_devcontainer_up(paths: Paths, tmp_path: Path) -> None:
    project_dir = tmp_path / "proj"
    project_dir.mkdir()
    fake = docker_fake()
    # The recorded containers belong to another path: answer ps with this project's labels.
    project = identify(project_dir)
    recorded = (Path(__file__).parent.parent.parent / "fixtures/docker_ps.jsonl").read_text()
    fake.on(["docker", "ps"], recorded.replace("342670b99fa4", project.hash)
            .replace(RECORDED_PROJECT, str(project_dir)))  # fmt: skip
    manager = _manager(fake, paths, Config(allowlist=["pypi.org"]))
    result = manager.create(project_dir, allow=["Allowed.Test"])
    assert result.allowlist == ("allowed.test", "pypi.org")
    assert result.environment.state == "running"
    assert (project_dir / ".devcontainer/docker-compose.yml").exists()
    key = paths.proxy_certs_dir(project.hash) / "mitmproxy-ca.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    (up,) = fake.called("devcontainer", "up")
    assert up[up.index("--docker-compose-path") + 1] == "docker-compose"
    env = fake.envs[fake.calls.index(up)]
    assert env == {"COMPOSE_PROJECT_NAME": f"devagent{project.hash}"}


def test_recreate_keeps_earlier_allow_entries(paths: Paths, tmp_path: Path) -> None:
    project_dir = tmp_path / "proj"
    project_dir.mkdir()
    project = identify(project_dir)
    recorded = (Path(__file__).parent.parent.parent / "fixtures/docker_ps.jsonl").read_text()
    fake = docker_fake().on(["docker", "ps"], recorded.replace("342670b99fa4", project.hash))
    manager = _manager(fake, paths)
    assert manager.create(project_dir, allow=["a.test"]).allowlist == ("a.test",)
    assert manager.create(project_dir, allow=["b.test"]).allowlist == ("a.test", "b.test")
    # The second create replaced the running containers instead of reusing them.
    downs = [i for i, c in enumerate(fake.calls) if c[0] == "docker-compose" and "down" in c]
    ups = [i for i, c in enumerate(fake.calls) if c[:2] == ("devcontainer", "up")]
    assert len(downs) == 1 and len(ups) == 2 and ups[0] < downs[0] < ups[1]
    policy = json.loads((project_dir / ".devcontainer/policy/allowlist.json").read_text())
    assert policy == {"allowlist": ["a.test", "b.test"]}


def test_create_reports_an_environment_that_did_not_come_up(paths: Paths, tmp_path: Path) -> None:
    project_dir = tmp_path / "proj"
    project_dir.mkdir()
    fake = docker_fake().on(["docker", "ps"], "")
    with pytest.raises(ProjectError, match="missing after create"):
        _manager(fake, paths).create(project_dir)


def test_start_without_an_environment_says_how_to_create(paths: Paths, tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="has no devagent environment") as error:
        _manager(docker_fake(), paths).start(identify(tmp_path))
    assert "devagent create" in error.value.hint


def test_destroy_purge_removes_state_but_not_the_workspace(paths: Paths, tmp_path: Path) -> None:
    project = identify(tmp_path)
    (tmp_path / "code.py").write_text("print(1)")
    for directory in (paths.claude_config_dir(project.hash), paths.proxy_logs_dir(project.hash)):
        directory.mkdir(parents=True)
    fake = docker_fake().on(["docker", "ps"], "").on(["docker", "images"], "")
    result = _manager(fake, paths).destroy(project, purge=True)
    assert (tmp_path / "code.py").read_text() == "print(1)"
    assert not paths.claude_config_dir(project.hash).exists()
    assert len(result.purged) == 2


def test_destroy_removes_the_projects_images_including_the_derived_app_image(
    paths: Paths,
) -> None:
    project = Project(Path(RECORDED_PROJECT), "342670b99fa4")
    derived = "vsc-proj-342670b99fa44fb66b2f3d357f6058dc84472b699facf440efe047fbfb07d363-uid"
    fake = (
        docker_fake()
        .on(["docker", "images"], f"devagent-342670b99fa4-proxy:latest\n{derived}:latest\n")
        .on(["docker", "rmi"], "")
    )
    result = _manager(fake, paths).destroy(project)
    (images,) = fake.called("docker", "images")
    references = [word.removeprefix("reference=") for word in images if "reference=" in word]
    assert "devagent-342670b99fa4-netguard:latest" in references
    assert derived in references  # the app container's image, read from ps before removal
    removed = ("devagent-342670b99fa4-proxy:latest", f"{derived}:latest")
    assert fake.called("docker", "rmi") == [("docker", "rmi", *removed)]
    assert result.removed_images == removed


def test_destroy_without_images_left_removes_nothing(paths: Paths, tmp_path: Path) -> None:
    fake = docker_fake().on(["docker", "ps"], "").on(["docker", "images"], "")
    assert _manager(fake, paths).destroy(identify(tmp_path)).removed_images == ()
    assert fake.called("docker", "rmi") == []


def test_resolve_by_container_name(paths: Paths) -> None:
    project = _manager(docker_fake(), paths).resolve("devagent-342670b99fa4-app")
    assert str(project.path) == RECORDED_PROJECT


def test_internal_subnet_steps_past_networks_in_use() -> None:
    import ipaddress

    from devagent.project import internal_subnet

    first = internal_subnet("00000000000a")
    assert first.prefixlen == 28 and first.subnet_of(ipaddress.IPv4Network("10.213.0.0/16"))
    second = internal_subnet("00000000000a", [ipaddress.IPv4Network("10.213.0.0/20")])
    assert not second.overlaps(ipaddress.IPv4Network("10.213.0.0/20"))


def test_rootless_cgroups_v1_warns_that_limits_do_not_hold(paths: Paths) -> None:
    fake = FakeExecutor().on(
        ["podman", "info"], '{"host": {"cgroupVersion": "v1", "security": {"rootless": true}}}'
    )
    manager = Manager(Runtime(Engine("podman", "podman"), fake), paths, Config())
    (warning,) = manager.warnings()
    assert "NOT enforced" in warning and "cgroups v2" in warning


def _project_with_files(tmp_path: Path, paths: Paths) -> Project:
    """A project with generated files, recorded as create records them."""
    from devagent.generate.files import write_to_project

    project = identify(tmp_path)
    write_to_project(project, [{"docker-compose.yml": b"services: {}\n"}])
    _manager(docker_fake(), paths).record_generated(project)
    return project


def test_start_waits_until_the_proxy_listens(paths: Paths, tmp_path: Path) -> None:
    project = _project_with_files(tmp_path, paths)
    recorded = (Path(__file__).parent.parent.parent / "fixtures/docker_ps.jsonl").read_text()
    fake = docker_fake().on(["docker", "ps"], recorded.replace("342670b99fa4", project.hash))
    _manager(fake, paths).start(project)
    (compose_start,) = [c for c in fake.calls if c[-1] == "start"]
    # The netguard step runs again after compose started everything (podman-compose starts
    # all containers at once, so the app's fresh namespace would be missed).
    netguard = fake.called("docker", "start", "--attach", project.netguard_container)
    assert netguard and fake.calls.index(netguard[0]) > fake.calls.index(compose_start)
    probe = fake.called("docker", "exec", f"devagent-{project.hash}-app", "curl")
    assert probe and fake.calls.index(probe[0]) > fake.calls.index(compose_start)
    assert "http://proxy:8080/" in probe[0]


def test_a_proxy_that_never_listens_is_an_error(paths: Paths, tmp_path: Path) -> None:
    project = _project_with_files(tmp_path, paths)
    fake = docker_fake().on(["docker", "exec"], returncode=1)
    with pytest.raises(ProjectError, match="cannot reach its proxy"):
        _manager(fake, paths).wait_for_proxy(project, timeout=0.3)


def test_rootful_podman_behind_dockers_firewall_gets_the_exact_fix(
    paths: Paths, tmp_path: Path
) -> None:
    project = _project_with_files(tmp_path, paths)
    fake = (
        FakeExecutor()
        .on(["podman", "exec"], returncode=28)
        .on(
            ["podman", "info"], '{"host": {"cgroupVersion": "v1", "security": {"rootless": false}}}'
        )
        .on(["iptables", "-S", "FORWARD"], "-P FORWARD DROP\n-A FORWARD -j DOCKER-USER\n")
        .on(["iptables", "-S", "DOCKER-USER"], "-N DOCKER-USER\n-A DOCKER-USER -j RETURN\n")
        .on(["podman", "network", "inspect"], '[{"network_interface": "podman3"}]')
    )
    manager = Manager(Runtime(Engine("podman", "podman"), fake), paths, Config())
    with pytest.raises(EngineError, match="Docker's firewall drops traffic") as error:
        manager.wait_for_proxy(project, timeout=0.1)
    assert "iptables -I DOCKER-USER -i podman3 -o podman3 -j ACCEPT" in error.value.hint


def test_list_gives_the_same_answers_on_both_engines(paths: Paths) -> None:
    """Recorded real `ps` output of docker (JSON lines) and podman (one array) agree."""
    docker = _manager(docker_fake(), paths).list().environments
    podman_fake = FakeExecutor().on(["podman", "ps"], fixture("podman_ps.json"))
    podman = Manager(Runtime(Engine("podman", "podman"), podman_fake), paths, Config())
    (from_docker,), (from_podman,) = docker, podman.list().environments

    def comparable(env: Environment) -> dict[str, object]:
        data = env.to_json()
        for side in ("app", "proxy"):
            data[side] = {"name": data[side]["name"].replace(env.project_hash, "H"),
                          "state": data[side]["state"]}  # fmt: skip
        return {k: v for k, v in data.items() if k not in {"project_path", "project_hash",
                                                           "engine", "created"}}  # fmt: skip

    assert comparable(from_docker) == comparable(from_podman)
    assert from_podman.created is not None and from_docker.created is not None
    assert from_podman.state == "running" and from_podman.template == "basic"


def test_an_app_with_routes_beyond_the_proxy_is_never_reported_ready(
    paths: Paths, tmp_path: Path
) -> None:
    project = _project_with_files(tmp_path, paths)
    default_route = (
        "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n"
        "eth0\t00000000\t41FAD50A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
        "eth0\t40FAD50A\t00000000\t0001\t0\t0\t0\tF0FFFFFF\t0\t0\t0\n"
    )
    fake = docker_fake().on(["docker", "exec", "*", "cat", "/proc/net/route"], default_route)
    with pytest.raises(IsolationError, match=r"still has routes beyond its proxy: 0\.0\.0\.0/"):
        _manager(fake, paths).wait_until_isolated(project, timeout=0.1)


def test_routes_beyond_the_proxy_after_the_netguard_step_ended_fail_at_once(
    paths: Paths, tmp_path: Path
) -> None:
    """A route put back once the step is over (or a step that failed) is no reason to wait."""
    project = _project_with_files(tmp_path, paths)
    leaky = "eth0\t00000000\t41FAD50A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
    fake = (
        docker_fake()
        .on(["docker", "exec", "*", "cat", "/proc/net/route"], "Iface\tDestination\n" + leaky)
        .on(["docker", "inspect", project.netguard_container], '[{"State": {"Status": "exited"}}]')
    )
    started = time.monotonic()
    with pytest.raises(IsolationError, match="still has routes beyond its proxy"):
        _manager(fake, paths).wait_until_isolated(project, timeout=30)
    assert time.monotonic() - started < 5


def test_recorded_routes_after_netguard_pass(paths: Paths, tmp_path: Path) -> None:
    _manager(docker_fake(), paths).wait_until_isolated(
        _project_with_files(tmp_path, paths), timeout=0
    )


def test_verify_passes_on_a_sealed_app(paths: Paths, tmp_path: Path) -> None:
    result = _manager(docker_fake(), paths).isolation(_project_with_files(tmp_path, paths))
    assert result.ok and len(result.checks) == 5, result.checks


@pytest.mark.parametrize(
    ("rule", "stdout", "code", "failing"),
    [
        (["getent"], "93.184.216.34 devagent-verify.example.com", 0, "external name"),
        (["timeout", "3", "bash"], "", 0, "direct connection"),
        (["timeout", "3", "bash"], "bash: connect: Connection refused", 1, "direct connection"),
        (["timeout", "3", "bash"], "", 124, "direct connection"),  # a route, no answer
        (["curl", "-q", "-s", "-o", "/dev/null", "-D"], "HTTP/1.1 200 OK\r\n", 0, "unlisted host"),
    ],
)
def test_any_way_out_fails_verify_and_create(
    paths: Paths, tmp_path: Path, rule: list[str], stdout: str, code: int, failing: str
) -> None:
    project = _project_with_files(tmp_path, paths)
    fake = docker_fake().on(["docker", "exec", "*", *CLEAN_ENV, *rule], stdout, returncode=code)
    manager = _manager(fake, paths)
    (failure,) = manager.isolation(project).failures
    assert failing in failure.name
    with pytest.raises(IsolationError, match="is not isolated"):
        manager.require_isolation(project)


def test_start_refuses_generated_files_changed_since_create(paths: Paths, tmp_path: Path) -> None:
    project = _project_with_files(tmp_path, paths)
    compose_file = project.compose_file
    compose_file.write_text(compose_file.read_text() + "# an agent was here\n")
    fake = docker_fake()
    with pytest.raises(IsolationError, match=r"docker-compose\.yml") as error:
        _manager(fake, paths).start(project)
    assert "devagent create" in error.value.hint
    assert not [c for c in fake.calls if c[-1] == "start"]  # compose was never asked


def test_verify_reports_an_added_file_and_a_missing_record(paths: Paths, tmp_path: Path) -> None:
    project = _project_with_files(tmp_path, paths)
    manager = _manager(docker_fake(), paths)
    assert manager.check_generated(project).ok
    (project.devcontainer_dir / "devcontainer.local.json").write_text("{}")
    check = manager.isolation(project).checks[0]
    assert not check.ok and "devcontainer.local.json" in check.detail
    paths.generated_record_file(project.hash).unlink()
    assert "no record" in manager.check_generated(project).detail


def test_start_fails_at_once_when_the_netguard_step_fails(paths: Paths, tmp_path: Path) -> None:
    project = _project_with_files(tmp_path, paths)
    recorded = (Path(__file__).parent.parent.parent / "fixtures/docker_ps.jsonl").read_text()
    fake = (
        docker_fake()
        .on(["docker", "ps"], recorded.replace("342670b99fa4", project.hash))
        .on(["docker", "start", "--attach"], returncode=2, stderr="RTNETLINK answers: denied")
    )
    with pytest.raises(IsolationError, match="RTNETLINK answers: denied"):
        _manager(fake, paths).start(project)
    assert not fake.called("docker", "exec")  # never probed as if it were usable


def test_github_guard_follows_config_or_a_github_credential_unless_the_template_decides(
    paths: Paths, tmp_path: Path
) -> None:
    from devagent.config import Credentials
    from devagent.templates import Manifest, get

    basic = get("basic", paths)
    project = identify(tmp_path)
    guarded = _manager(docker_fake(), paths, Config(block_github_merges=True))
    assert guarded.options_for(project, basic, []).github_guarded_hosts == (
        "api.github.com", "github.com",
    )  # fmt: skip
    plain = _manager(docker_fake(), paths).options_for(project, basic, [])
    assert plain.github_guarded_hosts == () and plain.credentials == ()
    opted_out = replace(basic, manifest=Manifest(block_github_merges=False))
    assert guarded.options_for(project, opted_out, []).github_guarded_hosts == ()
    ghes = _manager(
        docker_fake(), paths, Config(block_github_merges=True, github_hosts=["git.corp.test"])
    )
    assert ghes.options_for(project, basic, []).github_guarded_hosts == ("git.corp.test",)
    token = tmp_path / "gh-token"
    token.write_text("ghp_x\n")
    holding = Config(
        credentials=Credentials(github=token),
        projects={str(tmp_path): {"push_branches": ["bot/*"]}},  # type: ignore[dict-item]
    )
    held = _manager(docker_fake(), paths, holding).options_for(project, basic, [])
    assert held.github_guarded_hosts == ("api.github.com", "github.com")
    assert [(c.name, c.kind, c.hosts) for c in held.credentials] == [
        ("github", "github", ("github.com", "api.github.com"))
    ]
    assert held.push_branches == ("bot/*",)


def _created(paths: Paths, tmp_path: Path, config: Config | None = None) -> tuple[Manager, Project]:
    project_dir = tmp_path / "proj"
    project_dir.mkdir()
    project = identify(project_dir)
    recorded = fixture("docker_ps.jsonl").replace("342670b99fa4", project.hash)
    fake = docker_fake().on(["docker", "ps"], recorded.replace(RECORDED_PROJECT, str(project_dir)))
    manager = _manager(fake, paths, config or Config(allowlist=["*.corp.test"]))
    manager.create(project_dir, allow=["a.test"])
    return manager, project


def _policy(project: Project) -> list[str]:
    data = json.loads((project.devcontainer_dir / "policy/allowlist.json").read_text())
    return list(data["allowlist"])


def test_allow_and_deny_rewrite_the_policy_file_live_and_keep_the_files_checkable(
    paths: Paths, tmp_path: Path
) -> None:
    manager, project = _created(paths, tmp_path)
    result = manager.allow(project, ["B.test", "a.test"])
    assert result.added == ("b.test",) and result.live  # a.test was already there
    assert _policy(project) == ["*.corp.test", "a.test", "b.test"]
    assert manager.check_generated(project).ok  # the record follows the change
    sources = {view.entry: view.sources for view in result.entries}
    assert sources == {"*.corp.test": ("config",), "a.test": ("project",), "b.test": ("project",)}
    denied = manager.deny(project, ["*.corp.test", "a.test"])
    assert denied.removed == ("*.corp.test", "a.test") and denied.denied == ("*.corp.test",)
    assert _policy(project) == ["b.test"]
    # A re-create keeps both the project's entries and its denial of a config entry.
    assert manager.create(project.path).allowlist == ("b.test",)
    assert manager.allow(project, ["*.corp.test"]).added == ("*.corp.test",)  # un-denied


def test_allow_rejects_a_bad_entry_without_changing_anything(paths: Paths, tmp_path: Path) -> None:
    manager, project = _created(paths, tmp_path)
    before = _policy(project)
    with pytest.raises(ConfigError, match="is a URL"):
        manager.allow(project, ["https://x.test/"])
    assert _policy(project) == before


def test_credentials_are_copied_privately_and_a_missing_one_is_a_warning(
    paths: Paths, tmp_path: Path
) -> None:
    from devagent.config import Credentials

    token = tmp_path / "token"
    token.write_text("sk-ant-oat01-x\n")
    config = Config(credentials=Credentials(claude=token, github=tmp_path / "missing"))
    manager = _manager(docker_fake(), paths, config)
    project = identify(tmp_path)
    assert manager.prepare_secrets(project) == (("claude", "anthropic-oauth"),)
    copy = paths.secrets_dir(project.hash) / "claude"
    assert copy.read_text() == "sk-ant-oat01-x\n"
    assert copy.parent.stat().st_mode & 0o777 == 0o700 and copy.stat().st_mode & 0o777 == 0o600
    token.write_text("sk-ant-api03-rotated\n")
    assert manager.prepare_secrets(project) == (("claude", "anthropic-key"),)
    assert copy.read_text() == "sk-ant-api03-rotated\n"
    (warning,) = manager.credential_warnings()
    assert "credentials.github" in warning and "does not exist" in warning
    assert "log in" in _manager(docker_fake(), paths).credential_warnings()[0]
    token.unlink()
    assert manager.prepare_secrets(project) == () and not copy.exists()  # no stale copy


def test_a_failed_create_names_its_step_what_is_left_and_what_to_run(
    paths: Paths, tmp_path: Path
) -> None:
    project_dir = tmp_path / "proj"
    project_dir.mkdir()
    project = identify(project_dir)
    recorded = (Path(__file__).parent.parent.parent / "fixtures/docker_ps.jsonl").read_text()
    failing = '{"outcome": "error", "message": "The postCreateCommand failed (exit code 1)"}\n'
    fake = (
        docker_fake()
        .on(["docker", "ps"], recorded.replace("342670b99fa4", project.hash))
        .on(["devcontainer", "up"], failing, returncode=1)
    )
    with pytest.raises(EngineError) as error:
        _manager(fake, paths).create(project_dir)
    message = error.value.message
    assert message.startswith("create failed while starting the devcontainer CLI: ")
    assert "postCreateCommand failed" in message
    assert f"left: container devagent-{project.hash}-app" in message
    assert f"`devagent create {project_dir}`" in error.value.hint
    assert f"`devagent destroy {project_dir}`" in error.value.hint
    # The project's state is whole: a second create (or start) has what it needs.
    assert (paths.proxy_certs_dir(project.hash) / "mitmproxy-ca.pem").exists()
    assert paths.generated_record_file(project.hash).exists()


def test_an_app_that_exits_at_start_fails_create_saying_so(paths: Paths, tmp_path: Path) -> None:
    project_dir = tmp_path / "proj"
    project_dir.mkdir()
    fake = (
        docker_fake()
        .on(["devcontainer", "up"], '{"outcome": "error", "message": "not running"}\n',
            returncode=1)
        .on(["docker", "inspect", "--format"], "exited 2\n")
        .on(["docker", "logs"], "bad entrypoint\n")
    )  # fmt: skip
    with pytest.raises(ProjectError) as error:
        _manager(fake, paths).create(project_dir)
    assert "create failed while starting the devcontainer CLI: the app's container exited" in (
        error.value.message
    )
    assert "(exit code 2)" in error.value.message and "bad entrypoint" in error.value.message
