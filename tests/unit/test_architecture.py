"""The shape of the code, measured as docs/ARCHITECTURE.md states it: small modules and
classes, no import cycle, and processes started only by the runtime."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SOURCE = Path(__file__).parents[2] / "src"
MAX_MODULE_LINES = 350
MAX_CLASS_LINES = 200
# The proxy's own program runs inside the proxy container, where it supervises squid.
MAY_START_PROCESSES = ("devagent.runtime", "devagent.proxy.program")


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted((SOURCE / "devagent").rglob("*.py")):
        name = ".".join(path.relative_to(SOURCE).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def imports(name: str, tree: ast.Module, known: dict[str, Path]) -> Iterator[str]:
    """The devagent modules a module imports (lazily or not): ``from pkg import module``
    imports that module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom) and node.module in known:
            inner = [f"{node.module}.{alias.name}" for alias in node.names]
            submodules = [module for module in inner if module in known]
            if len(submodules) < len(inner):
                yield node.module
            yield from submodules


def test_modules_and_classes_stay_small() -> None:
    too_big = []
    for name, path in modules().items():
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_big.append(f"{name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                length = node.end_lineno - node.lineno + 1
                if length > MAX_CLASS_LINES:
                    too_big.append(f"{name}.{node.name}: {length} lines")
    assert not too_big


def test_no_import_cycle() -> None:
    known = modules()
    graph = {
        name: set(imports(name, ast.parse(path.read_text(encoding="utf-8")), known)) - {name}
        for name, path in known.items()
    }
    done: set[str] = set()

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in trail:
            raise AssertionError("import cycle: " + " -> ".join((*trail, name)))
        if name in done:
            return
        for imported in sorted(graph[name]):
            visit(imported, (*trail, name))
        done.add(name)

    for name in sorted(graph):
        visit(name, ())


def test_only_the_runtime_starts_processes() -> None:
    starting = []
    for name, path in modules().items():
        if name.startswith(MAY_START_PROCESSES):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            named = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                named = [node.module or ""]
            if any(module in ("subprocess", "pty", "multiprocessing") for module in named):
                starting.append(name)
            if isinstance(node, ast.Attribute) and node.attr in ("system", "popen", "execvp"):
                starting.append(f"{name}: os.{node.attr}")
    assert not starting
