"""Fair budgets: one namespace cannot crowd out another's check and feature series, and
series not refreshed within the retention window are released."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from argoscope.exporter.checkdocs import CheckDocuments
from argoscope.exporter.model import WORKFLOWS, Model
from tests.support import argo
from tests.support.clock import Clock
from tests.support.metrics import expose, samples, total, value


def doc(checks: list[str], status: str = "passed", features: int = 0) -> str:
    results = [{"check": name, "kind": "expectation", "status": status, "value": 1.0,
                "features": [{"feature": f"f{i}", "score": 0.1} for i in range(features)]}
               for name in checks]
    return json.dumps({"schema": "argoscope.checks/v1", "results": results})


def run(name: str, namespace: str, document: str, step: str = "validate") -> dict[str, Any]:
    outputs = {"parameters": [{"name": "argoscope-checks", "value": document}]}
    return argo.workflow(name, [argo.node(name, step, outputs=outputs)], namespace=namespace)


def gate_doc() -> str:
    return json.dumps({"schema": "argoscope.checks/v1", "results": [
        {"check": "accuracy", "kind": "gate", "status": "failed", "value": 0.7,
         "threshold": 0.85, "op": ">"}]})


def test_one_namespace_cannot_crowd_out_anothers_gate(tmp_path: Path) -> None:
    # Scaled down from the issue (4 x 2,500 checks against 10k): 4 x 30 against 100.
    objects = [run(f"flood-{i}", "team-a", doc([f"c{i}-{j}" for j in range(30)]))
               for i in range(4)]
    objects.append(run("model-1", "team-b", gate_doc()))
    (tmp_path / "dump.json").write_text(json.dumps(objects))
    result = subprocess.run(
        [sys.executable, "-m", "argoscope.cli", "exporter", "--source", f"file:{tmp_path}",
         "--once", "--max-series-per-family", "100", "--max-check-series-per-namespace", "40"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    s = samples(result.stdout)
    assert value(s, "argoscope_check_status", namespace="team-b", pipeline="train",
                 step="validate", check="accuracy", kind="gate") == 0
    assert total(s, "argoscope_check_status", namespace="team-a") == 40
    assert sum(1 for (n, ls), _ in s.items()
               if n == "argoscope_check_status" and dict(ls)["namespace"] == "team-a") == 40
    assert value(s, "argoscope_exporter_namespace_budget_exceeded_total", namespace="team-a",
                 budget="check_series") == 80
    assert total(s, "argoscope_exporter_namespace_budget_exceeded_total",
                 namespace="team-b") == 0


def test_feature_series_are_budgeted_per_namespace_and_stale_checks_released() -> None:
    clock = Clock(argo.T0 + 1000)
    model = Model(clock=clock)
    checks = CheckDocuments(model.stats, max_series=100, max_series_per_namespace=10,
                            retention_seconds=3600, max_features_per_check=5, clock=clock)
    model.observers.append(checks)
    model.apply(WORKFLOWS, "ADDED", run("a-1", "team-a", doc(["d1", "d2", "d3"], features=5)))
    model.apply(WORKFLOWS, "ADDED", run("b-1", "team-b", doc(["d1"], features=5)))

    def scrape() -> dict[Any, float]:
        return samples(expose(model.collect, model.stats.collect))

    s = scrape()
    features = [dict(ls) for (n, ls), _ in s.items() if n == "argoscope_feature_drift_score"]
    assert sum(1 for f in features if f["namespace"] == "team-a") == 10
    assert sum(1 for f in features if f["namespace"] == "team-b") == 5
    assert value(s, "argoscope_exporter_namespace_budget_exceeded_total", namespace="team-a",
                 budget="feature_series") == 5
    # Two hours later team-b refreshes its check; team-a's are past the retention window.
    clock.now += 7200
    model.apply(WORKFLOWS, "ADDED", run("b-2", "team-b", doc(["d1"], features=5)))
    s = scrape()
    assert total(s, "argoscope_check_status", namespace="team-a") == 0
    assert sum(1 for (n, ls), _ in s.items()
               if n == "argoscope_feature_drift_score"
               and dict(ls)["namespace"] == "team-a") == 0
    assert total(s, "argoscope_check_results_total", namespace="team-b") == 2
    assert total(s, "argoscope_check_results_total", namespace="team-a") == 0
    # The released slots are free again: a new team-a check gets all its features.
    model.apply(WORKFLOWS, "ADDED", run("a-2", "team-a", doc(["d9", "d8"], features=5)))
    s = scrape()
    assert sum(1 for (n, ls), _ in s.items()
               if n == "argoscope_feature_drift_score"
               and dict(ls)["namespace"] == "team-a") == 10
