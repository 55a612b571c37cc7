"""Day-to-day operation on a real environment: live allowlist changes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from tests.e2e.conftest import Sandbox

pytestmark = pytest.mark.e2e

# A keep-alive client connection through the proxy: one request now, one more on the same
# connection once /tmp/go appears. Each line: "<name> <status line> <body>".
KEEPALIVE = r"""
exec 3<>/dev/tcp/proxy/8080 || exit 1
req() {
  printf 'GET http://allowed.test/%s HTTP/1.1\r\nHost: allowed.test\r\n\r\n' "$1" >&3
  read -r status <&3; len=0
  while read -r line <&3; do
    line=${line%$'\r'}; [ -z "$line" ] && break
    case "${line,,}" in content-length:*) len=${line#*: };; esac
  done
  read -r -N "$len" body <&3
  echo "$1 ${status%$'\r'} $body"
}
req one > /tmp/keepalive.out
while [ ! -e /tmp/go ]; do sleep 0.1; done
req two >> /tmp/keepalive.out 2>&1 || echo "two failed" >> /tmp/keepalive.out
"""


def _status(sandbox: Sandbox, url: str) -> str:
    return sandbox.curl(url).stdout.rstrip().rsplit("\n", 1)[-1]


def _until(
    check: Callable[[], bool], timeout: float = 10.0, what: Callable[[], str] = str
) -> float:
    """Seconds until ``check`` holds (polled every 50 ms); fails after ``timeout``."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            pytest.fail(f"not within {timeout} s: {what()}")
        time.sleep(0.05)
    return time.monotonic() - start


def test_allow_and_deny_apply_live_without_touching_the_app(
    sandbox: Sandbox, record_property: Callable[[str, object], None]
) -> None:
    before = sandbox.inspect(sandbox.app)
    sandbox.engine_run("exec", "-d", "-u", "vscode", sandbox.app, "bash", "-c", KEEPALIVE)
    _until(
        lambda: "one HTTP/1.1 200" in sandbox.app_sh("cat /tmp/keepalive.out").stdout,
        what=lambda: sandbox.app_sh("cat /tmp/keepalive.out; ps aux").stdout,
    )
    assert _status(sandbox, "http://blocked.test/") == "403"

    allowed = json.loads(
        sandbox.devagent("allow", "blocked.test", str(sandbox.project), "--json").stdout
    )
    assert allowed["added"] == ["blocked.test"] and allowed["live"] is True
    delay_allow = _until(lambda: _status(sandbox, "http://blocked.test/") == "200")
    listed = json.loads(sandbox.devagent("allowlist", str(sandbox.project), "--json").stdout)
    assert {"entry": "blocked.test", "sources": ["project"]} in listed["entries"]

    sandbox.devagent("deny", "blocked.test", str(sandbox.project))
    delay_deny = _until(lambda: _status(sandbox, "http://blocked.test/") == "403")
    record_property("allow_delay_s", round(delay_allow, 3))
    record_property("deny_delay_s", round(delay_deny, 3))
    print(f"allow applied after {delay_allow:.3f} s, deny after {delay_deny:.3f} s")

    # The long-lived connection made before both changes still works.
    sandbox.app_sh("touch /tmp/go")
    _until(lambda: "two " in sandbox.app_sh("cat /tmp/keepalive.out").stdout)
    assert (
        "two HTTP/1.1 200 OK hello from allowed.test path=/two"
        in sandbox.app_sh("cat /tmp/keepalive.out").stdout
    )
    after = sandbox.inspect(sandbox.app)
    assert after["Id"] == before["Id"]
    assert after["State"]["StartedAt"] == before["State"]["StartedAt"]  # type: ignore[index]
    assert sandbox.devagent("verify", str(sandbox.project)).returncode == 0  # files recorded
