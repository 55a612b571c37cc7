"""ComposeGenerator: the compose file, the proxy's Dockerfile and its filter, from data."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from devagent.generate.options import EXTRA_CA_FILE, PROXY_HOST, PROXY_PORT, EnvironmentOptions
from devagent.project import (
    DEVCONTAINER_DIR,
    LABEL_MANAGED,
    LABEL_PROJECT_HASH,
    LABEL_PROJECT_PATH,
    LABEL_SIDECAR_OF,
    LABEL_SIDECAR_TYPE,
    LABEL_TEMPLATE,
)
from devagent.proxy.bundle import ERRORS_DIR, LIB_DIR, proxy_files
from devagent.proxy.decision import NEVER_NETWORKS, PRIVATE_NETWORKS
from devagent.proxy.program import LOGD_NAME
from devagent.proxy.squid_config import SquidSettings

MITMPROXY_IMAGE = "mitmproxy/mitmproxy:11.0.2"
SECRETS_IN_APP = "/run/secrets/devagent"
PROXY_CA_IN_APP = "/etc/devagent/proxy-ca.crt"
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
CERTS_IN_PROXY = "/var/lib/devagent/certs"
LOGS_IN_PROXY = "/var/log/devagent"
FILTER_IN_PROXY = "/opt/devagent/filter.py"
LIB_IN_PROXY = "/opt/devagent/lib"
SQUID_CONF_IN_PROXY = "/opt/devagent/squid.conf"
ERRORS_IN_PROXY = "/opt/devagent/errors"
RUNTIME_IN_PROXY = "/tmp/devagent"  # noqa: S108 - the proxy container's private tmpfs
RULES_PORT = 8081  # mitmproxy, on the proxy's loopback only
# The allowlist, apart from the filter so that `devagent allow` changes it in place.
ALLOWLIST_FILE = "policy/allowlist.json"
POLICY_IN_PROXY = "/etc/devagent/policy"
UPSTREAM_CA_IN_PROXY = "/opt/devagent/upstream-ca.pem"
NO_PROXY = "localhost,127.0.0.1,::1"


@dataclass(frozen=True)
class ComposeResult:
    """Generated files, by name relative to ``.devcontainer/``."""

    files: dict[str, bytes] = field(default_factory=dict)


class ComposeGenerator:
    """Turns EnvironmentOptions into docker-compose.yml, Dockerfile.proxy and filter.py."""

    def generate(self, options: EnvironmentOptions) -> ComposeResult:
        files = {
            "docker-compose.yml": dump_yaml(self.compose_document(options)),
            "Dockerfile.proxy": self.proxy_dockerfile(options).encode(),
            "Dockerfile.netguard": NETGUARD_DOCKERFILE.encode(),
            **proxy_files(self.policy(options), self.squid_settings(options), LIB_IN_PROXY),
            ALLOWLIST_FILE: allowlist_document(options.allowlist),
            RESOLV_CONF: NO_DNS.encode(),
            HOSTS: hosts_file(options.proxy_ip).encode(),
            # Compose reads the project name from here, so the directory alone reproduces it.
            ".env": f"COMPOSE_PROJECT_NAME={options.project.compose_project}\n".encode(),
        }
        if options.extra_ca_certificates:
            files[EXTRA_CA_FILE] = options.extra_ca_certificates
        return ComposeResult(files)

    def policy(self, options: EnvironmentOptions) -> dict[str, Any]:
        rules_hosts = list(options.merge_guarded_hosts)
        policy: dict[str, Any] = {
            "allowlist_path": f"{POLICY_IN_PROXY}/{ALLOWLIST_FILE.rsplit('/', 1)[-1]}",
            "log_dir": LOGS_IN_PROXY,
            # Names the project by its app container: the app never sees a host path.
            "allow_command": "devagent allow {host} " + options.project.app_container,
            "rules_hosts": rules_hosts,
            "runtime_dir": RUNTIME_IN_PROXY,
            "squid_conf": SQUID_CONF_IN_PROXY,
            # Where names may lead (squid.conf says the same, from the same data).
            "never_networks": list(NEVER_NETWORKS),
            "private_networks": list(PRIVATE_NETWORKS),
        }
        if rules_hosts:
            argv = mitm_command(upstream_ca=bool(options.extra_ca_certificates))
            policy["mitm"] = {"argv": argv, "port": RULES_PORT}
        return policy

    def squid_settings(self, options: EnvironmentOptions) -> SquidSettings:
        return SquidSettings(
            port=PROXY_PORT,
            ca_file=f"{CERTS_IN_PROXY}/mitmproxy-ca.pem",
            program=FILTER_IN_PROXY,
            python="/usr/bin/env python3",
            logd=f"/opt/devagent/{LOGD_NAME}",
            log_dir=LOGS_IN_PROXY,
            runtime_dir=RUNTIME_IN_PROXY,
            error_dir=ERRORS_IN_PROXY,
            upstream_ca_file=UPSTREAM_CA_IN_PROXY if options.extra_ca_certificates else None,
            rules_port=RULES_PORT if options.merge_guarded_hosts else None,
        )

    def compose_document(self, options: EnvironmentOptions) -> dict[str, Any]:
        project = options.project
        document: dict[str, Any] = {
            # podman-compose would put both services in one pod by default: no pods, so each
            # container keeps its own namespaces (and the app may have its own userns).
            "x-podman": {"in_pod": False},
            "services": {
                "app": self.app_service(options),
                "proxy": self.proxy_service(options),
                "netguard": self.netguard_service(options),
            },
            "networks": {
                "internal": {
                    "name": project.internal_network,
                    "internal": True,
                    "ipam": {"config": [{"subnet": str(options.internal_subnet)}]},
                    # aardvark-dns would answer external names here (exfiltration by DNS).
                    "x-podman.disable_dns": True,
                    "labels": {LABEL_MANAGED: "true", LABEL_SIDECAR_OF: project.hash},
                },
                "egress": {
                    "name": project.egress_network,
                    "labels": {LABEL_MANAGED: "true", LABEL_SIDECAR_OF: project.hash},
                },
            },
        }
        if options.engine == "podman":
            # netavark: no traffic between this project's networks and any other's.
            for network in document["networks"].values():
                network["driver_opts"] = {"isolate": "true"}
        return document

    def app_service(self, options: EnvironmentOptions) -> dict[str, Any]:
        project, limits = options.project, options.resources
        proxy = options.proxy_url
        service: dict[str, Any] = {
            "build": {"context": ".", "dockerfile": "Dockerfile"},
            "image": f"{project.app_container}:latest",
            "container_name": project.app_container,
            "command": ["sleep", "infinity"],
            "init": True,
            "depends_on": {"proxy": {"condition": "service_healthy"}},
            "environment": {
                "HTTP_PROXY": proxy,
                "HTTPS_PROXY": proxy,
                "http_proxy": proxy,
                "https_proxy": proxy,
                "NO_PROXY": NO_PROXY,
                "no_proxy": NO_PROXY,
                "SSL_CERT_FILE": SYSTEM_CA_BUNDLE,
                "REQUESTS_CA_BUNDLE": SYSTEM_CA_BUNDLE,
                "GIT_SSL_CAINFO": SYSTEM_CA_BUNDLE,
                "NODE_EXTRA_CA_CERTS": PROXY_CA_IN_APP,
                "NODE_USE_ENV_PROXY": "1",
                "CLAUDE_CONFIG_DIR": f"{options.remote_home}/.claude",
            },
            "volumes": [
                f"..:{project.workspace_folder}",
                # Read-only over the writable workspace: the agent cannot rewrite the files
                # that define its own sandbox (they would apply at the next rebuild).
                f".:{project.workspace_folder}/{DEVCONTAINER_DIR}:ro",
                f"{options.claude_config_dir}:{options.remote_home}/.claude",
                f"{options.proxy_certs_dir}/mitmproxy-ca-cert.pem:{PROXY_CA_IN_APP}:ro",
                *(f"{path}:{SECRETS_IN_APP}/{name}:ro" for name, path in options.secrets),
                f"./{RESOLV_CONF}:/etc/resolv.conf:ro",
                f"./{HOSTS}:/etc/hosts:ro",
                *git_mounts(project.workspace_folder, options.git_metadata),
            ],
            "networks": ["internal"],
            # The proxy is found through /etc/hosts, devagent's own (no host.containers.internal
            # or host.docker.internal that an engine would add); no other name resolves (no
            # DNS to exfiltrate through, whatever the engine's DNS does on internal networks).
            # The app's resolv.conf names a resolver that is not there, so a lookup fails at
            # once: the engine's own resolver on an internal network let each one wait 20 s.
            "hostname": APP_HOSTNAME,
            "dns": ["127.0.0.1"],
            # No IPv6 at all: link-local addresses would reach the bridge and its neighbours.
            "sysctls": {
                "net.ipv6.conf.all.disable_ipv6": 1,
                "net.ipv6.conf.default.disable_ipv6": 1,
            },
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges:true"],
            "mem_limit": limits.memory,
            "cpus": limits.cpus,
            "pids_limit": limits.pids,
            "labels": {
                LABEL_MANAGED: "true",
                LABEL_PROJECT_PATH: str(project.path),
                LABEL_PROJECT_HASH: project.hash,
                LABEL_TEMPLATE: options.template.name,
            },
        }
        if options.rootless:
            # Map the host user onto the container user, so that what the agent writes in
            # the workspace belongs to the user on the host.
            uid = options.template.manifest.remote_uid
            service["userns_mode"] = f"keep-id:uid={uid},gid={uid}"
        return service

    def proxy_service(self, options: EnvironmentOptions) -> dict[str, Any]:
        project = options.project
        service: dict[str, Any] = {
            "build": {"context": ".", "dockerfile": "Dockerfile.proxy"},
            "image": f"{project.proxy_container}:latest",
            "container_name": project.proxy_container,
            "user": options.proxy_user,
            # Inside, devagent's supervisor restarts squid and mitmproxy; the engine restarts
            # the container too, but for rootless Podman: 4.3 deadlocks restarting a
            # container with a user namespace of its own (keep-id), hanging every podman
            # command of the user.
            "restart": "no" if options.rootless else "unless-stopped",
            "volumes": [
                # The directory, not the file: an atomic replace must show through.
                f"./{ALLOWLIST_FILE.rsplit('/', 1)[0]}:{POLICY_IN_PROXY}:ro",
                f"{options.proxy_certs_dir}:{CERTS_IN_PROXY}",
                f"{options.proxy_logs_dir}:{LOGS_IN_PROXY}",
            ],
            "networks": {
                "internal": {"ipv4_address": options.proxy_ip, "aliases": [PROXY_HOST]},
                "egress": {},
            },
            "healthcheck": {
                # bash's /dev/tcp: a real connect to the listener at a fraction of python's cost.
                "test": ["CMD", "bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{PROXY_PORT}"],
                "interval": "2s",
                "timeout": "5s",
                "retries": 30,
            },
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges:true"],
            "read_only": True,
            "tmpfs": ["/tmp:size=64m"],  # noqa: S108 - a private tmpfs inside the proxy
            "mem_limit": options.proxy_limits.memory,
            "cpus": options.proxy_limits.cpus,
            "pids_limit": options.proxy_limits.pids,
            "environment": {"HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1"},  # noqa: S108
            "labels": {
                LABEL_MANAGED: "true",
                LABEL_PROJECT_PATH: str(project.path),
                LABEL_SIDECAR_OF: project.hash,
                LABEL_SIDECAR_TYPE: "proxy",
            },
        }
        if options.rootless:
            # The user's own id inside too: the proxy writes the user's log directory.
            service["userns_mode"] = "keep-id"
        return service

    def netguard_service(self, options: EnvironmentOptions) -> dict[str, Any]:
        """A one-shot step in the app's network namespace: the proxy becomes its only route.

        An internal network still gives the app a default route and the host's address on
        the bridge; only the host's firewall stood in the way. The app itself never gets
        NET_ADMIN, so it cannot put a route back.
        """
        project = options.project
        return {
            "build": {"context": ".", "dockerfile": "Dockerfile.netguard"},
            "image": f"{project.netguard_container}:latest",
            "container_name": project.netguard_container,
            "network_mode": "service:app",
            "depends_on": ["app"],
            "command": ["sh", "-c", netguard_script(options.proxy_ip)],
            "cap_drop": ["ALL"],
            "cap_add": ["NET_ADMIN"],
            "security_opt": ["no-new-privileges:true"],
            "restart": "no",
            "labels": {
                LABEL_MANAGED: "true",
                LABEL_PROJECT_PATH: str(project.path),
                LABEL_SIDECAR_OF: project.hash,
                LABEL_SIDECAR_TYPE: "netguard",
            },
        }

    def proxy_dockerfile(self, options: EnvironmentOptions) -> str:
        lines = [
            "# Generated by devagent: the allowlist proxy sidecar (squid, devagent's helpers,",
            "# and mitmproxy for the hosts whose rules read bodies).",
            f"FROM {MITMPROXY_IMAGE}",
            # The same first steps for every project: one cached layer shared by all of them.
            "RUN printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d"
            " && chmod 755 /usr/sbin/policy-rc.d && apt-get update"
            " && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends"
            " squid-openssl && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d"
            f" && mkdir -p {ERRORS_IN_PROXY}"
            f" && cp -r /usr/share/squid/errors/templates/. {ERRORS_IN_PROXY}/",
        ]
        if options.extra_ca_certificates:
            # The servers' trust: the system's bundle and the extras (squid and mitmproxy).
            lines += [
                f"COPY {EXTRA_CA_FILE} /opt/devagent/{EXTRA_CA_FILE}",
                f"RUN cat {SYSTEM_CA_BUNDLE} /opt/devagent/{EXTRA_CA_FILE}"
                f" > {UPSTREAM_CA_IN_PROXY}",
            ]
        lines += [
            f"COPY {LIB_DIR}/ {LIB_IN_PROXY}/",
            f"COPY {ERRORS_DIR}/ {ERRORS_IN_PROXY}/",
            "COPY filter.py squid.conf /opt/devagent/",
            f"RUN chmod 755 {FILTER_IN_PROXY} && ln -s filter.py /opt/devagent/{LOGD_NAME}",
            f"EXPOSE {PROXY_PORT}",
            f'ENTRYPOINT ["python3", "{FILTER_IN_PROXY}", "run"]',
            "",
        ]
        return "\n".join(lines)


def mitm_command(*, upstream_ca: bool) -> list[str]:
    """mitmproxy's command line, for the hosts whose rules read bodies (on loopback)."""
    command = [
        "python3", FILTER_IN_PROXY, "mitm",
        "--listen-host", "127.0.0.1",
        "--listen-port", str(RULES_PORT),
        "--set", f"confdir={CERTS_IN_PROXY}",
        "--set", "connection_strategy=lazy",
        "--set", "termlog_verbosity=warn",
    ]  # fmt: skip
    if upstream_ca:
        command += ["--set", f"ssl_verify_upstream_trusted_ca={UPSTREAM_CA_IN_PROXY}"]
    return command


HOSTS = "hosts"
APP_HOSTNAME = "devagent"


def hosts_file(proxy_ip: str) -> str:
    """The app's /etc/hosts: itself and its proxy, nothing of the host's."""
    return (
        "# Generated by devagent: the app knows its proxy by name, and no other machine.\n"
        f"127.0.0.1\tlocalhost {APP_HOSTNAME}\n"
        f"{proxy_ip}\t{PROXY_HOST}\n"
    )


def git_mounts(workspace: str, guarded: tuple[str, ...]) -> list[str]:
    """.git as a mount point of its own (it cannot be renamed or replaced), and its
    ``guarded`` parts read-only over it (see ``devagent.manager.gitguard``)."""
    if not guarded:
        return []
    return [f"../.git:{workspace}/.git", *(f"../.git/{n}:{workspace}/.git/{n}:ro" for n in guarded)]


RESOLV_CONF = "resolv.conf"
NO_DNS = """\
# Generated by devagent: the app has no DNS. Its one name, the proxy, is in /etc/hosts;
# nothing answers at this address, so any other lookup fails at once.
nameserver 127.0.0.1
options ndots:0 attempts:1 timeout:1
"""

NETGUARD_DOCKERFILE = """\
# Generated by devagent: the tools of the one-shot step that restricts the app's routes.
FROM debian:bookworm-slim
RUN apt-get update \\
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends iproute2 \\
    && rm -rf /var/lib/apt/lists/*
"""


def allowlist_document(entries: tuple[str, ...] | list[str]) -> bytes:
    """The proxy's allowlist file: canonical entries, sorted (identical bytes per list)."""
    return (json.dumps({"allowlist": sorted(entries)}, indent=2) + "\n").encode()


def netguard_script(proxy_ip: str) -> str:
    """Shell for the netguard step ("$$" is compose's escape for a literal "$")."""
    return (
        "set -eu; "
        f"dev=$$(ip -o route get {proxy_ip} | sed -n 's/.* dev \\([^ ]*\\).*/\\1/p'); "
        "ip route flush table main; "
        f'ip route add {proxy_ip}/32 dev "$$dev"; '
        "ip -6 route flush table main 2>/dev/null || true; "
        "ip route"
    )


class _Dumper(yaml.SafeDumper):
    """Block style everywhere, and lists indented under their key (easier to read)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def dump_yaml(document: dict[str, Any]) -> bytes:
    text = yaml.dump(document, Dumper=_Dumper, sort_keys=False, default_flow_style=False)
    return (
        "# Generated by devagent. Edit the template or config, then re-run create.\n" + text
    ).encode()
