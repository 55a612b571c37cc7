"""Credentials stay with the proxy: the real Claude Code and git/gh work through it, the
stand-ins (upstream/server.py) see the real values, the app never holds them, and the push
and API policies hold.

The shared sandbox's config binds the Claude credential to anthropic.allowed.test and the
GitHub one to api.allowed.test and git.allowed.test (a GitHub Enterprise Server's shape).
"""

from __future__ import annotations

import base64
import json
import shlex
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import FAKE_CLAUDE_TOKEN, FAKE_GITHUB_TOKEN, Host, Sandbox

pytestmark = pytest.mark.e2e

CURL = "curl -sS --max-time 20 -o /dev/stdout -w ' status=%{http_code}'"
AS_AGENT = '-H "Authorization: token $GH_TOKEN"'
REPO = "https://git.allowed.test/project.git"


def seen(box: Sandbox, upstream: str) -> list[dict[str, object]]:
    """Every request the stand-ins received so far."""
    output = Host(box.engine).run([box.engine, "exec", upstream, "cat", "/tmp/seen.jsonl"])
    return [json.loads(line) for line in output.stdout.splitlines()]


def server_refs(box: Sandbox, upstream: str) -> str:
    argv = [box.engine, "exec", upstream, "git", "--git-dir=/srv/git/project.git", "show-ref"]
    return Host(box.engine).run(argv).stdout


def in_app(box: Sandbox, script: str, *, user: str = "vscode") -> str:
    result = box.app_sh(script, user=user)
    return result.stdout + result.stderr


def logged(box: Sandbox, credential: str) -> list[dict[str, object]]:
    result = box.devagent("logs", str(box.project), "--credential", credential, "--json")
    records: list[dict[str, object]] = json.loads(result.stdout)["records"]
    return records


def test_claude_code_completes_a_turn_with_the_real_token_on_the_wire(
    sandbox: Sandbox, upstream: str
) -> None:
    command = (
        f"cd {shlex.quote(sandbox.project.name)} 2>/dev/null; "
        "ANTHROPIC_BASE_URL=https://anthropic.allowed.test "
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1 "
        "timeout 120 claude -p 'Say hello' < /dev/null"
    )
    output = in_app(sandbox, f"cd /workspaces; {command}")
    assert "hello from the stand-in model" in output, output
    assert "not logged in" not in output.lower() and "/login" not in output
    messages = [
        r
        for r in seen(sandbox, upstream)
        if r["host"] == "anthropic.allowed.test" and str(r["path"]).startswith("/v1/messages")
    ]
    assert messages, "the stand-in saw no /v1/messages request"
    for request in messages:
        headers = request["headers"]
        assert isinstance(headers, dict)
        assert headers["authorization"] == f"Bearer {FAKE_CLAUDE_TOKEN}"
        assert "oauth-2025-04-20" in headers.get("anthropic-beta", "")
        assert "x-api-key" not in headers
    assert any(str(r["path"]).startswith("/v1/messages") for r in logged(sandbox, "claude"))


def test_the_real_credentials_are_nowhere_in_the_app(sandbox: Sandbox) -> None:
    for token in (FAKE_CLAUDE_TOKEN, FAKE_GITHUB_TOKEN):
        # Split, and handed to grep on its standard input: no command line holds the value.
        half = len(token) // 2
        value = f"printf '%s\\n' '{token[:half]}''{token[half:]}' |"
        found = in_app(
            sandbox,
            f"{value} grep -rlsF -f - / --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev;"
            f" {value} grep -lsF -f - /proc/[0-9]*/environ /proc/[0-9]*/cmdline"
            " /proc/self/mountinfo; echo scanned",
            user="root",
        )
        assert found.strip() == "scanned", found
    mounts = in_app(sandbox, "cat /proc/self/mountinfo")
    assert "/secrets/" not in mounts and "credentials" not in mounts
    logs = sandbox.root / "data" / "proxy-logs" / sandbox.hash
    for path in logs.glob("*.jsonl*"):
        text = path.read_text(errors="replace")
        assert FAKE_CLAUDE_TOKEN not in text and FAKE_GITHUB_TOKEN not in text


def test_a_placeholder_sent_elsewhere_arrives_unchanged(sandbox: Sandbox, upstream: str) -> None:
    in_app(
        sandbox,
        f'{CURL} -H "Authorization: Bearer $CLAUDE_CODE_OAUTH_TOKEN" -H "X-Gh: token $GH_TOKEN"'
        " https://allowed.test/placeholder-check",
    )
    (request,) = [r for r in seen(sandbox, upstream) if r["path"] == "/placeholder-check"]
    headers = request["headers"]
    assert isinstance(headers, dict)
    assert headers["authorization"].startswith("Bearer sk-ant-oat01-devagent-placeholder")
    assert headers["x-gh"].startswith("token ghp_devagent")


@pytest.fixture(scope="module")
def clone(sandbox: Sandbox) -> Iterator[str]:
    """A clone of the stand-in's repository in the app, made through the proxy."""
    output = in_app(
        sandbox,
        f"rm -rf /tmp/clone && git clone -q {REPO} /tmp/clone && cd /tmp/clone"
        " && git -c user.name=agent -c user.email=agent@test commit -q --allow-empty -m work"
        " && echo cloned",
    )
    assert "cloned" in output, output
    yield "/tmp/clone"


def test_git_pushes_to_agent_branches_with_no_prompt_and_no_token(
    sandbox: Sandbox, upstream: str, clone: str
) -> None:
    output = in_app(sandbox, f"cd {clone} && GIT_TERMINAL_PROMPT=0 git push origin HEAD:agent/x")
    assert "agent/x" in output and "rejected" not in output, output
    assert "refs/heads/agent/x" in server_refs(sandbox, upstream)
    basic = "Basic " + base64.b64encode(f"x-access-token:{FAKE_GITHUB_TOKEN}".encode()).decode()
    pushes = [r for r in seen(sandbox, upstream) if str(r["path"]).endswith("/git-receive-pack")]
    assert pushes and all(r["headers"]["authorization"] == basic for r in pushes)  # type: ignore[index]
    assert any(str(r["path"]).endswith("git-receive-pack") for r in logged(sandbox, "github"))


@pytest.mark.parametrize(
    ("push", "shown"),
    [
        ("HEAD:main", "HEAD -> main (devagent: pushes go to agent/* branches)"),
        ("-f HEAD~0:refs/heads/main", "-> main (devagent: pushes go to agent/* branches)"),
        (":agent/x", "agent/x (devagent: deleting branches is refused"),
        ("v1", "v1 -> v1 (devagent: tags are refused"),
        ("HEAD:feature", "HEAD -> feature (devagent: pushes go to agent/* branches)"),
    ],
)
def test_other_pushes_are_rejected_the_way_git_shows_it(
    sandbox: Sandbox, upstream: str, clone: str, push: str, shown: str
) -> None:
    before = server_refs(sandbox, upstream)
    output = in_app(
        sandbox,
        f"cd {clone} && (git tag v1 2>/dev/null; true)"
        f" && GIT_TERMINAL_PROMPT=0 git push origin {push}; echo rc=$?",
    )
    assert "! [remote rejected]" in output and shown in output, output
    assert "rc=1" in output
    assert server_refs(sandbox, upstream) == before


REFUSED_API = [
    "-X PUT https://api.allowed.test/repos/o/r/pulls/1/merge",
    "-X PUT https://api.allowed.test/api/v3/repos/o/r/pulls/1/merge",
    "-X PUT https://api.allowed.test/repositories/42/pulls/1/merge",
    "-X PUT https://api.allowed.test/repos/o/r/pulls/1/%6derge",
    "-X POST https://api.allowed.test/repos/o/r/merges -d '{}'",
    "-X PATCH https://api.allowed.test/repos/o/r/git/refs/heads/main -d '{}'",
    "-X DELETE https://api.allowed.test/repos/o/r/git/refs/heads/agent/x",
    "-X PUT https://api.allowed.test/repos/o/r/contents/a.txt -d '{}'",
    "-X PUT https://api.allowed.test/repos/o/r/branches/main/protection -d '{}'",
    '-X POST https://api.allowed.test/repos/o/r/pulls/1/reviews -d \'{"event": "APPROVE"}\'',
    '-X PATCH https://api.allowed.test/repos/o/r -d \'{"default_branch": "agent/x"}\'',
    "-X POST https://api.allowed.test/repos/o/r/rulesets -d '{}'",
    "-X POST https://api.allowed.test/repos/o/r/merge-upstream -d '{}'",
    "-X PUT https://api.allowed.test/repos/o/r/pulls/1/update-branch",
    "-X PUT https://api.allowed.test/repos/o/r/pulls/1/reviews/2/dismissals -d '{}'",
    "-X POST https://api.allowed.test/repos/o/r/pulls/1/reviews/2/events -d "
    '\'{"event": "APPROVE"}\'',
    "-X POST https://api.allowed.test/repos/o/r/git/refs -d '{}'",
    "-X DELETE https://api.allowed.test/repos/o/r/contents/a.txt",
]
GRAPHQL = [
    '{"query": "mutation { mergePullRequest(input: {}) { clientMutationId } }"}',
    '{"query": "mutation { ok: enablePullRequestAutoMerge(input: {}) { clientMutationId } }"}',
    '{"query": "mutation { ...F } fragment F on Mutation { updateRef(input: {}) { x } }"}',
    '[{"query": "{ viewer { login } }"}, {"query": "mutation { deleteRef(input: {}) { x } }"}]',
    '{"query": "mutation { \\\\u006dergePullRequest(input: {}) { x } }"}',
    '{"query": "mutation { addPullRequestReview(input: {event: APPROVE}) { x } }"}',
    '{"id": "persisted-1"}',
]


def test_api_writes_that_merge_or_bypass_review_are_refused(sandbox: Sandbox) -> None:
    attempts = [f"{CURL} {AS_AGENT} {attempt}" for attempt in REFUSED_API]
    attempts += [
        f"{CURL} {AS_AGENT} -d {shlex.quote(body)} https://api.allowed.test/graphql"
        for body in GRAPHQL
    ]
    attempts.append(
        f"{CURL} {AS_AGENT} 'https://api.allowed.test/graphql?query=mutation%7BupdateRef"
        "(input:%7B%7D)%7Bx%7D%7D'"
    )
    for attempt in attempts:
        output = in_app(sandbox, attempt)
        assert output.endswith("status=403") and "devagent: " in output, (attempt, output)
        assert "Do not retry" in output, output


def test_reads_and_comments_pass_with_the_token_put_on_the_wire(
    sandbox: Sandbox, upstream: str
) -> None:
    query = '{"query": "query { viewer { login } }"}'
    for attempt in (
        f"{CURL} {AS_AGENT} -d {shlex.quote(query)} https://api.allowed.test/graphql",
        f'{CURL} {AS_AGENT} -d \'{{"body": "done"}}\' '
        "https://api.allowed.test/repos/o/r/issues/1/comments",
    ):
        assert in_app(sandbox, attempt).endswith("status=200")
    api = [r for r in seen(sandbox, upstream) if r["host"] == "api.allowed.test"]
    assert api and all(r["headers"]["authorization"] == f"Bearer {FAKE_GITHUB_TOKEN}" for r in api)  # type: ignore[index]
    paths = {str(r["path"]) for r in logged(sandbox, "github")}
    assert {"/graphql", "/repos/o/r/issues/1/comments"} <= paths


def test_gh_works_with_the_placeholder_and_is_refused_a_merge(sandbox: Sandbox) -> None:
    gh = "GH_HOST=git.allowed.test GH_PROMPT_DISABLED=1 gh api"
    comment = in_app(sandbox, f"{gh} repos/o/r/issues/1/comments -f body=hi; echo rc=$?")
    assert "hello from git.allowed.test" in comment and "rc=0" in comment, comment
    merge = in_app(sandbox, f"{gh} -X PUT repos/o/r/pulls/1/merge; echo rc=$?")
    assert "devagent: merging a pull request is refused" in merge and "rc=1" in merge, merge


def test_plain_http_to_a_host_with_rules_is_refused(sandbox: Sandbox) -> None:
    """The credentials and the GitHub policies act inside TLS: plain HTTP would go around
    them (a merge over port 80), so it is refused; the same call over HTTPS is decided."""
    plain = in_app(
        sandbox, f"{CURL} {AS_AGENT} -X PUT http://api.allowed.test/repos/o/r/pulls/1/merge"
    )
    assert plain.endswith("status=403") and "use HTTPS" in plain, plain
    twin = in_app(sandbox, f"{CURL} {AS_AGENT} https://api.allowed.test/repos/o/r/pulls/1")
    assert twin.endswith("status=200"), twin
