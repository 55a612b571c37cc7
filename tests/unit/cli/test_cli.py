from __future__ import annotations

import json
from pathlib import Path

import pytest

from devagent.cli import main
from devagent.manager.selftest import CLEAN_ENV
from tests.fakes import FakeExecutor, docker_fake, fixture


def test_list_json(isolated_dirs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--json"], executor=docker_fake()) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["engine"] == "docker"
    (env,) = data["environments"]
    assert set(env) == {"project_path", "project_hash", "state", "template", "engine",
                        "created", "app", "proxy", "agent", "active"}  # fmt: skip
    assert env["agent"] is None  # a project's own environment
    assert env["state"] == "running"


def test_list_human(isolated_dirs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"], executor=docker_fake()) == 0
    out = capsys.readouterr().out
    assert "/tmp/demo/proj" in out and "running" in out


def test_devagent_error_exits_1_with_a_fix(
    isolated_dirs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeExecutor().on(["docker", "version"], returncode=1)
    assert main(["--runtime", "docker", "list"], executor=fake) == 1
    err = capsys.readouterr().err
    assert "error: docker is not installed or not answering" in err and "fix:" in err


def test_unknown_template_exits_1(isolated_dirs: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    assert main(["create", str(tmp_path), "--template", "nope"], executor=docker_fake()) == 1
    assert "unknown template 'nope'" in capsys.readouterr().err


def test_missing_path_exits_1(isolated_dirs: Path, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    assert main(["create", str(tmp_path / "absent")], executor=docker_fake()) == 1
    assert "is not a directory" in capsys.readouterr().err


def test_bad_allow_entry_is_refused(isolated_dirs: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    assert main(["create", str(tmp_path), "--allow", "http://x.test"], executor=docker_fake()) == 1
    assert "is a URL" in capsys.readouterr().err


def test_unexpected_error_exits_3_with_a_log_file(
    isolated_dirs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = docker_fake().on(["docker", "ps"], "{not json")
    assert main(["list"], executor=fake) == 3
    err = capsys.readouterr().err
    assert "unexpected error" in err
    report = Path(err.split("details for a bug report: ")[1].strip())
    text = report.read_text()
    assert "Traceback" in text and "devagent 0.1.0" in text


def test_usage_error_is_not_a_crash(isolated_dirs: Path) -> None:
    assert main(["create", "--no-such-flag"], executor=docker_fake()) == 2


def test_commands_are_logged(isolated_dirs: Path) -> None:
    main(["list"], executor=docker_fake())
    log = (isolated_dirs / "state" / "devagent.log").read_text()
    assert "devagent list" in log


def test_verify_exits_1_when_a_way_out_works(
    isolated_dirs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from devagent.config import Config
    from devagent.generate.files import write_to_project
    from devagent.manager import Manager
    from devagent.paths import Paths
    from devagent.project import identify
    from devagent.runtime import Runtime
    from devagent.runtime.engine import Engine

    project = identify(tmp_path)
    write_to_project(project, [{"docker-compose.yml": b"services: {}\n"}])
    Manager(Runtime(Engine("docker", "docker"), docker_fake()), Paths.discover(), Config())\
        .record_generated(project)  # fmt: skip
    running = fixture("docker_ps.jsonl").replace("342670b99fa4", project.hash)
    running = running.replace("/tmp/demo/proj", str(tmp_path))
    assert (
        main(["verify", str(tmp_path)], executor=docker_fake().on(["docker", "ps"], running)) == 0
    )
    leaky = (
        docker_fake()
        .on(["docker", "ps"], running)
        .on(["docker", "exec", "*", *CLEAN_ENV, "getent"], "1.2.3.4 x", returncode=0)
    )
    capsys.readouterr()
    assert main(["verify", str(tmp_path), "--json"], executor=leaky) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False
    assert [c["name"] for c in data["checks"] if not c["ok"]] == [
        "an external name does not resolve"
    ]


def test_verify_of_a_stopped_environment_says_to_start_it(
    isolated_dirs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from devagent.generate.files import write_to_project
    from devagent.project import identify

    write_to_project(identify(tmp_path), [{"docker-compose.yml": b"services: {}\n"}])
    assert main(["verify", str(tmp_path)], executor=docker_fake().on(["docker", "ps"], "")) == 1
    assert "devagent start" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("arguments", "hosts", "target"),
    [
        (("a.test",), ["a.test"], None),
        (("a.test", "b.test"), ["a.test", "b.test"], None),
        (("a.test", "./proj"), ["a.test"], "proj"),
        (("a.test", "."), ["a.test"], "."),
        (("pinned.test passthrough", "/srv/app"), ["pinned.test passthrough"], "/srv/app"),
    ],
)
def test_allow_splits_hosts_from_the_project_path(
    arguments: tuple[str, ...], hosts: list[str], target: str | None
) -> None:
    from devagent.cli.allow import split_target

    assert split_target(arguments) == (hosts, target)


def test_version_names_devagent_and_each_tool(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.unit.manager.test_doctor import healthy

    no_podman = (
        healthy()
        .on(["docker-compose", "version", "--short"], "1.29.2\n")
        .on(["podman", "info", "--format"], returncode=125, stderr="no")
    )
    assert main(["--version"], executor=no_podman) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("devagent ")
    assert "docker: 20.10.24+dfsg1" in out and "  compose (docker): docker-compose 1.29.2" in out
    assert "podman: installed, not answering" in out and "devcontainer CLI: 0.89.0" in out


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(shell: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", shell]) == 0
    assert "_DEVAGENT_COMPLETE" in capsys.readouterr().out


def test_doctor_exit_code_and_json(isolated_dirs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.unit.manager.test_doctor import healthy

    assert main(["--runtime", "docker", "doctor", "--json"], executor=healthy()) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    down = healthy().on(["docker", "version"], returncode=1, stderr="Cannot connect\n")
    assert main(["--runtime", "docker", "doctor"], executor=down) == 1
    assert "not ready" in capsys.readouterr().out


def _created_project(tmp_path: Path) -> tuple[Path, FakeExecutor]:
    from devagent.project import identify

    project = tmp_path / "proj"
    project.mkdir()
    digest = identify(project).hash
    ps = fixture("docker_ps.jsonl").replace("342670b99fa4", digest)
    fake = docker_fake().on(["docker", "ps"], ps.replace("/tmp/demo/proj", str(project)))
    assert main(["create", str(project)], executor=fake) == 0
    return project, fake


def test_exec_shell_claude_and_sessions_print_the_engine_command(
    isolated_dirs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shlex

    from devagent.project import identify

    project, fake = _created_project(tmp_path)
    capsys.readouterr()
    commands = {
        "exec": ["exec", str(project), "--print", "--", "echo", "a b", "it's"],
        "shell": ["shell", str(project), "--print"],
        "claude": ["claude", str(project), "--print", "--", "--model", "opus"],
        "sessions": ["sessions", "new", "work", str(project), "--print"],
    }
    printed = {}
    for name, argv in commands.items():
        assert main(argv, executor=fake) == 0
        printed[name] = shlex.split(capsys.readouterr().out)
    app = identify(project).app_container
    for words in printed.values():
        assert words[:2] == ["docker", "exec"] and words[words.index("--user") + 1] == "vscode"
        assert words[words.index("--workdir") + 1] == "/workspaces/proj" and app in words
    # exec: through a login shell (which exports the credentials), every argument intact
    login = ["bash", "-lc", 'exec "$@"', "devagent"]
    assert printed["exec"][-7:] == [*login, "echo", "a b", "it's"]
    assert printed["shell"][-2:] == ["bash", "-l"]
    assert printed["claude"][-6:-1] == ["tmux", "new-session", "-A", "-s", "claude"]
    assert printed["claude"][-1] == "bash -lc 'claude --model opus'"
    assert printed["sessions"][-7:] == ["tmux", "new-session", "-d", "-s", "work", "bash", "-l"]


def test_exec_passes_the_exit_code_through(isolated_dirs: Path, tmp_path: Path) -> None:
    project, fake = _created_project(tmp_path)

    class Exits(type(fake)):  # type: ignore[misc]
        def interactive(self, argv: object) -> int:
            return 7

    exits = Exits(fake.rules)
    assert main(["exec", str(project), "--", "false"], executor=exits) == 7


def test_templates_lists_and_new_copies_one_to_customise(
    isolated_dirs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["templates", "--json"]) == 0
    listed = {t["name"]: t for t in json.loads(capsys.readouterr().out)["templates"]}
    assert {"basic", "go-project", "python-project"} <= set(listed)
    assert "proxy.golang.org" in listed["go-project"]["allowlist"]
    assert main(["templates", "new", "mine", "--from", "python-project"]) == 0
    copied = isolated_dirs / "config" / "templates" / "mine"
    assert (copied / "Dockerfile").read_text().startswith('# devagent "python-project"')
    assert "devagent create --template mine" in capsys.readouterr().out
    assert main(["templates", "--json"]) == 0
    mine = {t["name"]: t for t in json.loads(capsys.readouterr().out)["templates"]}["mine"]
    assert mine["builtin"] is False
    assert main(["templates", "new", "mine"]) == 1  # exists already
    assert "exists already" in capsys.readouterr().err


def test_bare_devagent_prints_help_off_a_terminal_and_opens_the_ui_on_one(
    isolated_dirs: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main([], executor=FakeExecutor()) == 0
    out = capsys.readouterr().out
    assert "Usage: devagent" in out and "tui" in out
    opened = []
    monkeypatch.setattr("devagent.tui.run", lambda backend: opened.append(backend))
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    assert main([], executor=docker_fake()) == 0
    assert len(opened) == 1 and hasattr(opened[0], "create")


def test_config_runtime_is_read_quickly_and_an_invalid_one_still_reported(
    isolated_dirs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = isolated_dirs / "config"
    config.mkdir(exist_ok=True)
    (config / "config.yaml").write_text("runtime: docker\n")
    assert main(["list", "--json"], executor=docker_fake()) == 0
    assert json.loads(capsys.readouterr().out)["engine"] == "docker"
    (config / "config.yaml").write_text("runtime: nope\n")
    assert main(["list"], executor=docker_fake()) == 1
    assert "config.yaml: runtime: Input should be 'auto', 'docker' or 'podman'" in (
        capsys.readouterr().err
    )


def test_the_engine_choices_are_the_registrys() -> None:
    from devagent.cli import ENGINE_CHOICES
    from devagent.runtime.engine import ENGINES

    assert ("auto", *ENGINES) == ENGINE_CHOICES
