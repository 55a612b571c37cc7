"""devagent templates: list the templates; `templates new NAME --from T` to customise one."""

from __future__ import annotations

import click

from devagent.cli.command import output
from devagent.cli.context import AppContext


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.pass_context
def templates(ctx: click.Context, as_json: bool) -> int:
    """List the templates (built-in and your own) with their descriptions."""
    if ctx.invoked_subcommand is not None:
        return 0
    app: AppContext = ctx.obj
    return output(app, app.manager.templates_report(), as_json=as_json)


@templates.command("new")
@click.argument("name")
@click.option("--from", "source", default="basic", show_default=True, help="Template to copy.")
@click.pass_obj
def new(app: AppContext, name: str, source: str) -> None:
    """Copy a template into your template directory as NAME, to edit."""
    from devagent.templates import copy_template

    target = copy_template(source, name, app.paths)
    app.console.print(f"Created {target}: edit its Dockerfile and template.yaml, then")
    app.console.print(f"  devagent create --template {name} PATH", highlight=False)
