"""Errors a newcomer meets first: a missing optional dependency, `generate` outside the
repository, a rollback of a registry that does not exist, and options without help."""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from argoscope.cli import build_parser
from argoscope.pipeline.cli import build_parser as pipeline_parser

REPO = Path(__file__).resolve().parents[1]

# Runs `argoscope ARGS` with one top-level module made unimportable, as in an install
# without the extra that provides it.
WITHOUT_MODULE = textwrap.dedent("""
    import importlib.abc, sys
    blocked = sys.argv[1]

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == blocked or name.startswith(blocked + "."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Blocker())
    from argoscope.cli import main
    sys.exit(main(sys.argv[2:]))
""")


def without(module: str, *args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", WITHOUT_MODULE, module, *args],
                          capture_output=True, text=True, timeout=120, cwd=cwd, check=False)


@pytest.mark.parametrize(("module", "args", "extra"), [
    ("prometheus_client", ("exporter", "--source", "file:nothing.json", "--once"), "exporter"),
    ("kubernetes", ("exporter", "--source", "kubernetes", "--once"), "exporter"),
    ("prometheus_client", ("demo",), "demo"),
    ("sklearn", ("demo",), "demo"),
    ("grafana_foundation_sdk", ("generate", "--check"), "exporter,dashboards"),
    ("prometheus_client", ("slo", "generate", "alerts/slo/reference-pipeline.yaml"), "exporter"),
])
def test_a_missing_optional_dependency_exits_2_naming_the_extra(
        module: str, args: tuple[str, ...], extra: str, tmp_path: Path) -> None:
    if args[0] == "demo":
        args = (*args, "--state-dir", str(tmp_path / "state"))
    done = without(module, *args)
    assert done.returncode == 2, done.stderr
    assert f"pip install 'argoscope[{extra}]'" in done.stderr
    assert f"'{module}' is not installed" in done.stderr
    assert "Traceback" not in done.stderr


def test_generate_refuses_outside_a_checkout_unless_given_a_target(tmp_path: Path) -> None:
    def generate(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "argoscope.cli", "generate", *args],
                              capture_output=True, text=True, cwd=tmp_path, timeout=120,
                              check=False)

    refused = generate()
    assert refused.returncode == 2
    assert "not an argoscope checkout" in refused.stderr and "--root" in refused.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written
    target = tmp_path / "out"
    written = generate("--root", str(target))
    assert written.returncode == 0, written.stderr
    assert (target / "docs" / "metrics.md").is_file()


def test_rollback_of_a_missing_registry_says_so(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "argoscope.pipeline", "rollback",
                           "--registry-dir", str(tmp_path / "nope")], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "nope: no such directory" in done.stderr
    assert "history" not in done.stderr


def _undocumented(parser: argparse.ArgumentParser, path: str) -> set[str]:
    missing: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                if not helps.get(name):
                    missing.add(f"{path} {name}")
                missing |= _undocumented(sub, f"{path} {name}")
        elif not action.help and not isinstance(action, argparse._HelpAction):
            missing.add(f"{path} {'/'.join(action.option_strings) or action.dest}")
    return missing


def test_every_option_has_help_text() -> None:
    missing = _undocumented(build_parser(), "argoscope") | _undocumented(
        pipeline_parser(), "python -m argoscope.pipeline")
    assert not missing, sorted(missing)
