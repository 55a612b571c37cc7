"""The inbox against real engines (Docker and rootless Podman): a refused request waits
for the user within a second; approving it lets the agent's retry through, live;
declining it makes the refusal tell the agent not to retry."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Sandbox, make_sandbox

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def box(engine: str, upstream: str, pki: Path, sandbox_root: Path) -> Iterator[Sandbox]:
    sandbox = make_sandbox(engine, sandbox_root, pki, "inbox project")
    try:
        sandbox.devagent("create", str(sandbox.project), "--allow", "allowed.test private")
        sandbox.connect_upstream(upstream)
        yield sandbox
    finally:
        sandbox.disconnect_upstream(upstream)
        sandbox.devagent("destroy", str(sandbox.project), "--purge", check=False)


def waiting(box: Sandbox, host: str) -> dict[str, Any] | None:
    listed = json.loads(box.devagent("inbox", "--json").stdout)["items"]
    mine = [i for i in listed if i["host"] == host and i["project_path"] == str(box.project)]
    return mine[0] if mine else None


def until(condition: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_a_refused_request_waits_in_the_inbox_and_an_approval_lets_the_retry_through(
    box: Sandbox, record_property: Callable[[str, object], None]
) -> None:
    refused = box.curl("http://blocked.test/inbox?secret=1")
    assert refused.stdout.endswith("\n403"), refused.stdout
    assert "waiting for the user in `devagent inbox`" in refused.stdout
    started = time.monotonic()
    item = until(lambda: waiting(box, "blocked.test"), 5)
    record_property("inbox_seconds", round(time.monotonic() - started, 2))
    assert item is not None and time.monotonic() - started < 1.5, item
    assert (item["method"], item["path"], item["port"]) == ("GET", "/inbox", 80)  # no query
    assert "secret" not in json.dumps(item)
    box.devagent("approve", str(item["id"]), "--for", "10m")

    # The suite's upstream is at a private address: the agent's retries are refused for
    # that (a public host would pass here), and the item waits again, asking for "private".
    def waits_again() -> dict[str, Any] | None:
        box.curl("http://blocked.test/inbox")
        found = waiting(box, "blocked.test")
        return found if found and found["entry"] == "blocked.test private" else None

    item = until(waits_again, 10)
    assert item and item["state"] == "pending", item
    box.devagent("approve", str(item["id"]), "--for", "10m")
    passed = until(lambda: (r := box.curl("http://blocked.test/inbox")).stdout.endswith("\n200")
                   and r, 5)  # fmt: skip
    assert passed, "the approved request never passed"  # and nothing restarted
    listed = json.loads(box.devagent("inbox", "--all", "--json").stdout)["items"]
    assert any(i["host"] == "blocked.test" and i["state"] == "allowed for a while" and
               i["until"] > time.time() + 500 for i in listed)  # fmt: skip


def test_a_declined_host_is_told_not_to_retry_and_always_goes_into_the_allowlist(
    box: Sandbox,
) -> None:
    box.curl("http://other.test/")
    item = until(lambda: waiting(box, "other.test"), 5)
    assert item, "other.test never reached the inbox"
    box.devagent("reject", str(item["id"]))
    told = until(lambda: "the user declined this host" in (r := box.curl("http://other.test/"))
                 .stdout and r, 5)  # fmt: skip
    assert told and told.stdout.endswith("\n403"), told
    assert waiting(box, "other.test") is None  # answered: it no longer waits
    box.curl("https://api.allowed.test/")
    item = until(lambda: waiting(box, "api.allowed.test"), 5)
    assert item, "api.allowed.test never reached the inbox"
    box.devagent("approve", str(item["id"]), "--always")
    shown = box.devagent("allowlist", str(box.project), "--json").stdout
    assert "api.allowed.test" in shown
