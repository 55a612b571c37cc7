from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest

from devagent.proxy.allowlist import Allowlist, AllowlistFile
from devagent.proxy.helper import answer, serve_helper

ALLOW = Allowlist.parse(["allowed.test", "*.wild.test", "pinned.test tunnel", "corp.test private"])
FIX = "devagent allow {host} /srv/app"


def ask(line: str, rules: Allowlist | None = None) -> str:
    return answer(line, ALLOW, rules, FIX)


def test_a_connect_is_allowed_with_its_mode_and_remembered_for_the_tunnel() -> None:
    reply = ask("CONNECT - allowed.test 443 allowed.test%3A443 - - access")
    assert reply.startswith("OK ") and "devagent_mode=inspect" in reply
    assert "devagent_private=no" in reply and "clt_conn_tag=allowed.test:443" in reply
    assert "devagent_mode=tunnel" in ask("CONNECT - pinned.test 443 - - - access")
    assert "devagent_private=yes" in ask("CONNECT - corp.test 443 - - - access")
    rules = Allowlist.parse(["allowed.test"])
    assert "devagent_mode=rules" in ask("CONNECT - allowed.test 443 - - - access", rules)


def test_a_request_inside_a_tunnel_must_name_its_connect_target() -> None:
    ok = "GET https a.wild.test 443 a.wild.test a.wild.test a.wild.test%3A443 access"
    assert ask(ok).startswith("OK ")
    other = "GET https b.wild.test 443 b.wild.test b.wild.test a.wild.test%3A443 access"
    reply = ask(other)
    assert (
        reply.startswith("ERR ") and "CONNECT host" in reply and "devagent_refused=policy" in reply
    )


def test_a_refusal_says_how_to_allow_and_encoded_names_are_not_decoded_twice() -> None:
    reply = ask("GET http blocked.test 80 blocked.test - - access")
    assert reply.startswith("ERR ") and "devagent allow blocked.test /srv/app" in reply
    # squid sends "%" as %25: "allowed%2etest" must stay that, never become allowed.test
    assert ask("GET http allowed%252etest 80 - - - access").startswith("ERR ")


def test_the_sni_phase_splices_only_tunnel_entries_whose_sni_agrees() -> None:
    assert ask("CONNECT - pinned.test 443 - pinned.test - sni").startswith("OK ")
    assert ask("CONNECT - pinned.test 443 - other.test - sni").startswith("ERR ")
    assert ask("CONNECT - allowed.test 443 - allowed.test - sni").startswith("ERR ")


def test_malformed_questions_are_refused() -> None:
    assert ask("GET http").startswith("ERR ")


def test_serve_answers_on_the_same_channel_and_fails_closed(tmp_path: Path) -> None:
    path = tmp_path / "allowlist.json"
    path.write_text(json.dumps({"allowlist": ["allowed.test"]}))
    out = io.StringIO()
    lines = "3 GET http allowed.test 80 - - - access\n7 GET http x.test 80 - - - access\n"
    serve_helper(AllowlistFile(path), None, FIX, stdin=io.StringIO(lines), stdout=out)
    assert [line.split()[:2] for line in out.getvalue().splitlines()] == [["3", "OK"], ["7", "ERR"]]
    path.write_text("not json")  # an unreadable allowlist allows nothing
    out = io.StringIO()
    source = AllowlistFile(path, interval=0)
    serve_helper(source, None, FIX, stdin=io.StringIO(lines), stdout=out)
    assert [line.split()[1] for line in out.getvalue().splitlines()] == ["ERR", "ERR"]


def test_a_refusal_the_user_decides_on_says_it_waits_and_a_declined_host_says_do_not_retry(
) -> None:  # fmt: skip
    waiting = ask("GET http blocked.test 80 blocked.test - - access")
    assert "waiting for the user in `devagent inbox`" in waiting
    assert "waiting" not in ask("GET https a.wild.test 443 a.wild.test b.wild.test - access")
    declined = answer("GET http blocked.test 80 blocked.test - - access", ALLOW, None, FIX,
                      frozenset({"blocked.test"}))  # fmt: skip
    assert declined.startswith("ERR ") and 'log="declined by the user"' in declined
    assert "the user declined this host. Do not retry it" in declined
    assert "devagent allow" not in declined


def test_entries_allowed_for_a_while_run_out_and_declined_hosts_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "allowlist.json"
    now = 1_800_000_000.0
    monkeypatch.setattr(time, "time", lambda: now)
    until = {"soon.test": now + 60, "gone.test": now - 1}
    document = {"allowlist": ["allowed.test"], "declined": ["no.test"], "until": until}
    path.write_text(json.dumps(document))
    source = AllowlistFile(path, interval=0)
    current = source.current()
    assert current.allows("soon.test", 443) and current.allows("allowed.test", 443)
    assert not current.allows("gone.test", 443) and source.declined == {"no.test"}
    now += 61  # the file has not changed, the entry's time has run out
    assert not source.current().allows("soon.test", 443)
    assert source.current().allows("allowed.test", 443)
