"""Where devagent reads its config and keeps per-project state (XDG via platformdirs)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

ENV_CONFIG_DIR = "DEVAGENT_CONFIG_DIR"
ENV_DATA_DIR = "DEVAGENT_DATA_DIR"
ENV_STATE_DIR = "DEVAGENT_STATE_DIR"


@dataclass(frozen=True)
class Paths:
    """Where devagent reads its config and keeps per-project state."""

    config_dir: Path
    data_dir: Path
    state_dir: Path

    @classmethod
    def discover(cls, config_dir: Path | None = None) -> Paths:
        env = os.environ
        return cls(
            config_dir=Path(
                config_dir or env.get(ENV_CONFIG_DIR) or platformdirs.user_config_dir("devagent")
            ),
            data_dir=Path(env.get(ENV_DATA_DIR) or platformdirs.user_data_dir("devagent")),
            state_dir=Path(env.get(ENV_STATE_DIR) or platformdirs.user_state_dir("devagent")),
        )

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.yaml"

    @property
    def user_templates_dir(self) -> Path:
        return self.config_dir / "templates"

    def claude_config_dir(self, project_hash: str) -> Path:
        return self.data_dir / "claude-configs" / project_hash

    def proxy_certs_dir(self, project_hash: str) -> Path:
        return self.data_dir / "proxy-certs" / project_hash

    def project_allowlist_file(self, project_hash: str) -> Path:
        """Entries added with ``create --allow``, kept so that a re-create keeps them."""
        return self.data_dir / "allowlists" / f"{project_hash}.json"

    def secrets_dir(self, project_hash: str) -> Path:
        """Copies of the credential files, mounted read-only into the proxy alone."""
        return self.data_dir / "secrets" / project_hash

    def generated_record_file(self, project_hash: str) -> Path:
        """Digests of the files devagent generated, kept where the agent cannot write."""
        return self.data_dir / "generated" / f"{project_hash}.json"

    def git_record_file(self, project_hash: str) -> Path:
        """Digests of the project's git metadata at create (see devagent.manager.gitguard)."""
        return self.data_dir / "generated" / f"{project_hash}.git.json"

    def project_record_file(self, project_hash: str) -> Path:
        """Which folder the project's state belongs to (for finding state of no project)."""
        return self.data_dir / "projects" / project_hash

    @property
    def worktrees_dir(self) -> Path:
        """Agents' worktrees: ``<project hash>/<agent name>`` under it."""
        return self.data_dir / "worktrees"

    def agents_file(self, project_hash: str) -> Path:
        """A project's agents: their names and branches."""
        return self.data_dir / "agents" / f"{project_hash}.json"

    def proxy_logs_dir(self, project_hash: str) -> Path:
        return self.data_dir / "proxy-logs" / project_hash

    @property
    def log_file(self) -> Path:
        return self.state_dir / "devagent.log"
