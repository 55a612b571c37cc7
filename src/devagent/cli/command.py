"""How a CLI command is declared: the shared arguments (a project's PATH or container name,
``--json``) once, and one way from a result to the screen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from devagent.cli.context import AppContext
from devagent.project import Project
from devagent.render import Result, print_json, show

TARGET_METAVAR = "[PATH|CONTAINER]"
# Every command about one project can act on one of its agents instead.
agent_option = click.option(
    "--agent", "agent", metavar="NAME", help="Act on the project's agent NAME (its sandbox)."
)
F = TypeVar("F", bound=Callable[..., Any])


def output(app: AppContext, result: Result | None, *, as_json: bool) -> int:
    """Print a result (human or JSON); its exit code: 1 when it reports a failure.

    None: the command printed as it went (``logs --follow``, ``--print``)."""
    if result is None:
        return 0
    if as_json:
        print_json(result.to_json())
    else:
        show(app.console, result)
    return 0 if getattr(result, "ok", True) else 1


def _adopt(wrapper: F, body: Callable[..., Any]) -> F:
    """``wrapper`` takes the name, help and click parameters declared on ``body``."""
    wrapper.__name__ = body.__name__
    wrapper.__doc__ = body.__doc__
    params = getattr(body, "__click_params__", None)
    if params is not None:
        wrapper.__click_params__ = list(params)  # type: ignore[attr-defined]
    return wrapper


def result_command(
    name: str | None = None, *, json_help: str = "Print the result as JSON."
) -> Callable[[Callable[..., Result | None]], click.Command]:
    """A command whose body returns a result; ``--json`` picks how it is printed."""

    def declare(body: Callable[..., Result | None]) -> click.Command:
        def command(app: AppContext, as_json: bool, **options: Any) -> int:
            return output(app, body(app, **options), as_json=as_json)

        adopted = _adopt(command, body)
        # First in the list that click reverses: --json comes last in the help.
        params = adopted.__dict__.setdefault("__click_params__", [])
        params.insert(0, click.Option(["--json", "as_json"], is_flag=True, help=json_help))
        return click.command(name)(click.pass_obj(adopted))

    return declare


def project_command(
    name: str | None = None, *, json_help: str = "Print the result as JSON."
) -> Callable[[Callable[..., Result | None]], click.Command]:
    """A result command about one project, named by its path (default: the current
    directory) or a container name."""

    def declare(body: Callable[..., Result | None]) -> click.Command:
        def with_project(
            app: AppContext, target: str | None, agent: str | None, **options: Any
        ) -> Result | None:
            project: Project = app.manager.resolve(target, agent)
            return body(app, project, **options)

        target = click.argument("target", required=False, metavar=TARGET_METAVAR)
        adopted = agent_option(target(_adopt(with_project, body)))
        return result_command(name, json_help=json_help)(adopted)

    return declare
