"""The package's import graph has no cycles, and the local runner's layers import downward only.

How imports are read: `tests/support/imports.py`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.imports import PACKAGE_ROOT, find_cycle, import_graph, upward_imports

# The local runner, bottom to top (see docs/architecture.md): a module may import modules of its
# own layer or below, never above. Modules not named here are held only to "no cycles".
RUNNER_LAYERS: list[set[str]] = [
    {"status", "process", "params", "paths", "expr", "depends", "manifest", "runs", "progress",
     "names", "verdict", "summary", "regex", "stepfiles"},
    {"graph"},
    {"retry", "tasks", "dag", "pods"},
    {"executor"},
    {"runner"},
    {"cli"},
]


def test_the_package_has_no_import_cycles() -> None:
    graph = import_graph(PACKAGE_ROOT)
    assert graph.get("argoscope.local.runner"), "no imports read: is PACKAGE_ROOT right?"
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_local_runner_imports_only_downward() -> None:
    assert upward_imports(import_graph(PACKAGE_ROOT), "argoscope.local", RUNNER_LAYERS) == []


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


def test_an_upward_import_between_layers_is_named(tmp_path: Path) -> None:
    package = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/low.py": "def late():\n    from pkg.high import thing\n",
        "pkg/high.py": "from pkg.low import late\nthing = 1\n",
    })
    graph = import_graph(package)
    assert upward_imports(graph, "pkg", [{"low"}, {"high"}]) == ["pkg.low imports pkg.high"]
    assert upward_imports(graph, "pkg", [{"low", "high"}]) == []
    with pytest.raises(AssertionError, match="renamed"):
        upward_imports(graph, "pkg", [{"low"}, {"gone"}])
