from __future__ import annotations

from dataclasses import replace

from devagent.generate.compose import ComposeGenerator
from devagent.generate.options import EnvironmentOptions
from devagent.proxy.squid_config import SquidSettings, squid_conf

SETTINGS = SquidSettings(
    port=8080,
    ca_file="/c/ca.pem",
    program="/o/filter.py",
    python="/usr/bin/env python3",
    logd="/o/devagent-logd",
    log_dir="/l",
    runtime_dir="/t",
    error_dir="/o/errors",
)


def test_identical_input_gives_identical_bytes(options: EnvironmentOptions) -> None:
    first = ComposeGenerator().generate(options).files
    second = ComposeGenerator().generate(options).files
    assert first == second
    assert "squid.conf" in first and "filter.py" in first


def test_what_must_never_be_in_the_configuration() -> None:
    conf = squid_conf(SETTINGS)
    assert "on_unsupported_protocol" not in conf  # never "tunnel": unknown bytes are refused
    assert "dstdomain" not in conf  # no reverse-DNS matching of IP literals
    assert "http_access allow all" not in conf
    lines = [line for line in conf.splitlines() if line.startswith("http_access")]
    assert lines[-2:] == ["http_access allow devagent_access", "http_access deny all"]
    assert "ssl_bump bump step1" in conf and "ssl_bump peek step1 mode_tunnel" in conf


def test_rules_hosts_go_to_mitmproxy_on_loopback(options: EnvironmentOptions) -> None:
    assert "cache_peer" not in squid_conf(SETTINGS)
    conf = squid_conf(replace(SETTINGS, rules_port=8081))
    assert "cache_peer 127.0.0.1 parent 8081" in conf and "never_direct allow mode_rules" in conf
    guarded = replace(options, github_guarded_hosts=("api.github.com",))
    policy = ComposeGenerator().policy(guarded)
    assert policy["rules_hosts"] == ["api.github.com"] and "--listen-host" in policy["mitm"]["argv"]
    assert policy["github_hosts"] == ["api.github.com"] and policy["push_branches"] == ["agent/*"]
    assert "mitm" not in ComposeGenerator().policy(options)
