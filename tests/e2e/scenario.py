"""The scenario of the end-to-end tests: Argo-shaped objects written to a state directory as the
local runner does, a history of step durations backfilled with promtool, and a dcgm-exporter
double serving captured exposition text.

A live `train` run (GPU pods, pods waiting for GPUs and for their image) and waves of finished
runs: successes, failures with OOMKilled retries, Skipped and Omitted steps, resourcesDuration,
pending time and `argoscope-checks` documents (expectations, drift with features, a model gate).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.openmetrics.exposition import generate_latest
from prometheus_client.utils import floatToGoString

from argoscope.exporter.families import DURATION_BUCKETS, STEP_DURATION
from tests.support import servers
from tests.support.net import serving

DATA = Path(__file__).resolve().parents[1] / "data" / "e2e"
DCGM_PAGE = DATA / "dcgm-train-live.txt"
NAMESPACE = "ml"
JOB = "argoscope"
# Live, then the most recently finished: the oldest finished runs are dropped (and counted).
RECENT_RUNS_MAX = 4
HOUR = 3600.0


# --- Argo-shaped objects in the state directory ------------------------------------------------

def iso_time(unix: float) -> str:
    """A Unix time as Kubernetes writes it (RFC 3339, UTC, seconds)."""
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def argo_node(run: str, step: str, phase: str, started: float | None,
              finished: float | None = None, *, node_type: str = "Pod", message: str = "",
              children: list[str] | None = None, resources: Mapping[str, int] | None = None,
              checks: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A node of a Workflow's status: a step attempt (Pod), a Retry parent or a DAG."""
    node: dict[str, Any] = {"id": f"{run}-{step}", "name": f"{run}.{step}", "displayName": step,
                            "type": node_type, "templateName": step.split("(")[0],
                            "phase": phase, "boundaryID": run}
    if started is not None:
        node["startedAt"] = iso_time(started)
    if finished is not None:
        node["finishedAt"] = iso_time(finished)
    if message:
        node["message"] = message
    if children is not None:
        node["children"] = children
    if resources is not None:
        node["resourcesDuration"] = dict(resources)
    if checks is not None:
        node["outputs"] = {"parameters": [{"name": "argoscope-checks",
                                           "value": json.dumps(checks)}]}
    return node


def argo_workflow(run: str, pipeline: str, phase: str, started: float, finished: float | None,
                  nodes: list[dict[str, Any]]) -> dict[str, Any]:
    """A Workflow in namespace `ml` of `pipeline` (its WorkflowTemplate), with its DAG node."""
    status: dict[str, Any] = {"phase": phase, "startedAt": iso_time(started),
                              "nodes": {node["id"]: node for node in nodes}}
    status["nodes"][run] = {"id": run, "name": run, "displayName": run, "type": "DAG",
                            "phase": phase, "startedAt": iso_time(started),
                            "children": [node["id"] for node in nodes]}
    if finished is not None:
        status["finishedAt"] = iso_time(finished)
        status["nodes"][run]["finishedAt"] = iso_time(finished)
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
            "metadata": {"name": run, "namespace": NAMESPACE, "uid": f"uid-{run}",
                         "creationTimestamp": iso_time(started),
                         "labels": {"workflows.argoproj.io/workflow-template": pipeline}},
            "spec": {"workflowTemplateRef": {"name": pipeline}}, "status": status}


def argo_pod(run: str, step: str, phase: str, *, main: Mapping[str, Any] | None = None,
             gpus: int = 0, unschedulable: str = "") -> dict[str, Any]:
    """The pod of node `<run>-<step>`, named like the node (Argo's v1 pod names)."""
    resources = {"limits": {"nvidia.com/gpu": str(gpus)}} if gpus else {}
    status: dict[str, Any] = {"phase": phase, "containerStatuses": []}
    if main is not None:
        status["containerStatuses"] = [{"name": "main", "state": dict(main)}]
    if unschedulable:
        status["conditions"] = [{"type": "PodScheduled", "status": "False",
                                 "reason": "Unschedulable", "message": unschedulable}]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"{run}-{step}", "namespace": NAMESPACE,
                         "labels": {"workflows.argoproj.io/workflow": run},
                         "annotations": {"workflows.argoproj.io/node-id": f"{run}-{step}",
                                         "workflows.argoproj.io/node-name": f"{run}.{step}"}},
            "spec": {"nodeName": "gpu-node" if gpus else "cpu-node",
                     "containers": [{"name": "wait"}, {"name": "main", "resources": resources}]},
            "status": status}


def write_object(state: Path, folder: str, obj: Mapping[str, Any]) -> None:
    """Replace one object file atomically, as the local runner does."""
    path = state / folder / f"{obj['metadata']['name']}.json"
    partial = path.with_name(f".{path.name}.tmp")
    partial.write_text(json.dumps(obj))
    os.replace(partial, path)


def live_run(state: Path, now: float) -> None:
    """A running `train` run: a GPU step DCGM sees, a GPU step it does not, and two steps
    whose pods wait (no GPU free; image pull failing)."""
    run = "train-live"
    write_object(state, "pods", argo_pod(run, "fit", "Running", gpus=2,
                               main={"running": {"startedAt": iso_time(now - 500)}}))
    write_object(state, "pods", argo_pod(run, "embed", "Running", gpus=1,
                               main={"running": {"startedAt": iso_time(now - 400)}}))
    write_object(state, "pods", argo_pod(run, "tune", "Pending", gpus=4, unschedulable=(
        "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.")))
    write_object(state, "pods", argo_pod(run, "load", "Pending", main={"waiting": {
        "reason": "ImagePullBackOff", "message": "Back-off pulling image"}}))
    write_object(state, "workflows", argo_workflow(run, "train", "Running", now - 600, None, [
        argo_node(run, "fit", "Running", now - 520), argo_node(run, "embed", "Running", now - 420),
        argo_node(run, "tune", "Pending", now - 300), argo_node(run, "load", "Pending", now - 200)]))


def checks_document(drift_share: float) -> dict[str, Any]:
    """An argoscope-checks document: two expectations (one failed), a drift check with
    per-feature scores and a model gate."""
    return {"schema": "argoscope.checks/v1", "results": [
        {"check": "no_null_labels", "kind": "expectation", "status": "passed",
         "value": 0.0, "threshold": 0.0},
        {"check": "label_in_range", "kind": "expectation", "status": "failed",
         "value": 12.0, "threshold": 0.0},
        {"check": "input_drift", "kind": "drift", "status": "failed", "value": drift_share,
         "threshold": 0.5, "features": [
             {"feature": "age", "method": "wasserstein", "score": 0.31, "threshold": 0.1,
              "drifted": True},
             {"feature": "income", "method": "psi", "score": 0.04, "threshold": 0.2,
              "drifted": False}]},
        {"check": "accuracy", "kind": "gate", "status": "passed", "value": 0.91,
         "threshold": 0.85, "op": ">"}]}


def finished_wave(state: Path, wave: int, now: float) -> None:
    """One wave of finished runs: `train` succeeds after an OOMKilled retry of `fit` and
    reports checks; `train` fails on an OOMKilled `fit` (later steps Omitted and Skipped);
    `etl` succeeds. Pods go first, so the failed step's pod is known when it is counted."""
    ok, failed, etl = f"train-ok-{wave}", f"train-failed-{wave}", f"etl-ok-{wave}"
    cpu = {"cpu": 120, "memory": 900}
    gpu = {"cpu": 600, "memory": 4000, "nvidia.com/gpu": 1200}
    start = now - 3000
    for run in (ok, failed):
        write_object(state, "pods", argo_pod(run, "prepare", "Succeeded", main={"terminated": {
            "startedAt": iso_time(start + 25), "finishedAt": iso_time(start + 300), "exitCode": 0,
            "reason": "Completed"}}))
    write_object(state, "pods", argo_pod(failed, "fit", "Failed", gpus=1, main={"terminated": {
        "startedAt": iso_time(start + 330), "finishedAt": iso_time(start + 900), "exitCode": 137,
        "reason": "OOMKilled"}}))
    write_object(state, "workflows", argo_workflow(etl, "etl", "Succeeded", now - 2400, now - 1800, [
        argo_node(etl, "extract", "Succeeded", now - 2400, now - 1800, resources=cpu)]))
    write_object(state, "workflows", argo_workflow(ok, "train", "Succeeded", start, now - 300, [
        argo_node(ok, "prepare", "Succeeded", start, start + 300, resources=cpu),
        argo_node(ok, "fit", "Succeeded", start + 300, now - 900, node_type="Retry",
              children=[f"{ok}-fit(0)", f"{ok}-fit(1)"]),
        argo_node(ok, "fit(0)", "Failed", start + 300, start + 900, resources=gpu,
              message="OOMKilled (exit code 137)"),
        argo_node(ok, "fit(1)", "Succeeded", start + 900, now - 900, resources=gpu),
        argo_node(ok, "evaluate", "Succeeded", now - 900, now - 300, resources=cpu,
              checks=checks_document(0.4 + 0.2 * wave))]))
    write_object(state, "workflows", argo_workflow(failed, "train", "Failed", start, now - 60, [
        argo_node(failed, "prepare", "Succeeded", start, start + 300, resources=cpu),
        argo_node(failed, "fit", "Failed", start + 300, start + 900, resources=gpu,
              message="OOMKilled (exit code 137)"),
        argo_node(failed, "evaluate", "Omitted", None),
        argo_node(failed, "publish", "Skipped", None, message="when 'false' evaluated false")]))


# --- history, written before Prometheus starts --------------------------------------------------

class History:
    """Step durations of `train` over the last hours, as an earlier exporter served them;
    once per cluster label value when `clusters` are given (as a central Prometheus holds them)."""

    def __init__(self, now: float, clusters: Sequence[str] = ()) -> None:
        self.now = now
        self.clusters = clusters

    def collect(self) -> Iterator[Metric]:
        extra = ("cluster",) if self.clusters else ()
        family = HistogramMetricFamily(STEP_DURATION.name, STEP_DURATION.help,
                                       labels=(*extra, "job", *STEP_DURATION.labels))
        for cluster in self.clusters or [""]:
            self._add(family, [cluster] if self.clusters else [])
        yield family

    def _add(self, family: HistogramMetricFamily, cluster: list[str]) -> None:
        for step, seconds in (("prepare", 280.0), ("fit", 1100.0), ("evaluate", 500.0)):
            # One finished attempt every 10 minutes, from 4 hours ago to 70 minutes ago.
            for index, moment in enumerate(range(int(self.now - 4 * HOUR),
                                                 int(self.now - 70 * 60), 600), start=1):
                buckets = [(floatToGoString(bound), float(index if seconds <= bound else 0))
                           for bound in DURATION_BUCKETS] + [("+Inf", float(index))]
                family.add_metric([*cluster, JOB, NAMESPACE, "train", step, "Succeeded"],
                                  buckets, index * seconds, timestamp=float(moment))


def backfill(target: Path, now: float, clusters: Sequence[str] = ()) -> Path:
    """A TSDB directory holding the history, written by `promtool tsdb create-blocks-from`."""
    promtool = servers.require_binary("promtool")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(History(now, clusters))
    source = target / "history.om"
    source.write_bytes(generate_latest(registry))
    data = target / "prometheus-data"
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(source),
                    str(data)], check=True, capture_output=True, timeout=60)
    return data


# --- SLOs of the scenario's pipelines --------------------------------------------------------------

# The shipped SLOs (alerts/slo/) are the reference pipeline's; these hold the scenario's
# pipeline to objectives, so that the SLO dashboard has series to show. Occurrences SLIs only:
# a timeslice group evaluates once a minute, longer than the tests wait.
SCENARIO_SLOS = f"""
slos:
  - {{name: e2e-train-success, sli: run_success, pipeline: train, namespace: {NAMESPACE}, objective: 0.9}}
  - {{name: e2e-train-checks, sli: checks_passing, pipeline: train, objective: 0.95}}
"""


def slo_rules(target: Path) -> Path:
    """A rule file `argoscope slo generate` writes for SCENARIO_SLOS, under `target`."""
    from argoscope.slo.load import parse_text
    from argoscope.slo.rules import render

    path = target / "scenario-slo.yaml"
    path.write_text(render(parse_text(SCENARIO_SLOS, "scenario-slos.yaml"), ["scenario-slos.yaml"]),
                    encoding="utf-8")
    return path


# --- the dcgm-exporter double ----------------------------------------------------------------------

@contextlib.contextmanager
def dcgm_exporter(page: bytes) -> Iterator[str]:
    """A loopback dcgm-exporter serving `page` at /metrics; yields the URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        yield f"{url}/metrics"


