"""Labels stay bounded on every real Argo shape: step, phase and pipeline identity."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from argoscope.exporter.model import WORKFLOWS, Model, ModelConfig
from argoscope.exporter.sources.file import FileSource, read_objects
from tests.support import argo
from tests.support.metrics import expose, samples, total, value


def scrape(model: Model) -> dict[Any, float]:
    return samples(expose(model.collect, model.stats.collect))


def steps_of(s: dict[Any, float]) -> set[str]:
    return {dict(labels)["step"] for (name, labels), _ in s.items()
            if name == "argoscope_step_runs_total"}


def test_entrypoint_retry_attempts_take_the_entrypoint_templates_name() -> None:
    # An entrypoint template with a retryStrategy: a Retry node named after the run, whose
    # attempts are `<run>(0)`, `<run>(1)`, with no boundary node above them.
    run = "train-x7k2p"
    first = argo.node(run, "", node_id=f"{run}-1", phase="Failed", template="train",
                      message="Error (exit code 1)")
    second = argo.node(run, "", node_id=f"{run}-2", phase="Succeeded", template="train")
    for (_, body), attempt in ((first, 0), (second, 1)):
        body["name"] = body["displayName"] = f"{run}({attempt})"
        body.pop("boundaryID")
    obj = argo.workflow(run, [first, second])
    obj["spec"]["entrypoint"] = "train"
    obj["status"]["nodes"][run].update(type="Retry", templateName="train",
                                       children=[f"{run}-1", f"{run}-2"])
    model = Model()
    model.apply(WORKFLOWS, "ADDED", obj)
    s = scrape(model)
    assert steps_of(s) == {"train"}
    labels = {"namespace": "ml", "pipeline": "train", "step": "train"}
    assert value(s, "argoscope_step_runs_total", **labels, template="train",
                 phase="Failed") == 1
    assert value(s, "argoscope_step_retries_total", **labels) == 1


def test_on_exit_and_lifecycle_hooks_never_carry_the_run_name() -> None:
    run = "nightly-29481"
    on_exit = argo.node(run, "", node_id=f"{run}-exit", template="notify")
    hook = argo.node(run, "", node_id=f"{run}-hook", template="announce")
    on_exit[1]["name"] = on_exit[1]["displayName"] = f"{run}.onExit"
    hook[1]["name"] = hook[1]["displayName"] = f"{run}.hooks.running"
    model = Model()
    model.apply(WORKFLOWS, "ADDED", argo.workflow(run, [on_exit, hook, argo.node(run, "fit")]))
    assert steps_of(scrape(model)) == {"onExit", "hooks.running", "fit"}


def test_no_step_label_contains_its_runs_name_on_argos_own_objects(argo_fixtures: Path
                                                                    ) -> None:
    objects = read_objects(argo_fixtures)
    names = {o["metadata"]["name"] for o in objects if o.get("kind") == "Workflow"}
    # Argo's onExit fixture, with its exit handler as a container template (a Pod node
    # named `<run>.onExit`, as Argo writes it) instead of a steps template.
    path = argo_fixtures / "awf-util_test.go--onExitPanic.yaml"
    exit_run = copy.deepcopy(yaml.safe_load(path.read_text()))
    run = exit_run["metadata"]["name"]
    for node in exit_run["status"]["nodes"].values():
        if node["name"] == f"{run}.onExit":
            node["type"] = "Pod"
    model = Model()
    FileSource(model, argo_fixtures).snapshot()
    steps = steps_of(scrape(model))
    assert steps and not [step for step in steps if any(name in step for name in names)]
    exit_model = Model()
    exit_model.apply(WORKFLOWS, "ADDED", exit_run)
    exit_steps = steps_of(scrape(exit_model))
    assert "onExit" in exit_steps and not [step for step in exit_steps if run in step]


def test_unknown_phases_become_unknown() -> None:
    model = Model()
    model.apply(WORKFLOWS, "ADDED", argo.workflow("r1", [], phase="Runningg"))
    s = scrape(model)
    assert value(s, "argoscope_workflows", namespace="ml", pipeline="train",
                 phase="Unknown") == 1
    assert not any(dict(ls).get("phase") == "Runningg" for _, ls in s)


def test_explicit_pipeline_label_wins_and_fixed_names_are_budgeted() -> None:
    model = Model(ModelConfig(max_fallback_pipelines_per_namespace=2))
    labelled = argo.workflow("anything-1", [], labels={"argoscope.io/pipeline": "churn"})
    model.apply(WORKFLOWS, "ADDED", labelled)  # has a workflowTemplateRef too: label wins
    for index in range(4):  # fixed unique names: no template, label or generateName
        model.apply(WORKFLOWS, "ADDED", argo.workflow(f"fixed-{index}", [], template_ref=None))
    model.apply(WORKFLOWS, "ADDED", argo.workflow("solo", [], template_ref=None,
                                                  namespace="team-b"))
    s = scrape(model)
    pipelines = {dict(ls)["pipeline"] for (n, ls), _ in s.items()
                 if n == "argoscope_workflow_runs_total"}
    assert pipelines == {"churn", "fixed-0", "fixed-1", "_other", "solo"}
    assert value(s, "argoscope_workflow_runs_total", namespace="ml", pipeline="_other",
                 phase="Succeeded") == 2
    assert value(s, "argoscope_exporter_namespace_budget_exceeded_total", namespace="ml",
                 budget="pipelines") == 2
    assert total(s, "argoscope_exporter_namespace_budget_exceeded_total",
                 namespace="team-b") == 0


def test_the_reference_pipeline_sets_its_pipeline_label() -> None:
    repo = Path(__file__).resolve().parents[2]
    workflow = yaml.safe_load((repo / "manifests/pipeline/workflow.yaml").read_text())
    cron = yaml.safe_load((repo / "manifests/pipeline/cronworkflow.yaml").read_text())
    expected = "ml-reference-pipeline"
    assert workflow["metadata"]["labels"]["argoscope.io/pipeline"] == expected
    assert cron["spec"]["workflowMetadata"]["labels"]["argoscope.io/pipeline"] == expected


def _failing_pod(phase: str, **kw: Any) -> dict[str, Any]:
    return argo.pod("r1", "r1-train", phase=phase, **kw)


def test_a_transient_waiting_reason_never_becomes_the_failure_reason() -> None:
    # The order: node Running; pod Pending waiting ContainerCreating, then Running;
    # node Failed "Error (exit code 1)"; then the pod's own Failed update.
    from argoscope.exporter.model import PODS

    model = Model()
    running = argo.workflow("r1", [argo.node("r1", "train", node_id="r1-train",
                                             phase="Running")], phase="Running", finish=None)
    model.apply(WORKFLOWS, "ADDED", running)
    model.apply(PODS, "ADDED", _failing_pod("Pending", waiting="ContainerCreating"))
    model.apply(PODS, "MODIFIED", _failing_pod("Running", main_started=5))
    failed = argo.workflow("r1", [argo.node("r1", "train", node_id="r1-train", phase="Failed",
                                            message="Error (exit code 1)")], phase="Failed")
    model.apply(WORKFLOWS, "MODIFIED", failed)
    model.apply(PODS, "MODIFIED", _failing_pod(
        "Failed", terminated={"reason": "Error", "exitCode": 1}))
    s = scrape(model)
    labels = {"namespace": "ml", "pipeline": "train", "step": "train"}
    assert value(s, "argoscope_step_failures_total", **labels, reason="Error") == 1
    assert total(s, "argoscope_step_failures_total") == 1


def test_an_explanatory_waiting_reason_still_stands_when_the_message_is_generic() -> None:
    from argoscope.exporter.model import PODS

    model = Model()
    model.apply(PODS, "ADDED", _failing_pod("Pending", waiting="ImagePullBackOff"))
    model.apply(PODS, "MODIFIED", _failing_pod("Pending", waiting="ContainerCreating"))
    failed = argo.workflow("r1", [argo.node("r1", "train", node_id="r1-train", phase="Failed",
                                            message="Error (exit code 1)")], phase="Failed")
    model.apply(WORKFLOWS, "ADDED", failed)
    s = scrape(model)
    assert value(s, "argoscope_step_failures_total", namespace="ml", pipeline="train",
                 step="train", reason="ImagePullBackOff") == 1


def test_a_waiting_pod_seen_before_its_node_never_carries_the_run_name() -> None:
    from argoscope.exporter.model import PODS

    run = "train-x7k2p"
    model = Model()
    model.apply(WORKFLOWS, "ADDED", argo.workflow(run, [], phase="Running", finish=None))
    model.apply(PODS, "ADDED", argo.pod(run, f"{run}-1", phase="Pending",
                                        waiting="ImagePullBackOff", node_name=f"{run}(0)"))
    model.apply(PODS, "ADDED", argo.pod(run, f"{run}-2", phase="Pending",
                                        waiting="ImagePullBackOff",
                                        node_name=f"{run}.hooks.running"))
    s = scrape(model)
    steps = {dict(ls)["step"] for (n, ls), _ in s.items() if n == "argoscope_steps_waiting"}
    assert steps == {"main", "hooks.running"}
