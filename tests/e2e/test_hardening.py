"""The host is safe from what the agent writes: planted links, git metadata, log text, its
dotfiles, the engine's host names. Each attempt next to the legitimate work it must not
break.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Sandbox, make_sandbox, run

pytestmark = pytest.mark.e2e


@pytest.fixture
def victim() -> Iterator[Path]:
    """A root-owned file on the host that the agent would love to overwrite or own."""
    handle, name = tempfile.mkstemp(prefix="devagent-victim-", dir="/tmp")
    os.write(handle, b"precious\n")
    os.close(handle)
    path = Path(name)
    path.chmod(0o644)
    yield path
    path.unlink(missing_ok=True)


def _unchanged(path: Path) -> bool:
    info = path.lstat()
    return path.read_bytes() == b"precious\n" and info.st_uid == 0 and not path.is_symlink()


def _recreate(sandbox: Sandbox, upstream: str, *, check: bool = True) -> str:
    sandbox.disconnect_upstream(upstream)
    try:
        result = sandbox.devagent("create", str(sandbox.project), check=check)
    finally:
        sandbox.connect_upstream(upstream)
    return result.stdout + result.stderr


def test_a_planted_link_is_never_followed_by_devagent(
    sandbox: Sandbox, upstream: str, victim: Path
) -> None:
    claude = "/home/vscode/.claude"
    planted = sandbox.app_sh(f"rm -f {claude}/.claude.json && ln -s {victim} {claude}/.claude.json")
    assert planted.returncode == 0, planted.stderr
    try:
        output = _recreate(sandbox, upstream, check=False)
        assert ".claude.json" in output and "link" in output, output
        assert _unchanged(victim)
    finally:
        sandbox.app_sh(f"rm -f {claude}/.claude.json")
        _recreate(sandbox, upstream)  # the twin: without the link, create works again
    assert sandbox.app_sh(f"test -f {claude}/.claude.json").returncode == 0
    assert _unchanged(victim)


def test_a_link_swapped_in_a_loop_during_create_and_start_reaches_nothing(
    sandbox: Sandbox, upstream: str, victim: Path
) -> None:
    """The agent flips a directory and a link to the host victim as fast as it can while
    devagent re-creates and starts the environment (a few hundred flips each)."""
    flip = (
        f"cd /home/vscode/.claude; for i in $(seq 400); do rm -rf swap; ln -s {victim} swap; "
        "rm -f swap; mkdir swap; echo x > swap/f; done; echo flipped"
    )
    sandbox.engine_run("exec", "-d", "-u", "vscode", sandbox.app, "bash", "-c", flip)
    _recreate(sandbox, upstream)
    sandbox.engine_run("exec", "-d", "-u", "vscode", sandbox.app, "bash", "-c",
                       flip + " > /tmp/flip.out")  # fmt: skip
    sandbox.devagent("stop", str(sandbox.project))
    sandbox.devagent("start", str(sandbox.project))
    assert _unchanged(victim)
    assert json.loads(sandbox.devagent("verify", str(sandbox.project), "--json").stdout)["ok"]


@pytest.fixture(scope="module")
def repository(sandbox: Sandbox, upstream: str, pki: Path) -> Iterator[Sandbox]:
    """A second environment whose project is a git repository with one commit."""
    box = make_sandbox(sandbox.engine, sandbox.root, pki, "repository")
    # (as root, in a directory that may belong to the engine's user: safe.directory)
    git = ["git", "-C", str(box.project), "-c", "safe.directory=*", "-c", "user.name=t",
           "-c", "user.email=t@t.test"]  # fmt: skip
    run(["git", "init", "-q", "-b", "main", str(box.project)])
    run([*git, "add", "-A"])
    run([*git, "commit", "-qm", "first"])
    if box.host.user is None:
        subprocess.run(["chmod", "-R", "a+rwX", str(box.project)], check=True)
    box.host.give(box.project)
    box.devagent("create", str(box.project), "--allow", "allowed.test private")
    try:
        yield box
    finally:
        box.devagent("destroy", str(box.project), "--purge", check=False)


def _git(box: Sandbox, script: str) -> subprocess.CompletedProcess[str]:
    ident = "git -c user.name=agent -c user.email=agent@sandbox.test"
    return box.app_sh(f"cd /workspaces/repository && {script.replace('GIT', ident)}")


@pytest.mark.parametrize(
    ("name", "attack"),
    [
        ("config", "git config core.fsmonitor 'touch /tmp/pwned'"),
        ("config-by-hand", "echo '[core]\n\tfsmonitor = touch /tmp/pwned' >> .git/config"),
        ("hooks", "printf '#!/bin/sh\\ntouch /tmp/pwned\\n' > .git/hooks/post-checkout"),
        ("info", "echo '* filter=evil' > .git/info/attributes"),
        ("replace-.git", "mv .git .git-aside && mkdir .git"),
    ],
)
def test_git_metadata_that_runs_code_on_the_host_is_read_only(
    repository: Sandbox, name: str, attack: str
) -> None:
    # The twins: ordinary git work in the app goes on.
    work = _git(
        repository,
        f"echo {name} >> notes.txt && GIT add notes.txt && GIT commit -qm {name} && "
        f"GIT switch -q -c topic-{name} && echo wip >> notes.txt && GIT stash -q && "
        "GIT switch -q main && echo done",
    )
    assert "done" in work.stdout, work.stdout + work.stderr
    refused = _git(repository, attack)
    assert refused.returncode != 0, refused.stdout
    git = repository.project / ".git"
    assert "pwned" not in (git / "config").read_text()
    assert not (git / "hooks" / "post-checkout").exists()
    assert not (git / "info" / "attributes").exists()
    assert not (repository.project / ".git-aside").exists() and (git / "HEAD").is_file()


def test_status_and_start_say_when_git_metadata_changed_on_the_host(repository: Sandbox) -> None:
    status = json.loads(repository.devagent("status", str(repository.project), "--json").stdout)
    assert not [w for w in status["warnings"] if "GIT METADATA" in w]
    config = repository.project / ".git" / "config"
    config.write_text(config.read_text() + "[core]\n\tfsmonitor = touch /tmp/pwned\n")
    commondir = _git(repository, "echo /tmp/elsewhere > .git/commondir")  # writable: detected
    assert commondir.returncode == 0
    status = json.loads(repository.devagent("status", str(repository.project), "--json").stdout)
    (warning,) = [w for w in status["warnings"] if "GIT METADATA" in w]
    assert "core.fsmonitor added" in warning and "commondir added" in warning
    repository.devagent("stop", str(repository.project))
    started = repository.devagent("start", str(repository.project))
    assert "core.fsmonitor added" in started.stdout + started.stderr


def test_request_text_reaches_the_terminal_inert(sandbox: Sandbox) -> None:
    """A path with an escape sequence, Rich markup and an encoded newline, read back through
    `devagent logs` on a pseudo-terminal."""
    # (printf's own escapes: %% is "%", \\033 is ESC; squid refuses the raw ESC as invalid)
    for path in ("/[red]x[/]%%0Aline", "/\\033[31mred"):
        request = f"GET http://blocked.test{path} HTTP/1.1\\r\\nHost: blocked.test\\r\\n"
        sent = sandbox.engine_run(
            "exec", "-u", "vscode", sandbox.app, "bash", "-c",
            # squid may answer and close before the request is all written: no SIGPIPE.
            f"trap '' PIPE; exec 3<>/dev/tcp/proxy/8080 && "
            f"{{ printf '{request}Connection: close\\r\\n\\r\\n' >&3 || true; }} && cat <&3",
        )  # fmt: skip
        assert "HTTP/1.1 4" in sent.stdout, sent.stdout  # refused, or not even read
    time.sleep(1)
    argv = sandbox.devagent_argv("logs", str(sandbox.project), "--since", "5m")
    shown = run(["script", "-qec", " ".join(f"'{a}'" for a in argv), "/dev/null"],
                env=sandbox.process_env({"COLUMNS": "10000"}))  # fmt: skip
    assert "\x1b[31mred" not in shown.stdout  # the request's escape never reaches the terminal
    assert "[red]x[/]" in shown.stdout  # markup shown as the text it is
    assert "%0Aline" in shown.stdout or "\\x0aline" in shown.stdout


def test_log_and_state_directories_are_the_users_only(sandbox: Sandbox) -> None:
    sandbox.curl("http://allowed.test/perm")
    data = Path(sandbox.env["DEVAGENT_DATA_DIR"])
    logs = data / "proxy-logs" / sandbox.hash
    assert logs.stat().st_mode & 0o777 == 0o700
    files = [path for path in logs.iterdir() if path.is_file()]
    assert files and all(path.stat().st_mode & 0o077 == 0 for path in files), files
    assert (data / "claude-configs" / sandbox.hash).stat().st_mode & 0o077 == 0
    page = sandbox.curl("http://blocked.test/")
    assert str(sandbox.project) not in page.stdout  # the 403 names no host path
    assert sandbox.app in page.stdout  # but names the project, by its container


def test_verify_ignores_the_agents_dotfiles(sandbox: Sandbox) -> None:
    planted = sandbox.app_sh(
        'printf \'proxy = "http://127.0.0.1:9"\\nnoproxy = "*"\\n\' > ~/.curlrc && '
        "echo 'export http_proxy=http://127.0.0.1:9' > ~/.bashrc.d-evil && echo planted"
    )
    assert "planted" in planted.stdout
    try:
        assert sandbox.curl("http://allowed.test/").returncode != 0  # the agent's curl breaks
        result = json.loads(sandbox.devagent("verify", str(sandbox.project), "--json").stdout)
        assert result["ok"], result
        blocked = sandbox.devagent("logs", str(sandbox.project), "--blocked", "--json").stdout
        hosts = {h["host"] for h in json.loads(blocked)["blocked_hosts"]}
        assert "devagent-verify.invalid" not in hosts  # its probe is no host to allow
    finally:
        sandbox.app_sh("rm -f ~/.curlrc ~/.bashrc.d-evil")


def test_the_engines_host_names_neither_resolve_nor_answer(sandbox: Sandbox) -> None:
    for name in ("host.containers.internal", "host.docker.internal"):
        assert sandbox.app_sh(f"getent hosts {name}").returncode == 2
        answer = sandbox.curl(f"http://{name}/")
        assert answer.stdout.strip().endswith("403"), answer.stdout
    assert sandbox.app_sh("getent hosts proxy").returncode == 0  # the twin
    if sandbox.engine == "podman":
        network = sandbox.inspect_network(f"devagent-{sandbox.hash}-net")
        assert network.get("options", {}).get("isolate") == "true", network
