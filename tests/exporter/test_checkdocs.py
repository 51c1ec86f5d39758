"""The exporter side: check documents on finished nodes become the check families."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from argoscope.checks.api import Checks
from argoscope.exporter.checkdocs import CheckDocuments
from argoscope.exporter.model import WORKFLOWS, Model
from tests.support.argo import node, workflow
from tests.support.metrics import expose, samples, total, value
from tests.support.net import http_get
from tests.support.servers import exporter

STEP = {"namespace": "ml", "pipeline": "train", "step": "validate"}


def _document(tmp_path: Path, drift_columns: int = 3) -> str:
    """A real document, written by the step API."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    reference = pd.DataFrame({f"f{i}": rng.normal(0, 1, 200) for i in range(drift_columns)})
    current = reference + np.arange(drift_columns)  # f0 unchanged, the others shifted
    checks = Checks(step="validate", path=tmp_path / "checks.json", env={})
    checks.expect(reference, [{"type": "expect_column_values_to_not_be_null",
                               "kwargs": {"column": "f0"}}])
    checks.drift(reference, current, name="input_drift", severity="warning")
    checks.gate("accuracy", 0.91, ">", 0.85)
    checks.emit()
    return (tmp_path / "checks.json").read_text()


def _outputs(doc: str) -> dict:
    return {"parameters": [{"name": "accuracy", "value": "0.91"},
                           {"name": "argoscope-checks", "value": doc}]}


def _model() -> tuple[Model, CheckDocuments]:
    model = Model()
    observer = CheckDocuments(model.stats, max_features_per_check=2)
    model.observers.append(observer)
    return model, observer


def _scrape(model: Model) -> dict:
    return samples(expose(model.collect, model.stats.collect))


def test_documents_become_check_families(tmp_path: Path) -> None:
    model, _ = _model()
    doc = _document(tmp_path)
    model.apply(WORKFLOWS, "ADDED", workflow("train-1", [node("train-1", "validate",
                                                             outputs=_outputs(doc))]))
    s = _scrape(model)
    gate = {**STEP, "check": "accuracy", "kind": "gate"}
    assert value(s, "argoscope_check_status", **gate) == 1
    assert value(s, "argoscope_check_value", **gate) == 0.91
    assert value(s, "argoscope_check_threshold", **gate) == 0.85
    assert value(s, "argoscope_check_results_total", **gate, status="passed") == 1
    drift = {**STEP, "check": "input_drift", "kind": "drift"}
    assert value(s, "argoscope_check_status", **drift) == 1  # a warning counts as up ...
    assert value(s, "argoscope_check_results_total", **drift, status="warning") == 1  # ... here
    assert value(s, "argoscope_check_value", **drift) == pytest.approx(2 / 3)
    scores = {dict(ls)["feature"]: v for (n, ls), v in s.items()
              if n == "argoscope_feature_drift_score"}
    assert list(scores) == ["f0", "f1"]  # capped at 2 features per check
    assert scores["f0"] == 1.0 and scores["f1"] < 0.05  # KS p-values: f1 shifted
    assert total(s, "argoscope_exporter_series_dropped_total",
                 family="argoscope_feature_drift_score") == 1


def test_counter_counts_only_live_results_gauges_follow_replays(tmp_path: Path) -> None:
    model, _ = _model()
    doc = _document(tmp_path)
    model.apply(WORKFLOWS, "ADDED", workflow("old", [node("old", "validate",
                                                         outputs=_outputs(doc))]), replay=True)
    s = _scrape(model)
    gate = {**STEP, "check": "accuracy", "kind": "gate"}
    assert total(s, "argoscope_check_results_total", check="accuracy") == 0
    assert value(s, "argoscope_check_value", **gate) == 0.91
    for name in ("a", "b"):
        model.apply(WORKFLOWS, "ADDED", workflow(name, [node(name, "validate",
                                                             outputs=_outputs(doc))]))
    assert value(_scrape(model), "argoscope_check_results_total", **gate, status="passed") == 2


@pytest.mark.parametrize("doc", [
    "not json", json.dumps({"schema": "other/v9", "results": []}),
    json.dumps({"schema": "argoscope.checks/v1", "results": [{"check": "x", "status": "odd"}]}),
    json.dumps({"schema": "argoscope.checks/v1", "results": [
        {"check": "x" * 10, "status": "passed"}] * 20000}),  # over the size cap
])
def test_malformed_or_oversized_documents_are_counted_never_fatal(doc: str, caplog) -> None:
    model, _ = _model()
    for name in ("w1", "w2"):
        model.apply(WORKFLOWS, "ADDED", workflow(name, [node(name, "validate",
                                                             outputs=_outputs(doc))]))
    s = _scrape(model)
    assert total(s, "argoscope_exporter_objects_skipped_total",
                 resource="argoscope-checks") == 2
    assert total(s, "argoscope_step_runs_total", step="validate") == 2  # the rest still works
    assert not [n for (n, _), _ in s.items() if n.startswith("argoscope_check_")
                and not n.endswith("_created")]
    assert len([r for r in caplog.records if "argoscope-checks" in r.getMessage()]) == 1


def test_exporter_serves_check_families_from_a_workflow_dump(tmp_path: Path) -> None:
    doc = _document(tmp_path)
    dump = tmp_path / "dump"
    dump.mkdir()
    wf = workflow("train-9", [node("train-9", "validate", outputs=_outputs(doc))])
    (dump / "wf.json").write_text(json.dumps(wf))
    with exporter(["--source", f"file:{dump}"]) as exp:
        s = samples(http_get(f"{exp.url}/metrics"))
    assert value(s, "argoscope_check_value", **STEP, check="accuracy", kind="gate") == 0.91
    assert total(s, "argoscope_check_results_total", check="column_values_to_not_be_null:f0",
                 status="passed") == 1
    assert total(s, "argoscope_feature_drift_score", check="input_drift") > 0
