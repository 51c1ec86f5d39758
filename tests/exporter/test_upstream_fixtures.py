"""The model over real upstream Argo objects (`../shared/fixtures/argo`; skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import yaml

from argoscope.exporter.model import Model
from argoscope.exporter.reasons import failure_reason, pod_facts
from argoscope.exporter.sources.file import FileSource, read_objects
from tests.support.metrics import expose, samples, total, value


def load(path: Path) -> dict:
    model = Model()
    FileSource(model, path).snapshot()
    return samples(expose(model.collect, model.stats.collect))


def test_dag_retry_succeeded_counts_attempts_not_the_retry_node(argo_fixtures: Path) -> None:
    s = load(argo_fixtures / "awf-dag_retry_succeeded.yaml")
    labels = {"namespace": "default", "pipeline": "dag-with-retries", "step": "step1"}
    assert value(s, "argoscope_step_runs_total", template="randomly-fail", phase="Failed",
                 **labels) == 2
    assert value(s, "argoscope_step_runs_total", template="randomly-fail", phase="Succeeded",
                 **labels) == 1
    assert total(s, "argoscope_step_runs_total") == 3
    assert value(s, "argoscope_step_retries_total", **labels) == 2
    assert value(s, "argoscope_step_failures_total", reason="Error", **labels) == 2
    # No status.phase in this controller snapshot: the phase label is used.
    assert value(s, "argoscope_workflow_runs_total", namespace="default",
                 pipeline="dag-with-retries", phase="Failed") == 1


def test_exhausted_retries_and_omitted_steps(argo_fixtures: Path) -> None:
    s = load(argo_fixtures / "awf-dag-exhausted-retries-xfail.yaml")
    assert total(s, "argoscope_step_runs_total", step="fail", phase="Failed") == 2
    assert total(s, "argoscope_step_retries_total", step="fail") == 1
    assert total(s, "argoscope_step_runs_total", step="success2", phase="Omitted") == 1
    assert total(s, "argoscope_step_resource_seconds_total", step="fail", resource="cpu") == 5
    # Still Running: not counted as a finished run, visible as live.
    assert total(s, "argoscope_workflow_runs_total") == 0
    assert total(s, "argoscope_workflows", phase="Running") == 1


def test_nested_dag_and_exit_handlers(argo_fixtures: Path) -> None:
    nested = load(argo_fixtures / "awf-util_test.go--nestedDAG.yaml")
    assert {dict(ls)["step"] for (n, ls) in nested if n == "argoscope_step_runs_total"} == {
        "A", "B", "C", "D"}
    exit_handlers = load(argo_fixtures / "awf-util_test.go--onExitPanic.yaml")
    steps = {dict(ls)["step"] for (n, ls) in exit_handlers if n == "argoscope_step_runs_total"}
    # The entrypoint pod is named after its template, never after the run.
    assert steps == {"intentional-fail", "celebrate", "cry", "notify"}
    assert total(exit_handlers, "argoscope_step_runs_total", step="celebrate",
                 phase="Skipped") == 1


def test_argo_v2_kfp_objects_without_kind_or_newer_fields(argo_fixtures: Path) -> None:
    s = load(argo_fixtures / "kfp-mock-coinflip-job-runtime.json")
    assert total(s, "argoscope_workflow_runs_total", phase="Succeeded") == 1
    assert total(s, "argoscope_step_runs_total", step="flip-coin") == 2
    assert total(s, "argoscope_step_runs_total", phase="Skipped") == 2
    assert total(s, "argoscope_exporter_objects_skipped_total") == 0


def test_oom_pod_fixture_yields_oomkilled(argo_fixtures: Path) -> None:
    pod = yaml.safe_load((argo_fixtures / "awf-operator_test.go--podWithMainContainerOOM.yaml")
                         .read_text())
    facts = pod_facts(pod)
    assert facts.failure_reason == "OOMKilled"
    assert failure_reason("", facts) == ("OOMKilled", ())
    # Without metadata it cannot be joined to a step: skipped and counted, not fatal.
    s = load(argo_fixtures / "awf-operator_test.go--podWithMainContainerOOM.yaml")
    assert value(s, "argoscope_exporter_objects_skipped_total", resource="pods",
                 reason="malformed") == 1


def test_every_fixture_workflow_is_covered(argo_fixtures: Path) -> None:
    s = load(argo_fixtures)
    names = {o["metadata"]["name"] for o in read_objects(argo_fixtures)
             if isinstance(o, dict) and o.get("metadata", {}).get("name")
             and o.get("kind", "Workflow") == "Workflow"}
    assert len(names) == 12 - 1  # every file but the metadata-less pod
    assert total(s, "argoscope_workflows") == len(names)
    assert total(s, "argoscope_exporter_objects_skipped_total") == 1
