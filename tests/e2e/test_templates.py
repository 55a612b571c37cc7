"""Every built-in template builds offline (base images provided locally under their upstream
names), comes up through `devagent create`, and its toolchain and Claude Code work inside;
the agent holds placeholders, never the credentials."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import FAKE_CLAUDE_TOKEN, FAKE_GITHUB_TOKEN, Sandbox, make_sandbox, run

pytestmark = pytest.mark.e2e

GO_MODULE = {
    "go.mod": "module example.test/hello\n\ngo 1.23\n",
    "hello.go": 'package hello\n\nfunc Greeting() string { return "hello from go" }\n',
    "hello_test.go": (
        'package hello\n\nimport "testing"\n\n'
        "func TestGreeting(t *testing.T) {\n"
        '\tif Greeting() != "hello from go" {\n\t\tt.Fatal(Greeting())\n\t}\n}\n'
    ),
}
PYTHON_SCRIPT = {"hello.py": 'import sys\nprint(f"hello from python {sys.version_info[0]}")\n'}


@pytest.fixture(scope="module", params=["go-project", "python-project"])
def templated(
    request: pytest.FixtureRequest, engine: str, pki: Path, sandbox_root: Path
) -> Iterator[Sandbox]:
    template: str = request.param
    box = make_sandbox(engine, sandbox_root, pki, template)
    files = GO_MODULE if template == "go-project" else PYTHON_SCRIPT
    for name, text in files.items():
        (box.project / name).write_text(text)
    box.host.give(box.project)
    if box.host.user is None:
        for path in box.project.iterdir():
            path.chmod(0o666)
    try:
        box.devagent("create", str(box.project), "--template", template)
        yield box
    finally:
        box.devagent("destroy", str(box.project), "--purge", check=False)


def _in_app(box: Sandbox, command: str) -> str:
    result = box.devagent_run(["exec", str(box.project), "--", "bash", "-c", command])
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_toolchain_works_inside(templated: Sandbox) -> None:
    if templated.project.name == "go-project":
        output = _in_app(templated, "go version && go build ./... && go test ./...")
        assert "go1.23" in output and "ok  \texample.test/hello" in output
    else:
        output = _in_app(templated, "uv --version && uv run --no-project hello.py")
        assert "uv 0.13.9" in output and "hello from python 3" in output
    tools = _in_app(templated, "claude --version && gh --version && rg --version && tmux -V")
    assert "(Claude Code)" in tools and "gh version" in tools and "tmux" in tools


def test_the_agent_holds_placeholders_and_the_credentials_stay_out(templated: Sandbox) -> None:
    shell = _in_app(templated, 'echo "token=$CLAUDE_CODE_OAUTH_TOKEN gh=$GH_TOKEN"')
    assert "token=sk-ant-oat01-devagent-placeholder" in shell and "gh=ghp_devagent" in shell
    for token in (FAKE_CLAUDE_TOKEN, FAKE_GITHUB_TOKEN):
        assert token not in shell
        inspected = templated.engine_run("inspect", templated.app, templated.proxy).stdout
        assert token not in inspected
        generated = [p for p in templated.project.rglob("*") if p.is_file()]
        assert generated and not [p for p in generated if token.encode() in p.read_bytes()]
        for image in (templated.app, templated.proxy):
            history = templated.engine_run("history", "--no-trunc", f"{image}:latest", check=False)
            assert history.returncode == 0 and token not in history.stdout
    # Onboarding is done, so Claude Code starts straight away; the config persists.
    settings = json.loads(_in_app(templated, "cat ~/.claude/.claude.json"))
    assert settings["hasCompletedOnboarding"] is True


def test_basic_template_claude_in_tmux_with_the_credential(sandbox: Sandbox) -> None:
    """`devagent claude` on a real terminal: tmux in the sandbox runs Claude Code."""
    path = str(sandbox.project)
    shell = sandbox.devagent_run(
        ["exec", path, "--", "bash", "-c", "echo $CLAUDE_CODE_OAUTH_TOKEN"]
    )
    assert shell.stdout.startswith("sk-ant-oat01-devagent-placeholder")
    # `script` gives devagent a terminal; `claude --version` ends the session by itself.
    command = shlex.join(sandbox.devagent_argv("claude", path, "--", "--version"))
    attached = run(["script", "-qec", command, "/dev/null"], check=False,
                   env=sandbox.process_env())  # fmt: skip
    assert attached.returncode == 0, attached.stdout
    assert "(Claude Code)" in attached.stdout
