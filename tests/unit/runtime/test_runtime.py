from __future__ import annotations

import os
from pathlib import Path

import pytest

from devagent.errors import EngineError
from devagent.runtime import Runtime, choose_engine
from devagent.runtime.compose import (
    DOCKER_COMPOSE_V1,
    DOCKER_COMPOSE_V2,
    PODMAN_COMPOSE,
)
from devagent.runtime.devcontainer_cli import parse_up, up_argv
from devagent.runtime.docker import parse_label_string
from devagent.runtime.docker import parse_ps as parse_docker_ps
from devagent.runtime.engine import Engine
from devagent.runtime.podman import parse_ps as parse_podman_ps
from tests.fakes import FakeExecutor, docker_fake, fixture

DOCKER = Engine("docker", "docker")
PODMAN = Engine("podman", "podman")
FILE = Path("/p/.devcontainer/docker-compose.yml")


def test_ps_argv_per_engine() -> None:
    labels = {"devagent.managed": "true", "devagent.sidecar_of": None}
    assert DOCKER.ps_argv(labels) == [
        "docker", "ps", "--all", "--no-trunc",
        "--filter", "label=devagent.managed=true", "--filter", "label=devagent.sidecar_of",
        "--format", "{{json .}}",
    ]  # fmt: skip
    assert PODMAN.ps_argv(labels)[-2:] == ["--format", "json"]


def test_exec_argv_keeps_arguments_intact() -> None:
    argv = DOCKER.exec_argv("c", ["sh", "-c", "echo 'a b'"], user="vscode", workdir="/w")
    assert argv == ["docker", "exec", "--user", "vscode", "--workdir", "/w", "c",
                    "sh", "-c", "echo 'a b'"]  # fmt: skip


@pytest.mark.parametrize(
    ("compose", "expected"),
    [
        (DOCKER_COMPOSE_V2, ["docker", "compose"]),
        (DOCKER_COMPOSE_V1, ["docker-compose"]),
        (PODMAN_COMPOSE, ["podman-compose"]),
    ],
)
def test_compose_argv_per_variant(compose, expected) -> None:  # type: ignore[no-untyped-def]
    base = [*expected, "--project-name", "devagent-abc", "--file", str(FILE)]
    assert compose.start_argv("devagent-abc", FILE) == [*base, "start"]
    assert compose.stop_argv("devagent-abc", FILE) == [*base, "stop"]
    assert compose.down_argv("devagent-abc", FILE) == [*base, "down", "--remove-orphans"]


def test_devcontainer_up_argv_and_outcome() -> None:
    argv = up_argv(workspace=Path("/p"), config=Path("/p/.devcontainer/devcontainer.json"),
                   docker_path="podman", compose_path="podman-compose")  # fmt: skip
    assert argv == [
        "devcontainer", "up", "--workspace-folder", "/p",
        "--config", "/p/.devcontainer/devcontainer.json",
        "--docker-path", "podman", "--docker-compose-path", "podman-compose",
        "--log-format", "json",
    ]  # fmt: skip
    outcome = parse_up(fixture("devcontainer_up_docker.stdout"))
    assert outcome.remote_user == "vscode" and outcome.remote_workspace_folder == "/workspaces/proj"
    with pytest.raises(EngineError, match="bad things"):
        parse_up('{"outcome":"error","message":"bad things"}')


def test_parse_recorded_docker_ps() -> None:
    containers = parse_docker_ps(fixture("docker_ps.jsonl"))
    by_name = {c.name: c for c in containers}
    app = by_name["devagent-342670b99fa4-app"]
    assert app.running and app.labels["devagent.project_path"] == "/tmp/demo/proj"
    assert app.labels["devagent.template"] == "basic"
    assert app.created is not None and app.created.year == 2026
    assert by_name["devagent-342670b99fa4-proxy"].labels["devagent.sidecar_type"] == "proxy"


def test_podman_ps_shape() -> None:
    out = (
        '[{"Id": "abc", "Names": ["n1"], "Image": "i", "State": "running", "Status": "Up",'
        ' "Created": 1795831678, "Labels": {"devagent.project_path": "/a,b"}}]'
    )
    (container,) = parse_podman_ps(out)
    assert container.name == "n1" and container.labels["devagent.project_path"] == "/a,b"
    assert container.created is not None


def test_label_string_keeps_commas_inside_values() -> None:
    labels = parse_label_string("devagent.project_path=/a,b c,devagent.template=basic")
    assert labels == {"devagent.project_path": "/a,b c", "devagent.template": "basic"}


def test_auto_picks_docker_when_it_answers_and_says_why() -> None:
    choice = choose_engine("auto", docker_fake())
    assert choice.engine.name == "docker" and "first engine answering" in choice.reason


def test_auto_falls_back_to_podman() -> None:
    fake = FakeExecutor().on(["docker", "version"], returncode=1).on(["podman", "info"], "4.3.1")
    assert choose_engine("auto", fake).engine.name == "podman"


def test_explicit_engine_that_does_not_answer_is_an_error_not_a_fallback() -> None:
    fake = FakeExecutor().on(["docker", "version"], returncode=1).on(["podman", "info"], "4.3.1")
    with pytest.raises(EngineError, match="docker is not installed or not answering"):
        choose_engine("docker", fake)


def test_compose_detection_prefers_v2_then_v1() -> None:
    assert Runtime(DOCKER, docker_fake()).compose == DOCKER_COMPOSE_V1
    v2 = docker_fake().on(["docker", "compose"], "2.29.0")
    assert Runtime(DOCKER, v2).compose == DOCKER_COMPOSE_V2


def test_missing_binary_is_explained() -> None:
    from devagent.runtime.executor import SubprocessExecutor

    with pytest.raises(EngineError, match="not installed or not on PATH"):
        SubprocessExecutor().run(["devagent-no-such-binary-xyz"])


def test_daemon_not_running_is_explained() -> None:
    from devagent.runtime.executor import explain

    assert "not running" in explain(["docker", "ps"], "Cannot connect to the Docker daemon at unix")


def test_devcontainer_log_lines_become_steps() -> None:
    from devagent.runtime.devcontainer_cli import read_log_line

    build = read_log_line('{"type":"start","text":"Run: docker-compose -f x.yml build"}')
    up = read_log_line('{"type":"start","text":"Run: docker-compose -f x.yml up -d"}')
    post = read_log_line(
        '{"type":"start","text":"Run in container: /bin/sh -c echo hi"}', post_create="echo hi"
    )
    raw = read_log_line('{"type":"raw","level":3,"text":"Step 1/5 : FROM debian\\n"}')
    assert (build.step, up.step, post.step) == (
        "Building images",
        "Starting the proxy, waiting until it is healthy, then the app",
        "Running the post-create command",
    )
    assert raw.step is None and raw.text == "Step 1/5 : FROM debian"
    assert read_log_line("not json").text == "not json"


def test_network_subnets_from_both_engines() -> None:
    docker_out = '[{"Name": "bridge", "IPAM": {"Config": [{"Subnet": "172.17.0.0/16"}]}}]'
    podman_out = '[{"name": "podman", "subnets": [{"subnet": "10.88.0.0/16", "gateway": "x"}]}]'
    assert [str(n) for n in DOCKER.parse_network_subnets(docker_out)["bridge"]] == ["172.17.0.0/16"]
    assert [str(n) for n in PODMAN.parse_network_subnets(podman_out)["podman"]] == ["10.88.0.0/16"]


def test_engine_facts_say_whether_limits_hold() -> None:
    rootless_v1 = '{"host": {"cgroupVersion": "v1", "security": {"rootless": true}}}'
    assert not PODMAN.parse_info(rootless_v1).enforces_limits
    rootless_v2 = '{"host": {"cgroupVersion": "v2", "security": {"rootless": true}}}'
    assert PODMAN.parse_info(rootless_v2).enforces_limits
    assert DOCKER.parse_info('{"CgroupVersion": "1", "SecurityOptions": []}').enforces_limits


def test_firewall_parsing() -> None:
    from devagent.runtime.firewall import bridge_allowed, parse_forward

    docker_host = (
        "-P FORWARD DROP\n-A FORWARD -j DOCKER-USER\n-A FORWARD -j DOCKER-ISOLATION-STAGE-1\n"
    )
    assert parse_forward(docker_host).docker_blocks_bridges
    assert not parse_forward("-P FORWARD ACCEPT\n-A FORWARD -j DOCKER-USER\n").docker_blocks_bridges
    assert not parse_forward("-P FORWARD DROP\n").docker_blocks_bridges  # not docker's doing
    fixed = "-A DOCKER-USER -i podman1 -o podman1 -j ACCEPT\n-A DOCKER-USER -j RETURN\n"
    assert bridge_allowed(fixed, "podman1") and not bridge_allowed(fixed, "podman2")


def test_remove_images_removes_only_the_names_asked_for() -> None:
    # Podman lists all names of a matched image: the neighbour's identical netguard too.
    fake = (
        FakeExecutor()
        .on(
            ["podman", "images"],
            "localhost/devagent-aaa-netguard:latest\nlocalhost/devagent-bbb-netguard:latest\n"
            "localhost/devagent-aaa-app:latest\n",
        )
        .on(["podman", "rmi"], "")
    )
    runtime = Runtime(Engine("podman", "podman"), fake)
    removed = runtime.remove_images(["devagent-aaa-netguard:latest", "localhost/devagent-aaa-app"])
    assert removed == (
        "localhost/devagent-aaa-app:latest",
        "localhost/devagent-aaa-netguard:latest",
    )
    assert fake.called("podman", "rmi") == [("podman", "rmi", *removed)]


def test_a_standalone_compose_that_answered_before_is_not_asked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    binary = bin_dir / "docker-compose"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))

    def fresh() -> tuple[Runtime, FakeExecutor]:
        fake = (
            FakeExecutor()
            .on(["docker", "compose", "version"], returncode=1)
            .on(["docker-compose", "version"], "1.29.2")
        )
        return Runtime(Engine("docker", "docker"), fake, cache_dir=tmp_path / "state"), fake

    runtime, fake = fresh()
    assert runtime.compose.variant == "docker-compose"
    assert fake.called("docker-compose", "version")
    runtime, fake = fresh()
    assert runtime.compose.variant == "docker-compose"
    assert not fake.called("docker-compose", "version")  # remembered
    assert fake.called("docker", "compose", "version")  # the plugin is still asked first
    os.utime(binary, ns=(1, 1))  # upgraded, replaced: ask again
    runtime, fake = fresh()
    assert runtime.compose.variant == "docker-compose"
    assert fake.called("docker-compose", "version")
