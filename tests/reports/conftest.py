"""The reference pipeline's three demo scenarios, run once per session by the local runner."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from argoscope.local.manifest import load
from argoscope.local.runner import LocalRun, RunOptions

PIPELINE = Path(__file__).resolve().parents[2] / "manifests" / "pipeline"
SCENARIOS: dict[str, dict[str, str]] = {
    "healthy": {},
    "drifted": {"shift-features": "mean *", "shift-scale": "3"},
    "faulty": {"crash": "permanent"},
}


@dataclass(frozen=True)
class Runs:
    """Finished runs by scenario name, in one state directory."""

    state_dir: Path
    names: dict[str, str]

    def workflow(self, scenario: str) -> dict[str, Any]:
        """The Workflow object the runner wrote for a scenario."""
        path = self.state_dir / "workflows" / f"{self.names[scenario]}.json"
        loaded: dict[str, Any] = json.loads(path.read_text())
        return loaded


@pytest.fixture(scope="session")
def pipeline_runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """Healthy, drifted and faulty runs of manifests/pipeline/workflow.yaml."""
    pytest.importorskip("sklearn", reason="the reference pipeline needs the pipeline extra")
    state = tmp_path_factory.mktemp("report-runs")
    manifest = load(PIPELINE / "workflow.yaml")
    names = {}
    for scenario, parameters in SCENARIOS.items():
        run = LocalRun(manifest, RunOptions(state_dir=state, parameters=dict(parameters)))
        run.run()
        names[scenario] = run.name
    return Runs(state, names)
