"""The engine's shape: no import circle among its modules, and no module too long to read in a sitting.

Every import counts, wherever it is written: at the top, inside a function (a circle held apart by
a late import is still a circle), under `if TYPE_CHECKING:`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import ROOT

ENGINE = ROOT / "engine"
MAX_LINES = 400

Graph = dict[str, set[str]]


def module_name(file: Path, root: Path = ROOT) -> str:
    """engine/pages.py -> engine.pages; engine/__init__.py -> engine."""
    parts = list(file.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(file: Path, modules: set[str], root: Path = ROOT) -> set[str]:
    """The modules of `modules` that the file imports, anywhere in it."""
    name = module_name(file, root)
    package = name if file.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"), str(file))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            # `from . import x` and `from engine import x` import the module x when there is one.
            targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source
                       for alias in node.names]
        else:
            continue
        found.update(target for target in targets if target in modules and target != name)
    return found


def import_graph(folder: Path = ENGINE, root: Path = ROOT) -> Graph:
    """module -> the modules of the same package it imports."""
    files = sorted(folder.rglob("*.py"))
    modules = {module_name(file, root) for file in files}
    return {module_name(file, root): imported_modules(file, modules, root) for file in files}


def find_circle(graph: Graph) -> list[str] | None:
    """One import circle as [a, b, ..., a], or None when the graph has none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (circle := visit(target)) is not None:
                return circle
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (circle := visit(module)) is not None:
            return circle
    return None


def test_the_engine_has_no_import_circle() -> None:
    graph = import_graph()
    assert "engine.pool" in graph["engine.pages"], "the import graph was not read"
    circle = find_circle(graph)
    assert circle is None, "import circle: " + " -> ".join(circle or [])


@pytest.mark.parametrize("file", sorted(ENGINE.rglob("*.py")), ids=lambda file: file.name)
def test_no_engine_module_is_over_400_lines(file: Path) -> None:
    lines = len(file.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{file.relative_to(ROOT)} has {lines} lines: split it by noun"


def test_imports_inside_functions_and_under_type_checking_count(tmp_path: Path) -> None:
    """The reader itself, on a made-up package whose circle only late and type-only imports close."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("from .a import run\n", encoding="utf-8")
    (package / "a.py").write_text("from . import b\n\ndef run() -> None:\n    b.go()\n", encoding="utf-8")
    (package / "b.py").write_text("def go() -> None:\n    from .c import helper\n    helper()\n", encoding="utf-8")
    (package / "c.py").write_text("from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from pkg.a import run\n\n"
                                  "def helper() -> None:\n    pass\n", encoding="utf-8")
    graph = import_graph(package, tmp_path)
    assert graph == {"pkg": {"pkg.a"}, "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.c"}, "pkg.c": {"pkg.a"}}
    assert find_circle(graph) == ["pkg.a", "pkg.b", "pkg.c", "pkg.a"]
    assert find_circle({"pkg.a": {"pkg.b"}, "pkg.b": set()}) is None
