from __future__ import annotations

import base64
import os
from pathlib import Path

from mitmproxy.http import Headers

from devagent.proxy.allowlist import Allowlist
from devagent.proxy.credentials import (
    Binding,
    Keyring,
    hides_missing_scope,
    is_git_request,
    put_on_wire,
)

OAUTH = "sk-ant-oat01-real-token-value"
KEY = "sk-ant-api03-real-key-value"


def test_an_oauth_token_replaces_what_the_client_sent_and_adds_the_beta_flag() -> None:
    headers = Headers(
        authorization="Bearer sk-ant-oat01-placeholder",
        x_api_key="sk-ant-api03-placeholder",
        anthropic_beta="fine-grained-tool-streaming-2025-05-14",
    )
    put_on_wire(headers, "anthropic", OAUTH, "/v1/messages")
    assert headers["authorization"] == f"Bearer {OAUTH}"
    assert "x-api-key" not in headers  # the API refuses a wrong key beside a right token
    assert headers["anthropic-beta"] == "fine-grained-tool-streaming-2025-05-14,oauth-2025-04-20"
    put_on_wire(headers, "anthropic", OAUTH, "/v1/messages")
    assert headers["anthropic-beta"].count("oauth-2025-04-20") == 1


def test_an_api_key_goes_in_x_api_key_and_nothing_else() -> None:
    headers = Headers(authorization="Bearer placeholder", x_api_key="placeholder")
    put_on_wire(headers, "anthropic", KEY, "/v1/messages")
    assert headers["x-api-key"] == KEY and "authorization" not in headers


def test_github_takes_basic_for_git_and_bearer_for_the_api() -> None:
    git = Headers(authorization="Basic cGxhY2Vob2xkZXI=")
    put_on_wire(git, "github", "ghp_real", "/o/r.git/info/refs?service=git-receive-pack")
    scheme, _, encoded = git["authorization"].partition(" ")
    assert scheme == "Basic" and base64.b64decode(encoded) == b"x-access-token:ghp_real"
    api = Headers(authorization="token ghp_placeholder")
    put_on_wire(api, "github", "ghp_real", "/repos/o/r/issues")
    assert api["authorization"] == "Bearer ghp_real"
    assert is_git_request("/o/r/git-upload-pack") and not is_git_request("/repos/o/r")


def _keyring(tmp_path: Path) -> Keyring:
    hosts = Allowlist.parse(["api.anthropic.com"])
    return Keyring((Binding("claude", "anthropic", hosts, tmp_path / "claude"),))


def test_values_are_bound_to_https_on_their_hosts_and_reread_when_they_change(
    tmp_path: Path,
) -> None:
    keyring = _keyring(tmp_path)
    binding = keyring.for_host("api.anthropic.com", 443)
    assert binding is not None and keyring.value(binding) is None  # no file yet
    assert keyring.for_host("api.anthropic.com", 80) is None
    assert keyring.for_host("evil-api.anthropic.com", 443) is None
    (tmp_path / "claude").write_text(OAUTH + "\n")
    assert keyring.value(binding) == OAUTH
    (tmp_path / "claude").write_text("sk-ant-oat01-rotated-longer\n")
    os.utime(tmp_path / "claude", ns=(1, 1))
    assert keyring.value(binding) == "sk-ant-oat01-rotated-longer"


def test_carried_finds_a_real_value_anywhere_it_is_looked_for(tmp_path: Path) -> None:
    keyring = _keyring(tmp_path)
    (tmp_path / "claude").write_text(OAUTH + "\n")
    assert keyring.carried(["/upload?x=" + OAUTH]) == "claude"
    assert keyring.carried(["authorization: Bearer sk-ant-oat01-placeholder"]) is None


def test_only_profile_and_usage_403s_are_hidden() -> None:
    assert hides_missing_scope("/api/oauth/profile", 403)
    assert hides_missing_scope("/api/oauth/usage?x=1", 403)
    assert not hides_missing_scope("/api/oauth/profile", 401)
    assert not hides_missing_scope("/v1/messages", 403)
