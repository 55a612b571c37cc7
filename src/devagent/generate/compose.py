"""ComposeGenerator: the compose file, the proxy's Dockerfile and its filter, from data."""

from __future__ import annotations

from typing import Any

import yaml

from devagent.generate import proxy
from devagent.generate.files import GeneratedFiles
from devagent.generate.layout import (
    ALLOWLIST_FILE,
    APP_HOSTNAME,
    CERTS_IN_PROXY,
    CREDENTIALS_IN_PROXY,
    EXTRA_CA_FILE,
    HOSTS,
    LIB_IN_PROXY,
    LOGS_IN_PROXY,
    NO_PROXY,
    POLICY_IN_PROXY,
    PROXY_CA_IN_APP,
    PROXY_HOST,
    PROXY_PORT,
    RESOLV_CONF,
    SYSTEM_CA_BUNDLE,
)
from devagent.generate.network import (
    NETGUARD_DOCKERFILE,
    NO_DNS,
    git_mounts,
    hosts_file,
    netguard_script,
)
from devagent.generate.options import EnvironmentOptions
from devagent.generate.proxy import allowlist_document as allowlist_document
from devagent.project import (
    DEVCONTAINER_DIR,
    LABEL_MANAGED,
    LABEL_PROJECT_HASH,
    LABEL_PROJECT_PATH,
    LABEL_SIDECAR_OF,
    LABEL_SIDECAR_TYPE,
    LABEL_TEMPLATE,
)
from devagent.proxy.bundle import proxy_files
from devagent.runtime.engine import ENGINES


class ComposeGenerator:
    """Turns EnvironmentOptions into docker-compose.yml, Dockerfile.proxy and filter.py."""

    def generate(self, options: EnvironmentOptions) -> GeneratedFiles:
        files = {
            "docker-compose.yml": dump_yaml(self.compose_document(options)),
            "Dockerfile.proxy": proxy.dockerfile(options).encode(),
            "Dockerfile.netguard": NETGUARD_DOCKERFILE.encode(),
            **proxy_files(proxy.policy(options), proxy.squid_settings(options), LIB_IN_PROXY),
            ALLOWLIST_FILE: proxy.allowlist_document(options.allowlist),
            RESOLV_CONF: NO_DNS.encode(),
            HOSTS: hosts_file(options.proxy_ip).encode(),
            # Compose reads the project name from here, so the directory alone reproduces it.
            ".env": f"COMPOSE_PROJECT_NAME={options.project.compose_project}\n".encode(),
        }
        if options.extra_ca_certificates:
            files[EXTRA_CA_FILE] = options.extra_ca_certificates
        return GeneratedFiles(files)

    @staticmethod
    def policy(options: EnvironmentOptions) -> dict[str, Any]:
        return proxy.policy(options)

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
        if ENGINES[options.engine].isolates_networks:
            # netavark: no traffic between this project's networks and any other's.
            for network in document["networks"].values():
                network["driver_opts"] = {"isolate": "true"}
        return document

    def app_service(self, options: EnvironmentOptions) -> dict[str, Any]:
        project, limits = options.project, options.resources
        service: dict[str, Any] = {
            "build": {"context": ".", "dockerfile": "Dockerfile"},
            "image": f"{project.app_container}:latest",
            "container_name": project.app_container,
            "command": ["sleep", "infinity"],
            "init": True,
            "depends_on": {"proxy": {"condition": "service_healthy"}},
            "environment": _app_environment(options),
            "volumes": [
                f"..:{project.workspace_folder}",
                # Read-only over the writable workspace: the agent cannot rewrite the files
                # that define its own sandbox (they would apply at the next rebuild).
                f".:{project.workspace_folder}/{DEVCONTAINER_DIR}:ro",
                f"{options.claude_config_dir}:{options.remote_home}/.claude",
                f"{options.proxy_certs_dir}/mitmproxy-ca-cert.pem:{PROXY_CA_IN_APP}:ro",
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
                *(
                    [f"{options.secrets_dir}:{CREDENTIALS_IN_PROXY}:ro"]
                    if options.secrets_dir
                    else []
                ),
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


class _Dumper(yaml.SafeDumper):
    """Block style everywhere, and lists indented under their key (easier to read)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def dump_yaml(document: dict[str, Any]) -> bytes:
    text = yaml.dump(document, Dumper=_Dumper, sort_keys=False, default_flow_style=False)
    return (
        "# Generated by devagent. Edit the template or config, then re-run create.\n" + text
    ).encode()


def _app_environment(options: EnvironmentOptions) -> dict[str, str]:
    """The proxy for every client, the trust store, and placeholders for credentials."""
    proxy = options.proxy_url
    return {
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
        # Placeholders: the proxy puts the real credentials on the wire.
        **options.credential_environment,
    }
