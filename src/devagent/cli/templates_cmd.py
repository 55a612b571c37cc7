"""devagent templates: list the templates; `templates new NAME --from T` to customise one."""

from __future__ import annotations

import click
from rich.table import Table

from devagent.cli.context import AppContext
from devagent.render import print_json


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.pass_context
def templates(ctx: click.Context, as_json: bool) -> None:
    """List the templates (built-in and your own) with their descriptions."""
    if ctx.invoked_subcommand is not None:
        return
    from devagent.templates import discover

    app: AppContext = ctx.obj
    found = discover(app.paths)
    if as_json:
        print_json(
            {
                "templates": [
                    {
                        "name": t.name,
                        "description": t.manifest.description,
                        "builtin": t.builtin,
                        "directory": str(t.directory),
                        "allowlist": list(t.manifest.allowlist),
                    }
                    for t in found
                ]
            }
        )
        return
    table = Table(box=None, header_style="bold")
    for column in ("NAME", "DESCRIPTION", "WHERE"):
        table.add_column(column)
    for template in found:
        where = "built-in" if template.builtin else str(template.directory)
        table.add_row(template.name, template.manifest.description, where)
    app.console.print(table)


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
