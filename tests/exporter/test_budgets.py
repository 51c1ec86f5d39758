"""Fair budgets: one namespace cannot crowd out another's check and feature series, and
series not refreshed within the retention window are released."""

from __future__ import annotations

import json
import subprocess
import sys
from copy import deepcopy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from argoscope.exporter.checkdocs import CheckDocuments
from argoscope.exporter.model import WORKFLOWS, Model, ModelConfig
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


# --- every tenant-keyed table ---------------------------------------------------------------

def generated_run(i: int, namespace: str, document: str | None = None) -> dict[str, Any]:
    """A finished run of a pipeline named by its own generateName (a new pipeline per run)."""
    name = f"job-{i}-x7k2"
    outputs = ({"parameters": [{"name": "argoscope-checks", "value": document}]}
               if document else None)
    wf = argo.workflow(name, [argo.node(name, "work", outputs=outputs)], namespace=namespace,
                       template_ref=None)
    wf["metadata"]["generateName"] = f"job-{i}-"
    return wf


def series_of(s: dict[Any, float], name: str, namespace: str) -> int:
    return sum(1 for (n, ls), _ in s.items() if n == name and dict(ls)["namespace"] == namespace)


def once(tmp_path: Path, objects: list[dict[str, Any]], *flags: str) -> dict[Any, float]:
    (tmp_path / "dump.json").write_text(json.dumps(objects))
    result = subprocess.run(
        [sys.executable, "-m", "argoscope.cli", "exporter", "--source", f"file:{tmp_path}",
         "--once", *flags], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return samples(result.stdout)


def test_a_namespace_flooding_new_pipelines_leaves_anothers_new_pipeline_whole(
        tmp_path: Path) -> None:
    # Scaled down from the issue (10k generateNames against 10k series): 60 against 100, with
    # the other team's run last, as a live watch would see it after the flood.
    flood = [generated_run(i, "noisy", gate_doc()) for i in range(60)]
    s = once(tmp_path, [*flood, run("model-1", "team-b", gate_doc())],
             "--max-series-per-family", "100", "--max-series-per-namespace", "10",
             "--max-check-series-per-namespace", "10", "--max-namespaces", "5")
    team_b = {"namespace": "team-b", "pipeline": "train"}
    assert value(s, "argoscope_workflow_runs_total", **team_b, phase="Succeeded") == 1
    assert value(s, "argoscope_workflow_duration_seconds_count", **team_b,
                 phase="Succeeded") == 1
    assert value(s, "argoscope_step_runs_total", **team_b, step="validate",
                 template="validate", phase="Succeeded") == 1
    assert value(s, "argoscope_workflow_last_success_timestamp_seconds", **team_b) is not None
    assert value(s, "argoscope_check_status", **team_b, step="validate", check="accuracy",
                 kind="gate") == 0
    for family in ("argoscope_workflow_runs_total", "argoscope_step_runs_total",
                   "argoscope_workflow_duration_seconds_count",
                   "argoscope_workflow_last_success_timestamp_seconds",
                   "argoscope_check_status"):
        assert series_of(s, family, "noisy") == 10, family
    assert value(s, "argoscope_exporter_namespace_budget_exceeded_total", namespace="noisy",
                 budget="series") > 0
    assert total(s, "argoscope_exporter_namespace_budget_exceeded_total",
                 namespace="team-b") == 0
    assert total(s, "argoscope_exporter_series_dropped_total") == 0


def test_namespaces_past_the_bound_are_counted_as_other(tmp_path: Path) -> None:
    objects = [run(f"r-{n}", f"ns-{n}", gate_doc()) for n in range(6)]
    s = once(tmp_path, objects, "--max-namespaces", "4")
    def shown(family: str) -> set[str]:
        return {dict(ls)["namespace"] for (n, ls), _ in s.items() if n == family}

    # The same namespaces in every family, counters, gauges and checks alike.
    for family in ("argoscope_workflow_runs_total", "argoscope_workflows",
                   "argoscope_workflow_last_success_timestamp_seconds",
                   "argoscope_check_status"):
        assert shown(family) == {"ns-0", "ns-1", "ns-2", "ns-3"}, family
    assert value(s, "argoscope_exporter_namespace_budget_exceeded_total", namespace="_other",
                 budget="namespaces") > 0


def test_series_of_a_pipeline_not_seen_within_the_retention_are_released() -> None:
    clock = Clock(argo.T0 + 1000)
    model = Model(ModelConfig(series_retention_seconds=3600, max_series_per_namespace=3),
                  clock=clock)

    def scrape() -> dict[Any, float]:
        return samples(expose(model.collect, model.stats.collect))

    for i in range(3):
        model.apply(WORKFLOWS, "ADDED", generated_run(i, "noisy"))
        model.apply(WORKFLOWS, "DELETED", generated_run(i, "noisy"))
    model.apply(WORKFLOWS, "ADDED", run("model-1", "team-b", gate_doc()))
    model.apply(WORKFLOWS, "ADDED", generated_run(3, "noisy"))  # over the budget: refused
    s = scrape()
    assert series_of(s, "argoscope_workflow_runs_total", "noisy") == 3
    assert value(s, "argoscope_workflow_runs_total", namespace="noisy", pipeline="job-3",
                 phase="Succeeded") is None
    # Two hours on: the deleted runs' pipelines were not seen since; team-b's run still exists.
    clock.now += 7200
    s = scrape()
    assert series_of(s, "argoscope_workflow_runs_total", "noisy") == 0
    assert series_of(s, "argoscope_step_duration_seconds_count", "noisy") == 0
    # Only the pipeline whose run still exists keeps its last success.
    assert {dict(ls)["pipeline"] for (n, ls), _ in s.items()
            if n == "argoscope_workflow_last_success_timestamp_seconds"
            and ("namespace", "noisy") in ls} == {"job-3"}
    assert value(s, "argoscope_workflow_runs_total", namespace="team-b", pipeline="train",
                 phase="Succeeded") == 1
    # The released slots are free: the namespace's next new pipeline is counted.
    model.apply(WORKFLOWS, "ADDED", generated_run(4, "noisy"))
    assert value(scrape(), "argoscope_workflow_runs_total", namespace="noisy",
                 pipeline="job-4", phase="Succeeded") == 1


def test_a_deleted_run_frees_its_check_slots() -> None:
    model = Model()
    model.observers.append(CheckDocuments(model.stats, max_series_per_namespace=2,
                                          tenants=model.tenants))

    def status(s: dict[Any, float], pipeline: str) -> float | None:
        return value(s, "argoscope_check_status", namespace="noisy", pipeline=pipeline,
                     step="work", check="accuracy", kind="gate")

    for i in range(2):
        model.apply(WORKFLOWS, "ADDED", generated_run(i, "noisy", gate_doc()))
    model.apply(WORKFLOWS, "ADDED", generated_run(2, "noisy", gate_doc()))
    s = samples(expose(model.collect))
    assert status(s, "job-2") is None  # the budget is full while both runs exist
    model.apply(WORKFLOWS, "DELETED", generated_run(0, "noisy"))
    model.apply(WORKFLOWS, "ADDED", generated_run(3, "noisy", gate_doc()))
    s = samples(expose(model.collect))
    # The deleted run's slot went to the new run's check; the live run's check stayed.
    assert status(s, "job-3") == 0 and status(s, "job-1") == 0 and status(s, "job-0") is None


NAMESPACES = st.sampled_from(["ns-a", "ns-b", "ns-c"])


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(load=st.lists(st.tuples(NAMESPACES, st.integers(0, 30), st.booleans()), max_size=5),
       position=st.integers(0, 150))
def test_other_namespaces_load_never_changes_a_namespaces_series(
        load: list[tuple[str, int, bool]], position: int) -> None:
    # Team-b's runs alone, then the same runs with any load in other namespaces (new
    # pipelines, deletions, check documents), before, after or between them: team-b's series
    # are the same, as long as the namespaces fit the bound.
    def build(with_load: bool) -> dict[Any, float]:
        model = Model(ModelConfig(max_series_per_family=40, max_series_per_namespace=10,
                                  max_namespaces=4), clock=Clock(argo.T0 + 1000))
        model.observers.append(CheckDocuments(model.stats, max_series=40,
                                              max_series_per_namespace=10,
                                              tenants=model.tenants, clock=model.clock))
        ours = [run(f"model-{i}", "team-b", gate_doc(), step=f"s{i}") for i in range(3)]
        events: list[tuple[str, dict[str, Any]]] = [("ADDED", wf) for wf in ours]
        if with_load:
            noise = []
            # Bursts of runs, each a new pipeline, kept or deleted at once.
            for burst, (namespace, count, delete) in enumerate(load):
                for i in range(count):
                    wf = generated_run(100 * burst + i, namespace, gate_doc())
                    noise.append(("ADDED", wf))
                    if delete:
                        noise.append(("DELETED", wf))
            cut = min(position, len(noise))
            events = [*noise[:cut], *events[:1], *noise[cut:], *events[1:]]
        for event, wf in events:
            model.apply(WORKFLOWS, event, wf)
        s = samples(expose(model.collect))
        return {key: v for key, v in s.items()
                if ("namespace", "team-b") in key[1]}

    assert build(True) == build(False)


class Corpus(list[dict[str, Any]]):
    """Real objects, shown by their count (Hypothesis prints a failing test's arguments)."""

    def __repr__(self) -> str:
        return f"<{len(self)} real Workflows>"


@pytest.fixture(scope="module")
def real_workflows(argo_fixtures: Path) -> Corpus:
    """Argo's own Workflow objects (with status), as the controller wrote them."""
    from argoscope.exporter.sources.file import read_objects

    return Corpus(obj for obj in read_objects(argo_fixtures)
                  if isinstance(obj, dict) and obj.get("kind", "Workflow") == "Workflow"
                  and isinstance(obj.get("status"), dict))


def placed(obj: dict[str, Any], namespace: str, name: str, pipeline: str | None = None
           ) -> dict[str, Any]:
    """A copy of a real Workflow in `namespace` under `name` (and `pipeline`, if given)."""
    copy = deepcopy(obj)
    meta = copy.setdefault("metadata", {})
    meta.update(namespace=namespace, name=name, uid=f"uid-{namespace}-{name}")
    if pipeline is not None:
        meta["labels"] = {**(meta.get("labels") or {}), "argoscope.io/pipeline": pipeline}
    return copy


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_real_neighbours_never_change_a_namespaces_series(
        real_workflows: Corpus, data: st.DataObject) -> None:
    # Argo's own objects: a few of them are team-b's runs; copies of any of them, each a new
    # pipeline, flood two other namespaces before and after. Team-b's series stay the same.
    indexes = st.integers(0, len(real_workflows) - 1)
    ours = [placed(real_workflows[i], "team-b", f"ours-{k}")
            for k, i in enumerate(data.draw(st.lists(indexes, min_size=1, max_size=3)))]
    noise = [placed(real_workflows[i], namespace, f"noise-{k}", f"noise-{k}")
             for k, (namespace, i) in enumerate(data.draw(st.lists(
                 st.tuples(st.sampled_from(["ns-a", "ns-c"]), indexes), min_size=5,
                 max_size=40)))]
    cut = data.draw(st.integers(0, len(noise)))

    def team_b(objects: list[dict[str, Any]]) -> dict[Any, float]:
        model = Model(ModelConfig(max_series_per_family=30, max_series_per_namespace=10,
                                  max_namespaces=3), clock=Clock(argo.T0))
        for obj in objects:
            model.apply_object(obj)
        return {key: v for key, v in samples(expose(model.collect)).items()
                if ("namespace", "team-b") in key[1]}

    alone = team_b(ours)
    assert alone, "team-b's runs gave no series"
    assert team_b([*noise[:cut], *ours, *noise[cut:]]) == alone
