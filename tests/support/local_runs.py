"""Running a manifest given as YAML text with the local runner, and reading its status.

Used by the runner's tests and by the exporter's local-source tests (`run_yaml` is registered
for both in tests/conftest.py)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from argoscope.local.manifest import load
from argoscope.local.runner import LocalRun, RunOptions


@dataclass
class Finished:
    """A finished local run: its phase and the Workflow object it wrote."""

    phase: str
    workflow: dict[str, Any]
    state_dir: Path

    @property
    def nodes(self) -> dict[str, dict[str, Any]]:
        """Nodes by name (`<wf>.<task>`, `<wf>.<task>(0)`, ...) without the workflow prefix."""
        name = self.workflow["metadata"]["name"]
        return {n["name"].removeprefix(name + ".") if n["name"] != name else "": n
                for n in self.workflow["status"]["nodes"].values()}

    def phase_of(self, short_name: str) -> str:
        """The phase of a node by its short name."""
        return str(self.nodes[short_name]["phase"])

    def output(self, short_name: str, parameter: str) -> str:
        """An output parameter's value."""
        params = self.nodes[short_name]["outputs"]["parameters"]
        return str(next(p["value"] for p in params if p["name"] == parameter))


def workflow_yaml(templates: str, *, arguments: str = "", entrypoint: str = "main",
                  name: str = "t-") -> str:
    """A Workflow manifest around `templates` (a YAML list, indented freely)."""
    args = ""
    if arguments:
        args = "  arguments:\n    parameters:\n" + textwrap.indent(
            textwrap.dedent(arguments).strip("\n"), "    ") + "\n"
    return (f"apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n"
            f"  generateName: {name}\nspec:\n  entrypoint: {entrypoint}\n{args}  templates:\n"
            + textwrap.indent(textwrap.dedent(templates).strip("\n"), "  ") + "\n")


RunYaml = Callable[..., Finished]


@pytest.fixture
def run_yaml(tmp_path: Path) -> RunYaml:
    """Run manifest text in a fresh state directory and return what it wrote."""
    counter = iter(range(1000))

    def run(text: str, parameters: dict[str, str] | None = None, **options: Any) -> Finished:
        path = tmp_path / f"manifest-{next(counter)}.yaml"
        path.write_text(text, encoding="utf-8")
        state = options.pop("state_dir", tmp_path / "state")
        local = LocalRun(load(path), RunOptions(state_dir=state, parameters=parameters or {},
                                                **options))
        phase = local.run()
        import json

        workflow = json.loads(local.workflow_path.read_text())
        return Finished(phase, workflow, state)

    return run
