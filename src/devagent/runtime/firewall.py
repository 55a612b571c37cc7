"""Docker's firewall as it affects rootful Podman's bridges on the same host.

Docker sets the iptables FORWARD policy to DROP and, with br_netfilter loaded, that also
drops traffic *inside* a Podman bridge: the app can no longer reach its proxy. Rootless
Podman is not affected (its bridges live in the user's own network namespace).
"""

from __future__ import annotations

from dataclasses import dataclass


def forward_rules_argv() -> list[str]:
    return ["iptables", "-S", "FORWARD"]


def docker_user_rules_argv() -> list[str]:
    return ["iptables", "-S", "DOCKER-USER"]


def accept_rule(bridge: str) -> list[str]:
    """The rule that lets traffic stay inside one bridge (and nothing else through)."""
    return ["iptables", "-I", "DOCKER-USER", "-i", bridge, "-o", bridge, "-j", "ACCEPT"]


@dataclass(frozen=True)
class ForwardState:
    policy_drop: bool
    docker_user_chain: bool

    @property
    def docker_blocks_bridges(self) -> bool:
        return self.policy_drop and self.docker_user_chain


def parse_forward(rules: str) -> ForwardState:
    lines = [line.split() for line in rules.splitlines()]
    return ForwardState(
        policy_drop=["-P", "FORWARD", "DROP"] in lines,
        docker_user_chain=any(line[-2:] == ["-j", "DOCKER-USER"] for line in lines if line),
    )


def bridge_allowed(docker_user_rules: str, bridge: str) -> bool:
    wanted = " ".join(accept_rule(bridge)[3:])  # "-i B -o B -j ACCEPT"
    return any(wanted in line for line in docker_user_rules.splitlines())
