"""The package's import graph has no cycles, and the local runner's layers import downward only.

Imports are read from the source with `ast`, wherever they are written: at module level, inside
functions (the lazy imports of optional extras) and under `TYPE_CHECKING` (a type-only import is
still a dependency a reader must follow). An edge goes to the module named, not to the packages
above it: Python runs those `__init__`s too, but they only re-export, and counting them would
report every package as a cycle with its own modules.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

import argoscope

PACKAGE_ROOT = Path(argoscope.__file__).parent

# The local runner, bottom to top (see docs/architecture.md): a module may import modules of its
# own layer or below, never above. Modules not named here are held only to "no cycles".
RUNNER_LAYERS: list[set[str]] = [
    {"status", "process", "params", "paths", "expr", "depends", "manifest", "runs", "progress"},
    {"graph"},
    {"retry", "tasks", "dag", "pods"},
    {"executor"},
    {"runner"},
    {"cli"},
]


def module_names(root: Path) -> dict[str, Path]:
    """Every module of the package at `root`, by dotted name (a package by its own name)."""
    names: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The longest known module `name` starts with (an imported function names its module)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules that `module` imports anywhere in its source."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            # `from pkg import mod` imports the module `pkg.mod`; `from mod import name`, `mod`.
            targets = [f"{source}.{alias.name}" for alias in node.names]
        for target in targets:
            resolved = _resolve(target, known)
            if resolved is not None and resolved != module:
                found.add(resolved)
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports."""
    known = module_names(root)
    return {name: imports_of(name, path, known) for name, path in known.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (first module repeated at the end), or None when the graph is acyclic."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        return list(error.args[1])
    return None


def test_the_package_has_no_import_cycles() -> None:
    graph = import_graph(PACKAGE_ROOT)
    assert graph.get("argoscope.local.runner"), "no imports read: is PACKAGE_ROOT right?"
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_local_runner_imports_only_downward() -> None:
    graph = import_graph(PACKAGE_ROOT)
    layer_of = {f"argoscope.local.{name}": index
                for index, layer in enumerate(RUNNER_LAYERS) for name in layer}
    assert set(layer_of) <= set(graph), "a layered module was renamed: update RUNNER_LAYERS"
    upward = [f"{module} imports {target}"
              for module, index in layer_of.items() for target in sorted(graph[module])
              if layer_of.get(target, -1) > index]
    assert upward == []


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "pkg"


@pytest.mark.parametrize("import_line", [
    "from pkg.sub.a import thing",            # module level, a name from the module
    "from pkg.sub import a",                  # a module through its package
    "from . import a",                        # relative
    "from .a import thing",                   # relative, a name
    "import pkg.sub.a",                       # plain
    "if TYPE_CHECKING:\n    from pkg.sub.a import thing",
    "def late():\n    from pkg.sub.a import thing",
])
def test_every_way_of_importing_counts_so_a_cycle_is_found(tmp_path: Path,
                                                           import_line: str) -> None:
    package = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/sub/__init__.py": "",
        "pkg/sub/a.py": "from pkg.sub.b import other\nthing = 1\n",
        "pkg/sub/b.py": "from typing import TYPE_CHECKING\n" + import_line + "\nother = 2\n",
    })
    graph = import_graph(package)
    assert graph["pkg.sub.b"] == {"pkg.sub.a"}
    cycle = find_cycle(graph)
    assert cycle is not None and set(cycle) == {"pkg.sub.a", "pkg.sub.b"}


def test_an_acyclic_package_passes(tmp_path: Path) -> None:
    package = _write(tmp_path, {
        "pkg/__init__.py": "from pkg.a import thing\n",
        "pkg/a.py": "from pkg.b import other\nthing = 1\n",
        "pkg/b.py": "import json\nother = 2\n",
    })
    graph = import_graph(package)
    assert graph == {"pkg": {"pkg.a"}, "pkg.a": {"pkg.b"}, "pkg.b": set()}
    assert find_cycle(graph) is None
