"""The model's rules, one by one, over hand-written Argo-shaped objects."""

from __future__ import annotations

import copy

import pytest

from argoscope.exporter.model import PODS, WORKFLOWS, Model, ModelConfig
from argoscope.exporter.objects import encode_nodes
from tests.support.argo import T0, node, pod, workflow
from tests.support.clock import Clock
from tests.support.metrics import expose, samples, total, value


@pytest.fixture
def clock() -> Clock:
    return Clock(T0 + 1000)


@pytest.fixture
def model(clock: Clock) -> Model:
    return Model(clock=clock)


def scrape(model: Model) -> dict:
    return samples(expose(model.collect, model.stats.collect))


# --- identity --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("meta", "spec", "expected"),
    [
        ({"name": "a-1", "generateName": "a-", "labels": {
            "workflows.argoproj.io/workflow-template": "tmpl"}},
         {"workflowTemplateRef": {"name": "ref"}}, "ref"),
        ({"name": "a-1", "generateName": "a-", "labels": {
            "workflows.argoproj.io/workflow-template": "tmpl"}}, {}, "tmpl"),
        ({"name": "a-1", "generateName": "a-", "labels": {
            "workflows.argoproj.io/cron-workflow": "nightly"}}, {}, "nightly"),
        ({"name": "a-x7k2p", "generateName": "a-"}, {}, "a"),
        ({"name": "plain"}, {}, "plain"),
    ],
)
def test_pipeline_label_follows_design_rule(model: Model, meta, spec, expected) -> None:
    wf = workflow(meta["name"], [node(meta["name"], "s")])
    wf["metadata"].update(meta)
    wf["spec"] = spec
    model.apply(WORKFLOWS, "ADDED", wf)
    assert total(scrape(model), "argoscope_workflow_runs_total", pipeline=expected) == 1


def test_step_label_strips_retry_and_fanout_suffixes(model: Model) -> None:
    wf = workflow("w", [node("w", "train(0)", template="train"),
                        node("w", "fan(3:{\"a\":1})", template="fan"),
                        node("w", "fan(4:b)", template="fan")])
    model.apply(WORKFLOWS, "ADDED", wf)
    s = scrape(model)
    assert total(s, "argoscope_step_runs_total", step="train") == 1
    assert total(s, "argoscope_step_runs_total", step="fan") == 2
    assert {dict(ls)["step"] for (n, ls) in s if n == "argoscope_step_runs_total"} == {
        "train", "fan"}


# --- retries, skips, omissions -------------------------------------------------------------------


def test_retry_attempts_are_counted_and_the_retry_node_is_not(model: Model) -> None:
    a0 = node("w", "train(0)", phase="Failed", template="train", message="Error (exit code 1)")
    a1 = node("w", "train(1)", phase="Failed", template="train", message="Error (exit code 1)")
    a2 = node("w", "train(2)", phase="Succeeded", template="train")
    retry = node("w", "train", type="Retry", phase="Succeeded", template="train",
                 children=[a0[0], a1[0], a2[0]])
    model.apply(WORKFLOWS, "ADDED", workflow("w", [a0, a1, a2, retry]))
    s = scrape(model)
    assert value(s, "argoscope_step_runs_total", namespace="ml", pipeline="train", step="train",
                 template="train", phase="Failed") == 2
    assert value(s, "argoscope_step_runs_total", namespace="ml", pipeline="train", step="train",
                 template="train", phase="Succeeded") == 1
    assert total(s, "argoscope_step_runs_total") == 3
    assert value(s, "argoscope_step_retries_total", namespace="ml", pipeline="train",
                 step="train") == 2
    assert value(s, "argoscope_step_failures_total", namespace="ml", pipeline="train",
                 step="train", reason="Error") == 2


def test_skipped_and_omitted_steps_are_counted_without_duration(model: Model) -> None:
    wf = workflow("w", [node("w", "deploy", type="Skipped", phase="Skipped", template="deploy",
                             message="when 'false' evaluated false"),
                        node("w", "after", type="DAG", phase="Omitted", template="after",
                             start=None, finish=None)])
    model.apply(WORKFLOWS, "ADDED", wf)
    s = scrape(model)
    assert total(s, "argoscope_step_runs_total", step="deploy", phase="Skipped") == 1
    assert total(s, "argoscope_step_runs_total", step="after", phase="Omitted") == 1
    assert total(s, "argoscope_step_duration_seconds_count") == 0


def test_running_steps_are_not_counted_until_finished(model: Model) -> None:
    running = workflow("w", [node("w", "train", phase="Running")], phase="Running")
    model.apply(WORKFLOWS, "ADDED", running)
    assert total(scrape(model), "argoscope_step_runs_total") == 0
    assert total(scrape(model), "argoscope_workflow_runs_total") == 0
    done = workflow("w", [node("w", "train", phase="Succeeded", node_id="w-1000000")])
    running["status"]["nodes"] = done["status"]["nodes"]
    model.apply(WORKFLOWS, "MODIFIED", done)
    assert total(scrape(model), "argoscope_step_runs_total") == 1


# --- counting rules -----------------------------------------------------------------------------


def test_finished_objects_are_counted_once_across_updates(model: Model) -> None:
    wf = workflow("w", [node("w", "a", finish=30), node("w", "b", phase="Failed",
                                                         message="Error (exit code 2)")],
                  phase="Failed")
    for event in ("ADDED", "MODIFIED", "MODIFIED"):
        model.apply(WORKFLOWS, event, copy.deepcopy(wf))
    model.resync(WORKFLOWS, [copy.deepcopy(wf)], replay=False)
    s = scrape(model)
    assert value(s, "argoscope_workflow_runs_total", namespace="ml", pipeline="train",
                 phase="Failed") == 1
    assert total(s, "argoscope_step_runs_total") == 2
    assert total(s, "argoscope_step_duration_seconds_count") == 2
    assert total(s, "argoscope_workflow_duration_seconds_count") == 1


def test_replayed_history_sets_gauges_but_not_counters(model: Model) -> None:
    old = workflow("old", [node("old", "a")], start=0, finish=50)
    model.apply(WORKFLOWS, "LIST", old, replay=True)
    s = scrape(model)
    assert total(s, "argoscope_workflow_runs_total") == 0
    assert total(s, "argoscope_step_runs_total") == 0
    assert value(s, "argoscope_workflow_last_success_timestamp_seconds", namespace="ml",
                 pipeline="train") == T0 + 50
    assert value(s, "argoscope_workflow_run_info", namespace="ml", pipeline="train",
                 workflow="old", phase="Succeeded") == 1
    # A later update of the same finished object still adds nothing.
    model.apply(WORKFLOWS, "MODIFIED", old)
    assert total(scrape(model), "argoscope_workflow_runs_total") == 0
    # A run that was live at the first list and finishes later is counted.
    live = workflow("live", [node("live", "a", phase="Running")], phase="Running")
    model.apply(WORKFLOWS, "LIST", live, replay=True)
    model.apply(WORKFLOWS, "MODIFIED", workflow("live", [node("live", "a")]))
    s = scrape(model)
    assert total(s, "argoscope_workflow_runs_total") == 1
    assert total(s, "argoscope_step_runs_total") == 1


def test_resync_forgets_deleted_runs_and_counts_new_ones_once(model: Model) -> None:
    kept = workflow("kept", [node("kept", "a")])
    gone = workflow("gone", [node("gone", "a")], phase="Running")
    model.resync(WORKFLOWS, [kept, gone], replay=True)
    new = workflow("new", [node("new", "a")])
    model.resync(WORKFLOWS, [kept, new], replay=False)
    s = scrape(model)
    assert total(s, "argoscope_workflows") == 2
    assert total(s, "argoscope_workflows", phase="Running") == 0
    assert total(s, "argoscope_workflow_runs_total") == 1  # only "new"
    model.resync(WORKFLOWS, [kept, new], replay=False)
    assert total(scrape(model), "argoscope_workflow_runs_total") == 1


def test_name_reused_by_a_new_object_is_a_new_run(model: Model) -> None:
    model.apply(WORKFLOWS, "ADDED", workflow("w", [node("w", "a", node_id="w-1")], uid="u1"))
    model.apply(WORKFLOWS, "ADDED", workflow("w", [node("w", "a", node_id="w-1")], uid="u2"))
    s = scrape(model)
    assert total(s, "argoscope_workflow_runs_total") == 2
    assert total(s, "argoscope_step_runs_total") == 2


# --- durations, histograms, resources, pending ----------------------------------------------------


def test_durations_land_in_batch_sized_buckets(model: Model) -> None:
    model.apply(WORKFLOWS, "ADDED", workflow(
        "w", [node("w", "a", start=0, finish=90)], start=0, finish=5 * 3600))
    s = scrape(model)
    step = {"namespace": "ml", "pipeline": "train", "step": "a", "phase": "Succeeded"}
    assert value(s, "argoscope_step_duration_seconds_bucket", le="60.0", **step) == 0
    assert value(s, "argoscope_step_duration_seconds_bucket", le="120.0", **step) == 1
    assert value(s, "argoscope_step_duration_seconds_sum", **step) == 90
    run = {"namespace": "ml", "pipeline": "train", "phase": "Succeeded"}
    assert value(s, "argoscope_workflow_duration_seconds_bucket", le="14400.0", **run) == 0
    assert value(s, "argoscope_workflow_duration_seconds_bucket", le="28800.0", **run) == 1
    assert value(s, "argoscope_workflow_duration_seconds_bucket", le="+Inf", **run) == 1


def test_resources_duration_is_summed_per_resource(model: Model) -> None:
    model.apply(WORKFLOWS, "ADDED", workflow("w", [
        node("w", "train", resources={"cpu": 120, "memory": 60, "nvidia.com/gpu": 30}),
        node("w", "train(1)", template="train", resources={"cpu": 10})]))
    s = scrape(model)
    assert value(s, "argoscope_step_resource_seconds_total", namespace="ml", pipeline="train",
                 step="train", resource="cpu") == 130
    assert value(s, "argoscope_step_resource_seconds_total", namespace="ml", pipeline="train",
                 step="train", resource="nvidia.com/gpu") == 30


def test_pending_time_runs_from_node_start_to_main_container_start(model: Model) -> None:
    nid, body = node("w", "train", start=0, finish=400)
    model.apply(PODS, "ADDED", pod("w", nid, main_started=75, phase="Running"))
    model.apply(WORKFLOWS, "ADDED", workflow("w", [(nid, body)]))
    s = scrape(model)
    labels = {"namespace": "ml", "pipeline": "train", "step": "train"}
    assert value(s, "argoscope_step_pending_seconds_sum", **labels) == 75
    assert value(s, "argoscope_step_pending_seconds_bucket", le="60.0", **labels) == 0
    assert value(s, "argoscope_step_pending_seconds_bucket", le="120.0", **labels) == 1


# --- failure and waiting reasons ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("main: OOMKilled (exit code 137)", "OOMKilled"),
        ("OOMKilled (exit code 137)", "OOMKilled"),
        ("Error (exit code 1)", "Error"),
        ("failed with exit code 1", "Error"),
        ("Pod was active on the node longer than the specified deadline", "DeadlineExceeded"),
        ("The node was low on resource: memory. Container main was using 2Gi", "Evicted"),
        ("pod deleted", "PodDeleted"),
        ("", "Error"),
    ],
)
def test_failure_reason_from_node_message(model: Model, message: str, expected: str) -> None:
    model.apply(WORKFLOWS, "ADDED", workflow(
        "w", [node("w", "a", phase="Failed", message=message or None)], phase="Failed"))
    assert value(scrape(model), "argoscope_step_failures_total", namespace="ml",
                 pipeline="train", step="a", reason=expected) == 1


@pytest.mark.parametrize(
    ("pod_kwargs", "expected"),
    [
        ({"terminated": {"reason": "OOMKilled", "exitCode": 137}}, "OOMKilled"),
        ({"reason": "Evicted", "terminated": {"reason": "Error", "exitCode": 137}}, "Evicted"),
        ({"reason": "DeadlineExceeded"}, "DeadlineExceeded"),
        ({"terminated": {"reason": "Error", "exitCode": 2}}, "Error"),
    ],
)
def test_failure_reason_from_pod(model: Model, pod_kwargs, expected: str) -> None:
    nid, body = node("w", "a", phase="Failed", message="failed with exit code 1")
    model.apply(PODS, "ADDED", pod("w", nid, phase="Failed", **pod_kwargs))
    model.apply(WORKFLOWS, "ADDED", workflow("w", [(nid, body)], phase="Failed"))
    assert value(scrape(model), "argoscope_step_failures_total", namespace="ml",
                 pipeline="train", step="a", reason=expected) == 1


def test_pod_deleted_by_pod_gc_keeps_its_failure_reason(model: Model) -> None:
    nid, body = node("w", "a", phase="Running")
    model.apply(WORKFLOWS, "ADDED", workflow("w", [(nid, body)], phase="Running"))
    oom = pod("w", nid, phase="Failed", terminated={"reason": "OOMKilled", "exitCode": 137})
    model.apply(PODS, "MODIFIED", oom)
    # podGC deletes the pod; the DELETED event carries a bare final state.
    bare = pod("w", nid, phase="Failed")
    model.apply(PODS, "DELETED", bare)
    nid2, failed = node("w", "a", phase="Failed", node_id=nid, message="")
    model.apply(WORKFLOWS, "MODIFIED", workflow("w", [(nid2, failed)], phase="Failed"))
    assert value(scrape(model), "argoscope_step_failures_total", namespace="ml",
                 pipeline="train", step="a", reason="OOMKilled") == 1


def test_waiting_pods_by_reason_and_insufficient_gpu(model: Model) -> None:
    n1, b1 = node("w", "train", phase="Pending")
    n2, b2 = node("w", "prep", phase="Running")
    model.apply(WORKFLOWS, "ADDED", workflow("w", [(n1, b1), (n2, b2)], phase="Running"))
    model.apply(PODS, "ADDED", pod(
        "w", n1, phase="Pending", gpus=1,
        unschedulable="0/3 nodes are available: 3 Insufficient nvidia.com/gpu."))
    model.apply(PODS, "ADDED", pod("w", n2, phase="Pending", waiting="ImagePullBackOff"))
    s = scrape(model)
    assert value(s, "argoscope_steps_waiting", namespace="ml", pipeline="train", step="train",
                 reason="Unschedulable") == 1
    assert value(s, "argoscope_steps_waiting_insufficient_resource", namespace="ml",
                 pipeline="train", step="train", resource="nvidia.com/gpu") == 1
    assert value(s, "argoscope_steps_waiting", namespace="ml", pipeline="train", step="prep",
                 reason="ImagePullBackOff") == 1
    # The step fails while still waiting: the waiting reason explains the failure.
    model.apply(PODS, "MODIFIED", pod("w", n2, phase="Failed"))
    _, failed = node("w", "prep", phase="Failed", node_id=n2,
                     message="Pod was active on the node longer than the specified deadline")
    _, pending = node("w", "train", phase="Pending", node_id=n1)
    model.apply(WORKFLOWS, "MODIFIED", workflow("w", [(n1, pending), (n2, failed)],
                                                phase="Running"))
    s = scrape(model)
    assert total(s, "argoscope_steps_waiting", step="prep") == 0
    assert value(s, "argoscope_step_failures_total", namespace="ml", pipeline="train",
                 step="prep", reason="DeadlineExceeded") == 1


# --- node encodings and offloading ---------------------------------------------------------------


def test_compressed_nodes_are_decoded(model: Model) -> None:
    wf = workflow("w", [node("w", "a"), node("w", "b", phase="Failed")], phase="Failed")
    wf["status"]["compressedNodes"] = encode_nodes(wf["status"].pop("nodes"))
    model.apply(WORKFLOWS, "ADDED", wf)
    s = scrape(model)
    assert total(s, "argoscope_step_runs_total") == 2
    assert total(s, "argoscope_step_runs_total", phase="Failed") == 1


def test_offloaded_runs_are_reported_not_guessed(model: Model) -> None:
    wf = workflow("w", [], phase="Succeeded")
    del wf["status"]["nodes"]
    wf["status"]["offloadNodeStatusVersion"] = "fnv:123"
    model.apply(WORKFLOWS, "ADDED", wf)
    s = scrape(model)
    assert value(s, "argoscope_workflows_nodes_offloaded", namespace="ml", pipeline="train") == 1
    assert total(s, "argoscope_workflow_runs_total") == 1
    assert total(s, "argoscope_step_runs_total") == 0


# --- bad input --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mutate",
    [
        lambda wf: wf["metadata"].pop("name"),
        lambda wf: wf["status"].__setitem__("startedAt", "yesterday"),
        lambda wf: wf["status"].__setitem__("nodes", ["not", "a", "map"]),
        lambda wf: wf["status"].update(nodes=None, compressedNodes="!!notbase64gzip"),
        lambda wf: wf.__setitem__("status", "broken"),
        lambda wf: wf.__setitem__("kind", "ConfigMap"),
    ],
)
def test_malformed_workflow_is_skipped_counted_and_the_rest_served(model: Model, mutate) -> None:
    bad = workflow("bad", [node("bad", "a")])
    mutate(bad)
    model.apply(WORKFLOWS, "ADDED", bad)
    model.apply(WORKFLOWS, "ADDED", "not an object")
    model.apply(WORKFLOWS, "ADDED", workflow("good", [node("good", "a")]))
    s = scrape(model)
    assert value(s, "argoscope_exporter_objects_skipped_total", resource="workflows",
                 reason="malformed") == 2
    assert total(s, "argoscope_workflow_runs_total") == 1
    assert total(s, "argoscope_workflow_run_info", workflow="good") == 1


def test_pod_without_workflow_label_or_metadata_is_skipped(model: Model) -> None:
    model.apply(PODS, "ADDED", {"kind": "Pod", "status": {"phase": "Failed"}})
    stray = pod("w", "x")
    stray["metadata"]["labels"] = {}
    model.apply(PODS, "ADDED", stray)
    assert value(scrape(model), "argoscope_exporter_objects_skipped_total", resource="pods",
                 reason="malformed") == 2


def test_argo_v2_objects_without_newer_fields_are_read(model: Model) -> None:
    wf = {
        "metadata": {"name": "coinflip-abc", "namespace": "default",
                     "creationTimestamp": "2018-06-11T22:49:26Z"},
        "spec": {"entrypoint": "coinflip", "templates": []},
        "status": {"phase": "Failed", "startedAt": "2018-06-11T22:49:26Z",
                   "finishedAt": "0001-01-01T00:00:00Z", "nodes": {
                       "coinflip-abc-1": {"id": "coinflip-abc-1", "name": "coinflip-abc[0].flip",
                                          "displayName": "flip", "type": "Pod",
                                          "phase": "Succeeded", "outputs": {"result": "heads"}}}},
    }
    model.apply_object(wf)
    s = scrape(model)
    assert total(s, "argoscope_workflow_runs_total", pipeline="coinflip-abc") == 1
    assert total(s, "argoscope_step_runs_total", step="flip") == 1
    assert total(s, "argoscope_workflow_duration_seconds_count") == 0  # no finish time


# --- recent runs and caps ----------------------------------------------------------------------------


def test_recent_runs_window_and_cap(clock: Clock) -> None:
    model = Model(ModelConfig(recent_runs_retention_seconds=600, recent_runs_max=3), clock=clock)
    clock.now = T0 + 2000
    model.apply(WORKFLOWS, "ADDED", workflow("old", [], start=0, finish=100))  # out of window
    for i in range(3):
        model.apply(WORKFLOWS, "ADDED", workflow(f"done{i}", [], start=1500, finish=1600 + i))
    model.apply(WORKFLOWS, "ADDED", workflow("live", [], phase="Running", start=1900))
    s = scrape(model)
    runs = {dict(ls)["workflow"] for (n, ls) in s if n == "argoscope_workflow_run_info"}
    assert runs == {"live", "done2", "done1"}  # live first, then most recent, capped at 3
    assert value(s, "argoscope_workflow_run_age_seconds", namespace="ml", pipeline="train",
                 workflow="live") == 100
    assert value(s, "argoscope_exporter_series_dropped_total",
                 family="argoscope_workflow_run_info") == 1
    # A finished run whose object is deleted stays recent until the window passes.
    model.apply(WORKFLOWS, "DELETED", workflow("done2", [], start=1500, finish=1602))
    s = scrape(model)
    assert value(s, "argoscope_workflow_run_info", namespace="ml", pipeline="train",
                 workflow="done2", phase="Succeeded") == 1
    assert total(s, "argoscope_workflows") == 4
    clock.now = T0 + 1602 + 601
    s = scrape(model)
    assert total(s, "argoscope_workflow_run_info", workflow="done2") == 0


def test_series_cap_drops_and_counts(clock: Clock) -> None:
    model = Model(ModelConfig(max_series_per_family=2), clock=clock)
    for name in ("p1", "p2", "p3"):
        model.apply(WORKFLOWS, "ADDED", workflow(name, [], template_ref=name))
    s = scrape(model)
    assert len({ls for (n, ls) in s if n == "argoscope_workflow_runs_total"}) == 2
    assert value(s, "argoscope_exporter_series_dropped_total",
                 family="argoscope_workflow_runs") == 1


def test_long_user_names_are_capped(model: Model) -> None:
    model.apply(WORKFLOWS, "ADDED", workflow("w", [node("w", "s" * 500)], template_ref="p" * 500))
    s = scrape(model)
    (labels,) = [dict(ls) for (n, ls) in s if n == "argoscope_step_retries_total" or
                 n == "argoscope_step_runs_total"]
    assert len(labels["pipeline"]) == 128 and len(labels["step"]) == 128


def test_last_event_age_and_events_by_type(model: Model, clock: Clock) -> None:
    model.apply(WORKFLOWS, "ADDED", workflow("w", []))
    model.apply(WORKFLOWS, "MODIFIED", workflow("w", []))
    clock.now += 42
    s = scrape(model)
    assert value(s, "argoscope_exporter_events_total", resource="workflows", type="ADDED") == 1
    assert value(s, "argoscope_exporter_events_total", resource="workflows",
                 type="MODIFIED") == 1
    assert value(s, "argoscope_exporter_last_event_age_seconds", resource="workflows") == 42


def test_live_pods_are_the_unfinished_existing_ones_with_their_step(model: Model,
                                                                     clock: Clock) -> None:
    n1, b1 = node("w", "train", phase="Running")
    n2, b2 = node("w", "prep")
    model.apply(WORKFLOWS, "ADDED", workflow("w", [(n1, b1), (n2, b2)], phase="Running"))
    model.apply(PODS, "ADDED", pod("w", n1, phase="Running", gpus=2, host="gpu-7"))
    model.apply(PODS, "ADDED", pod("w", n2, phase="Succeeded",
                                   terminated={"reason": "Completed", "exitCode": 0}))
    model.apply(PODS, "ADDED", pod("other", "other-1", phase="Running"))  # run not seen yet
    live = {p.pod: p for p in model.live_pods()}
    assert set(live) == {n1, "other-1"}
    assert live[n1].gpus == 2 and live[n1].host == "gpu-7"
    assert live[n1].step is not None and (live[n1].step.pipeline, live[n1].step.step) == (
        "train", "train")
    assert live["other-1"].step is None
    model.apply(PODS, "DELETED", pod("w", n1, phase="Running"))
    assert {p.pod for p in model.live_pods()} == {"other-1"}
    # Deleted pods of a deleted run are forgotten once their retention has passed.
    model.apply(WORKFLOWS, "DELETED", workflow("w", []))
    model.apply(PODS, "DELETED", pod("other", "other-1"))
    clock.now += model.config.deleted_pod_retention_seconds + 1
    model.prune()
    assert model.pod_count() == 0


def test_a_relist_forgets_only_its_own_sources_objects(model: Model) -> None:
    model.apply(WORKFLOWS, "ADDED", workflow("local-run", []), origin="local")
    model.apply(PODS, "ADDED", pod("local-run", "local-run-1"), origin="local")
    cluster_run = workflow("cluster-run", [], phase="Running")
    model.resync(WORKFLOWS, [cluster_run], replay=False, origin="kubernetes")
    model.resync(PODS, [], replay=False, origin="kubernetes")
    s = scrape(model)
    assert total(s, "argoscope_workflow_run_info", workflow="local-run") == 1
    assert total(s, "argoscope_workflow_run_info", workflow="cluster-run") == 1
    assert {p.pod for p in model.live_pods()} == {"local-run-1"}
    model.resync(WORKFLOWS, [], replay=False, origin="kubernetes")
    s = scrape(model)
    assert total(s, "argoscope_workflows", phase="Running") == 0
    assert total(s, "argoscope_workflows", phase="Succeeded") == 1  # local-run stays
