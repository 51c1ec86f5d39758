"""The package's import graph, read from the source with `ast`, and checks over it.

Imports are read wherever they are written: at module level, inside functions (the lazy
imports of optional extras) and under `TYPE_CHECKING` (a type-only import is still a dependency
a reader must follow). An edge goes to the module named, not to the packages above it: Python
runs those `__init__`s too, but they only re-export, and counting them would report every
package as a cycle with its own modules.
"""

from __future__ import annotations

import ast
import graphlib
import re
from collections.abc import Sequence
from pathlib import Path

import argoscope

PACKAGE_ROOT = Path(argoscope.__file__).parent


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


def upward_imports(graph: dict[str, set[str]], package: str,
                   layers: Sequence[set[str]]) -> list[str]:
    """Imports in `package` from a module to one of a higher layer (layers bottom to top).

    Raises AssertionError when a layered module is missing, so a rename cannot silently
    shrink what is checked.
    """
    layer_of = {f"{package}.{name}": index
                for index, layer in enumerate(layers) for name in layer}
    missing = sorted(set(layer_of) - set(graph))
    assert not missing, f"layered modules not found (renamed?): {missing}"
    return [f"{module} imports {target}"
            for module, index in layer_of.items() for target in sorted(graph[module])
            if layer_of.get(target, -1) > index]


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def reaching_imports(graph: dict[str, set[str]], package: str, forbidden: str) -> list[str]:
    """Every chain of imports, at any depth, by which a module of `package` reaches a module
    of `forbidden`: one chain (`a -> b -> c`) per forbidden module reached, the shortest."""
    chains: dict[str, list[str]] = {}
    queue = [[module] for module in sorted(graph) if _inside(module, package)]
    seen = {chain[0] for chain in queue}
    while queue:  # breadth first: each module is first reached by a shortest chain
        chain = queue.pop(0)
        for target in sorted(graph.get(chain[-1], ())):
            if _inside(target, forbidden):
                chains.setdefault(target, [*chain, target])
            elif target not in seen:
                seen.add(target)
                queue.append([*chain, target])
    return [" -> ".join(chain) for _, chain in sorted(chains.items())]


def modules_named_in_text(module_path: Path, package: str) -> set[str]:
    """String constants in a module's source that name a module of `package` (`a.b` or
    `a.b:attribute`, whole): the imports by name (`importlib`) an import graph cannot see."""
    pattern = re.compile(rf"{re.escape(package)}(\.\w+)*(:\w+)?")
    tree = ast.parse(module_path.read_text(encoding="utf-8"), filename=str(module_path))
    return {node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and pattern.fullmatch(node.value)}
