"""The tests mirror the package (the rule is in tests/conftest.py's docstring).

A folder under tests/ is named after the `argoscope` subpackage or top-level module its tests
drive, or is one of the few folders listed below with the reason it is not. Root-level test
modules are listed by name, so a new one is a decision, not an accident; and a test module that
drives only the exporter belongs in tests/exporter/, wherever else it was put.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import argoscope

TESTS = Path(__file__).resolve().parent
PACKAGE_ROOT = Path(argoscope.__file__).resolve().parent

# Folders of tests/ that mirror no part of the package, and why.
NOT_MIRRORS = {
    "support": "helpers shared by several folders (servers, doubles, clocks, readers)",
    "data": "captured pages and files the tests read",
    "e2e": "runs across components: exporter, Prometheus, Alertmanager and Grafana together",
    "alerts": "the repository's alerts/ folder: rules and Alertmanager config, no Python module",
}
# Test modules at the root: they test the package as a whole, not one part of it.
ROOT_MODULES = {
    "test_cli_errors.py": "every `argoscope` subcommand's usage errors",
    "test_generated.py": "every generated file against its generator (argoscope/generate.py)",
    "test_import_graph.py": "the import graph of the whole package",
    "test_readme_commands.py": "the README's commands, as written",
    "test_layout.py": "this layout",
}
# Folders whose tests may drive the exporter alone: its own, and the non-mirrors above.
EXPORTER_TESTS = {"exporter", *NOT_MIRRORS}


def mirrors(relative: Path, package_root: Path) -> bool:
    """Whether tests/<relative> names a subpackage or module of the package at `package_root`."""
    target = package_root.joinpath(*relative.parts)
    return (target / "__init__.py").is_file() or target.with_suffix(".py").is_file()


def misplaced_folders(tests: Path, package_root: Path) -> list[str]:
    """Folders under `tests` that mirror nothing and are not listed in NOT_MIRRORS."""
    found = []
    for folder in sorted(p for p in tests.rglob("*") if p.is_dir()):
        relative = folder.relative_to(tests)
        if "__pycache__" in relative.parts or relative.parts[0] in NOT_MIRRORS:
            continue
        if not mirrors(relative, package_root):
            found.append(str(relative))
    return found


def unlisted_root_modules(tests: Path) -> list[str]:
    """Test modules at the root of `tests` that ROOT_MODULES does not name."""
    return sorted(p.name for p in tests.glob("test_*.py") if p.name not in ROOT_MODULES)


def subpackages_imported(path: Path) -> set[str]:
    """The `argoscope` subpackages (or top-level modules) a test module imports, anywhere."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = ([f"{node.module}.{alias.name}" for alias in node.names]
                     if node.module == "argoscope" else [node.module])
        else:
            continue
        found |= {name.split(".")[1] for name in names
                  if name.startswith("argoscope.") and len(name.split(".")) > 1}
    return found


def exporter_tests_elsewhere(tests: Path) -> list[str]:
    """Test modules outside tests/exporter whose only `argoscope` import is the exporter."""
    found = []
    for path in sorted(tests.rglob("test_*.py")):
        relative = path.relative_to(tests)
        if len(relative.parts) > 1 and relative.parts[0] in EXPORTER_TESTS:
            continue
        if subpackages_imported(path) == {"exporter"}:
            found.append(str(relative))
    return found


def test_every_test_folder_mirrors_the_package_or_is_listed() -> None:
    assert (TESTS / "exporter").is_dir() and mirrors(Path("exporter"), PACKAGE_ROOT)
    assert misplaced_folders(TESTS, PACKAGE_ROOT) == []


def test_only_whole_package_tests_sit_at_the_root() -> None:
    assert unlisted_root_modules(TESTS) == []


def test_no_exporter_test_sits_outside_tests_exporter() -> None:
    assert exporter_tests_elsewhere(TESTS) == []


def test_the_listed_exceptions_exist() -> None:
    """A stale entry would let a future module or folder of that name through unexamined."""
    assert sorted(name for name in NOT_MIRRORS if not (TESTS / name).is_dir()) == []
    assert sorted(name for name in ROOT_MODULES if not (TESTS / name).is_file()) == []


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("import_line", [
    "from argoscope.exporter.dcgm import parse_exposition",
    "from argoscope.exporter import dcgm",
    "from argoscope import exporter",
    "import argoscope.exporter.gpu",
    "def late():\n    from argoscope.exporter.model import Model",
])
def test_an_exporter_test_at_the_root_or_in_another_folder_is_found(tmp_path: Path,
                                                                     import_line: str) -> None:
    tests = tmp_path / "tests"
    _tree(tmp_path, {
        "tests/test_dcgm.py": import_line + "\n",
        "tests/checks/test_docs.py": import_line + "\n",
        "tests/checks/test_api.py": "from argoscope.checks import Checks\n" + import_line + "\n",
        "tests/exporter/test_gpu.py": import_line + "\n",
    })
    assert unlisted_root_modules(tests) == ["test_dcgm.py"]
    assert exporter_tests_elsewhere(tests) == ["checks/test_docs.py", "test_dcgm.py"]


def test_a_folder_named_after_nothing_in_the_package_is_found(tmp_path: Path) -> None:
    _tree(tmp_path, {
        "pkg/exporter/__init__.py": "", "pkg/exporter/sources/__init__.py": "",
        "pkg/generate.py": "",
        "tests/exporter/sources/test_file.py": "", "tests/generate/test_outputs.py": "",
        "tests/support/servers.py": "",
        "tests/gpu/test_gpu.py": "", "tests/exporter/dcgm/test_scrape.py": "",
    })
    assert misplaced_folders(tmp_path / "tests", tmp_path / "pkg") == ["exporter/dcgm", "gpu"]
