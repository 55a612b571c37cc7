"""DevcontainerGenerator: devcontainer.json, the app's Dockerfile and its home/ files."""

from __future__ import annotations

import json
from typing import Any

from devagent.generate.files import GeneratedFiles
from devagent.generate.layout import (
    EXTRA_CA_FILE,
    EXTRA_CA_IN_IMAGE,
    PROXY_CA_FILE,
)
from devagent.generate.options import EnvironmentOptions
from devagent.runtime.engine import ENGINES


class DevcontainerGenerator:
    """devcontainer.json, the app Dockerfile (template + proxy CA trust) and home/ files."""

    def generate(self, options: EnvironmentOptions) -> GeneratedFiles:
        files = {
            "devcontainer.json": self.devcontainer_json(options),
            "Dockerfile": self.app_dockerfile(options).encode(),
            PROXY_CA_FILE: options.proxy_ca_cert,
        }
        if options.extra_ca_certificates:
            files[EXTRA_CA_FILE] = options.extra_ca_certificates
        for relative, content in options.template.home_files().items():
            files[f"home/{relative}"] = content
        if not any(name.startswith("home/") for name in files):
            files["home/.keep"] = b""  # the template's `COPY home/` needs the directory
        return GeneratedFiles(files)

    def devcontainer_json(self, options: EnvironmentOptions) -> bytes:
        manifest = options.template.manifest
        document: dict[str, Any] = {
            "name": f"devagent: {options.project.name}",
            "dockerComposeFile": "docker-compose.yml",
            "service": "app",
            "workspaceFolder": options.project.workspace_folder,
            "remoteUser": options.remote_user,
        }
        if ENGINES[options.engine].maps_user_ids:
            # Podman maps the host user with keep-id instead. Seen with CLI 0.89.0 on Podman
            # 4.3: the CLI's UID-update build works (cli #863 does not bite this version), but
            # it then moves the container user off the keep-id uid and the agent can no
            # longer write the workspace.
            document["updateRemoteUserUID"] = False
        if manifest.post_create_command:
            document["postCreateCommand"] = manifest.post_create_command
        if manifest.customizations:
            document["customizations"] = manifest.customizations
        return (json.dumps(document, indent=2) + "\n").encode()

    def app_dockerfile(self, options: EnvironmentOptions) -> str:
        # Baking the CA into the image makes every TLS client trust the proxy from the first
        # process on, without giving the container user any way to change the trust store.
        trust = [
            "",
            "# --- added by devagent: trust this project's proxy CA ---",
            "USER root",
            f"COPY {PROXY_CA_FILE} /usr/local/share/ca-certificates/{PROXY_CA_FILE}",
            "RUN update-ca-certificates",
            f"USER {options.remote_user}",
            "",
        ]
        dockerfile = options.template.dockerfile.rstrip("\n")
        if options.extra_ca_certificates:
            dockerfile = _trust_during_build(dockerfile)
        return dockerfile + "\n" + "\n".join(trust)


def _trust_during_build(dockerfile: str) -> str:
    """Trust the configured extra CAs from the first build step on (after each FROM).

    Behind a TLS-inspecting proxy, the template's downloads (npm, pip, uv, go) verify
    against these; `update-ca-certificates`, run when the template installs
    ca-certificates, puts them into the system bundle too. Verification stays on.
    """
    steps = [
        "# --- added by devagent: trust the configured extra CA certificates while building ---",
        f"COPY {EXTRA_CA_FILE} {EXTRA_CA_IN_IMAGE}",
        f"ENV NODE_EXTRA_CA_CERTS={EXTRA_CA_IN_IMAGE} \\",
        "    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \\",
        "    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \\",
        "    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \\",
        "    UV_NATIVE_TLS=1",
        # A base that already has ca-certificates will not run it again by itself.
        "RUN if command -v update-ca-certificates >/dev/null; then update-ca-certificates; fi",
    ]
    lines: list[str] = []
    for line in dockerfile.splitlines():
        lines.append(line)
        if line.strip().upper().startswith("FROM "):
            lines += steps
    return "\n".join(lines)
