"""The package's import graph has no cycles, the local runner's layers import downward only, and
the check library (installed in every pipeline step) never reaches the reports (rendering) or
the local runner.

How imports are read: `tests/support/imports.py`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.imports import (
    PACKAGE_ROOT,
    find_cycle,
    import_graph,
    module_names,
    modules_named_in_text,
    reaching_imports,
    upward_imports,
)

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


def test_the_check_library_never_imports_the_reports() -> None:
    # At any depth, lazy imports in functions and type-only imports included: a step's image
    # need not hold the reports extra. The page writer is found by name (checks.report_hook).
    graph = import_graph(PACKAGE_ROOT)
    assert graph.get("argoscope.reports.step"), "no imports read: is PACKAGE_ROOT right?"
    assert reaching_imports(graph, "argoscope.checks", "argoscope.reports") == []


def test_the_check_library_never_imports_the_local_runner() -> None:
    # A step finds its results path through the neutral argoscope.stepenv, not the runner.
    graph = import_graph(PACKAGE_ROOT)
    assert graph.get("argoscope.local.runner"), "no imports read: is PACKAGE_ROOT right?"
    assert reaching_imports(graph, "argoscope.checks", "argoscope.local") == []


def test_the_check_library_names_the_reports_only_in_its_hook() -> None:
    # An import by name (importlib) is invisible to the graph: the one allowed is the hook's.
    named = {module: found for module, path in module_names(PACKAGE_ROOT).items()
             if module.startswith("argoscope.checks")
             and (found := modules_named_in_text(path, "argoscope.reports"))}
    assert named == {"argoscope.checks.report_hook": {"argoscope.reports.step:write_step_page"}}


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


@pytest.mark.parametrize("import_line", [
    "from pkg.top.page import thing",
    "def late():\n    from pkg.top import page",
    "if TYPE_CHECKING:\n    import pkg.top.page",
])
def test_a_forbidden_import_is_found_at_any_depth(tmp_path: Path, import_line: str) -> None:
    package = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/low/__init__.py": "",
        "pkg/low/api.py": "def late():\n    from pkg.mid import helper\n",
        "pkg/low/own.py": "x = 1\n",
        "pkg/mid.py": "from typing import TYPE_CHECKING\n" + import_line + "\nhelper = 1\n",
        "pkg/top/__init__.py": "",
        "pkg/top/page.py": "from pkg.low.own import x\nthing = 2\n",
    })
    graph = import_graph(package)
    assert reaching_imports(graph, "pkg.low", "pkg.top") == [
        "pkg.low.api -> pkg.mid -> pkg.top.page"]
    # Downward (top -> low) is allowed; a package name's prefix is not the package.
    assert reaching_imports(graph, "pkg.top", "pkg.low") != []
    assert reaching_imports(graph, "pkg.lo", "pkg.top") == []


def test_a_module_named_as_text_is_found_and_prose_is_not(tmp_path: Path) -> None:
    package = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/low.py": '"""Mentions pkg.top in prose; `pkg.top.page` too."""\n'
                      "import importlib\n\n"
                      "def late():\n"
                      "    return importlib.import_module('pkg.top.page'), __import__('pkg.top')\n"
                      "WRITER = 'pkg.top.page:write'\nOTHER = 'pkg.topless'\n",
    })
    found = modules_named_in_text(package / "low.py", "pkg.top")
    assert found == {"pkg.top.page", "pkg.top", "pkg.top.page:write"}
