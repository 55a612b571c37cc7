"""The ``devagent`` command line: a thin layer that parses, calls the Manager and renders.

Subcommands are imported only when they run, so that ``devagent --help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from devagent import __version__
from devagent.cli.context import AppContext

if TYPE_CHECKING:
    from devagent.runtime.executor import Executor

# "auto" and the names in runtime.engine.ENGINES (a test holds them equal): importing the
# runtime here would slow every `--help` and every shell completion.
ENGINE_CHOICES = ("auto", "docker", "podman")

_COMMANDS = {
    "agent": "devagent.cli.agent:agent",
    "create": "devagent.cli.create:create",
    "start": "devagent.cli.start:start",
    "stop": "devagent.cli.stop:stop",
    "destroy": "devagent.cli.destroy:destroy",
    "list": "devagent.cli.listing:list_command",  # not cli/list.py: it would shadow list()
    "status": "devagent.cli.status:status",
    "verify": "devagent.cli.verify:verify",
    "allow": "devagent.cli.allow:allow",
    "deny": "devagent.cli.deny:deny",
    "allowlist": "devagent.cli.allowlist:allowlist",
    "approve": "devagent.cli.inbox:approve",
    "inbox": "devagent.cli.inbox:inbox",
    "reject": "devagent.cli.inbox:reject",
    "logs": "devagent.cli.logs:logs",
    "doctor": "devagent.cli.doctor:doctor",
    "completion": "devagent.cli.completion:completion",
    "exec": "devagent.cli.exec_cmd:exec_command",
    "shell": "devagent.cli.shell:shell",
    "claude": "devagent.cli.claude:claude",
    "sessions": "devagent.cli.sessions:sessions",
    "templates": "devagent.cli.templates_cmd:templates",
    "tui": "devagent.cli.tui:tui",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """devagent's version, then each tool it drives (probed: takes a moment)."""
    if not value or ctx.resilient_parsing:
        return
    from devagent.runtime.executor import SubprocessExecutor
    from devagent.runtime.versions import tool_versions

    injected = ctx.obj.get("executor") if isinstance(ctx.obj, dict) else None
    click.echo(f"devagent {__version__}")
    for name, version in tool_versions(injected or SubprocessExecutor()):
        click.echo(f"{name}: {version}")
    ctx.exit()


@click.group(
    cls=LazyGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show devagent's version and those of the engine, compose and devcontainer CLI.",
)
@click.option(
    "--config-dir",
    type=click.Path(file_okay=False),
    envvar="DEVAGENT_CONFIG_DIR",
    help="Directory holding config.yaml and templates/ (default: ~/.config/devagent).",
)
@click.option(
    "--runtime",
    type=click.Choice(ENGINE_CHOICES),
    default=None,
    help="Container engine to use (default: from config, else auto).",
)
@click.option("-v", "--verbose", is_flag=True, help="Stream build and tool output.")
@click.pass_context
def cli(ctx: click.Context, config_dir: str | None, runtime: str | None, verbose: bool) -> None:
    """Isolated, allowlist-filtered development containers for AI coding agents."""
    injected = ctx.obj if isinstance(ctx.obj, dict) else {}
    ctx.obj = AppContext(
        config_dir=config_dir,
        runtime_choice=runtime,
        verbose=verbose,
        executor=injected.get("executor"),
    )
    if ctx.invoked_subcommand is None:
        # Bare `devagent`: the terminal UI on a terminal, else the help.
        if sys.stdin.isatty() and sys.stdout.isatty():
            tui = LazyGroup.get_command(cli, ctx, "tui")
            assert tui is not None
            ctx.invoke(tui)
        else:
            click.echo(ctx.get_help())


def main(argv: Sequence[str] | None = None, *, executor: Executor | None = None) -> int:
    """Run the CLI; returns the exit code (1: devagent error, 3: unexpected, 130: Ctrl-C).

    ``executor`` replaces the one that runs external commands (tests inject a fake).
    """
    from devagent.cli.errors import run_guarded

    args = list(sys.argv[1:] if argv is None else argv)
    obj = {"executor": executor}
    return run_guarded(
        lambda: cli.main(args=args, prog_name="devagent", standalone_mode=False, obj=obj), args
    )
