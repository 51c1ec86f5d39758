"""End to end: every panel query of every shipped dashboard returns data from a real
Prometheus scraping the real exporter.

The exporter follows a local state directory (the local runner's contract) holding a live run
(GPU pods, pods waiting for GPUs and for their image) and, written once it is ready, two waves
of finished runs: successes, failures with OOMKilled retries, Skipped and Omitted steps,
resourcesDuration, pending time and `argoscope-checks` documents (expectations, drift with
features, a model gate). A loopback dcgm-exporter double serves GPUs of the live step pod and
one of no pod; a second DCGM target is down; a malformed file is skipped; a low
`--recent-runs-max` drops series. A second exporter, under the same job, follows a Kubernetes
API-server double whose watch is dropped once (watch restarts). Prometheus scrapes both every
second with the shipped recording and alerting rules, on top of a history of the last hours
written beforehand with `promtool tsdb create-blocks-from openmetrics` for the panels that
compare with history (`[7d] offset 1h`).

Variables are substituted as Grafana does: every query goes to the `datasource` variable's
Prometheus; query variables are resolved with their own `label_values(...)` queries; `All`
becomes the variable's `allValue` (`.*`); `$__range` is the dashboard's default time range and
`$__rate_interval` what Grafana derives for it. Every query is run twice, with everything on
All, and with one namespace and pipeline picked. A query has data when at least one sample is
a number (not the NaN of 0/0).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import subprocess
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.openmetrics.exposition import generate_latest
from prometheus_client.utils import floatToGoString

from argoscope.dashboards import dashboards
from argoscope.exporter.families import DURATION_BUCKETS, STEP_DURATION
from tests.alerts.rules import RULE_FILES
from tests.support import servers
from tests.support.apiserver import PODS, WORKFLOWS, ApiServerDouble
from tests.support.net import free_port, http_get, serving, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DATA = Path(__file__).resolve().parents[1] / "data" / "e2e"
DCGM_PAGE = DATA / "dcgm-train-live.txt"
NAMESPACE = "ml"
JOB = "argoscope"
# Grafana's $__rate_interval is max($__interval + scrape interval, 4 x scrape interval); with
# the dashboards' 24h default range, $__interval is about a minute.
INTERVAL = "1m"
RATE_INTERVAL = "2m"
# Live, then the most recently finished: the oldest finished runs are dropped (and counted).
RECENT_RUNS_MAX = 4
HOUR = 3600.0


# --- Argo-shaped objects in the state directory ------------------------------------------------

def _time(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _node(run: str, step: str, phase: str, started: float | None, finished: float | None = None,
          *, node_type: str = "Pod", message: str = "", children: list[str] | None = None,
          resources: Mapping[str, int] | None = None,
          checks: Mapping[str, Any] | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"id": f"{run}-{step}", "name": f"{run}.{step}", "displayName": step,
                            "type": node_type, "templateName": step.split("(")[0],
                            "phase": phase, "boundaryID": run}
    if started is not None:
        node["startedAt"] = _time(started)
    if finished is not None:
        node["finishedAt"] = _time(finished)
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


def _workflow(run: str, pipeline: str, phase: str, started: float, finished: float | None,
              nodes: list[dict[str, Any]]) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase, "startedAt": _time(started),
                              "nodes": {node["id"]: node for node in nodes}}
    status["nodes"][run] = {"id": run, "name": run, "displayName": run, "type": "DAG",
                            "phase": phase, "startedAt": _time(started),
                            "children": [node["id"] for node in nodes]}
    if finished is not None:
        status["finishedAt"] = _time(finished)
        status["nodes"][run]["finishedAt"] = _time(finished)
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
            "metadata": {"name": run, "namespace": NAMESPACE, "uid": f"uid-{run}",
                         "creationTimestamp": _time(started),
                         "labels": {"workflows.argoproj.io/workflow-template": pipeline}},
            "spec": {"workflowTemplateRef": {"name": pipeline}}, "status": status}


def _pod(run: str, step: str, phase: str, *, main: Mapping[str, Any] | None = None,
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


def _write(state: Path, folder: str, obj: Mapping[str, Any]) -> None:
    """Replace one object file atomically, as the local runner does."""
    path = state / folder / f"{obj['metadata']['name']}.json"
    partial = path.with_name(f".{path.name}.tmp")
    partial.write_text(json.dumps(obj))
    os.replace(partial, path)


def _live_run(state: Path, now: float) -> None:
    """A running `train` run: a GPU step DCGM sees, a GPU step it does not, and two steps
    whose pods wait (no GPU free; image pull failing)."""
    run = "train-live"
    _write(state, "pods", _pod(run, "fit", "Running", gpus=2,
                               main={"running": {"startedAt": _time(now - 500)}}))
    _write(state, "pods", _pod(run, "embed", "Running", gpus=1,
                               main={"running": {"startedAt": _time(now - 400)}}))
    _write(state, "pods", _pod(run, "tune", "Pending", gpus=4, unschedulable=(
        "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.")))
    _write(state, "pods", _pod(run, "load", "Pending", main={"waiting": {
        "reason": "ImagePullBackOff", "message": "Back-off pulling image"}}))
    _write(state, "workflows", _workflow(run, "train", "Running", now - 600, None, [
        _node(run, "fit", "Running", now - 520), _node(run, "embed", "Running", now - 420),
        _node(run, "tune", "Pending", now - 300), _node(run, "load", "Pending", now - 200)]))


def _checks(drift_share: float) -> dict[str, Any]:
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


def _finished_wave(state: Path, wave: int, now: float) -> None:
    """One wave of finished runs: `train` succeeds after an OOMKilled retry of `fit` and
    reports checks; `train` fails on an OOMKilled `fit` (later steps Omitted and Skipped);
    `etl` succeeds. Pods go first, so the failed step's pod is known when it is counted."""
    ok, failed, etl = f"train-ok-{wave}", f"train-failed-{wave}", f"etl-ok-{wave}"
    cpu = {"cpu": 120, "memory": 900}
    gpu = {"cpu": 600, "memory": 4000, "nvidia.com/gpu": 1200}
    start = now - 3000
    for run in (ok, failed):
        _write(state, "pods", _pod(run, "prepare", "Succeeded", main={"terminated": {
            "startedAt": _time(start + 25), "finishedAt": _time(start + 300), "exitCode": 0,
            "reason": "Completed"}}))
    _write(state, "pods", _pod(failed, "fit", "Failed", gpus=1, main={"terminated": {
        "startedAt": _time(start + 330), "finishedAt": _time(start + 900), "exitCode": 137,
        "reason": "OOMKilled"}}))
    _write(state, "workflows", _workflow(etl, "etl", "Succeeded", now - 2400, now - 1800, [
        _node(etl, "extract", "Succeeded", now - 2400, now - 1800, resources=cpu)]))
    _write(state, "workflows", _workflow(ok, "train", "Succeeded", start, now - 300, [
        _node(ok, "prepare", "Succeeded", start, start + 300, resources=cpu),
        _node(ok, "fit", "Succeeded", start + 300, now - 900, node_type="Retry",
              children=[f"{ok}-fit(0)", f"{ok}-fit(1)"]),
        _node(ok, "fit(0)", "Failed", start + 300, start + 900, resources=gpu,
              message="OOMKilled (exit code 137)"),
        _node(ok, "fit(1)", "Succeeded", start + 900, now - 900, resources=gpu),
        _node(ok, "evaluate", "Succeeded", now - 900, now - 300, resources=cpu,
              checks=_checks(0.4 + 0.2 * wave))]))
    _write(state, "workflows", _workflow(failed, "train", "Failed", start, now - 60, [
        _node(failed, "prepare", "Succeeded", start, start + 300, resources=cpu),
        _node(failed, "fit", "Failed", start + 300, start + 900, resources=gpu,
              message="OOMKilled (exit code 137)"),
        _node(failed, "evaluate", "Omitted", None),
        _node(failed, "publish", "Skipped", None, message="when 'false' evaluated false")]))


# --- history, written before Prometheus starts --------------------------------------------------

class _History:
    """Step durations of `train` over the last hours, as an earlier exporter served them."""

    def __init__(self, now: float) -> None:
        self.now = now

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(STEP_DURATION.name, STEP_DURATION.help,
                                       labels=("job", *STEP_DURATION.labels))
        for step, seconds in (("prepare", 280.0), ("fit", 1100.0), ("evaluate", 500.0)):
            # One finished attempt every 10 minutes, from 4 hours ago to 70 minutes ago.
            for index, moment in enumerate(range(int(self.now - 4 * HOUR),
                                                 int(self.now - 70 * 60), 600), start=1):
                buckets = [(floatToGoString(bound), float(index if seconds <= bound else 0))
                           for bound in DURATION_BUCKETS] + [("+Inf", float(index))]
                family.add_metric([JOB, NAMESPACE, "train", step, "Succeeded"], buckets,
                                  index * seconds, timestamp=float(moment))
        yield family


def _backfill(target: Path, now: float) -> Path:
    """A TSDB directory holding the history, written by `promtool tsdb create-blocks-from`."""
    promtool = servers.require_binary("promtool")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_History(now))
    source = target / "history.om"
    source.write_bytes(generate_latest(registry))
    data = target / "prometheus-data"
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(source),
                    str(data)], check=True, capture_output=True, timeout=60)
    return data


# --- the dcgm-exporter double ----------------------------------------------------------------------

@contextlib.contextmanager
def _dcgm_exporter(page: bytes) -> Iterator[str]:
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


# --- Grafana's variable substitution ------------------------------------------------------------

_LABEL_VALUES = re.compile(r"^label_values\((?:(?P<selector>.*),\s*)?(?P<label>\w+)\)$")
_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")


def _substitute(text: str, values: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        if name not in values:
            raise AssertionError(f"variable ${name} has no value in {text!r}")
        return values[name]

    return _VARIABLE.sub(replace, text)


def _regex_value(values: list[str]) -> str:
    """A multi-value selection as Grafana renders it for Prometheus: an escaped alternation."""
    escaped = [re.sub(r"([\\^$.|?*+()\[\]{}])", r"\\\\\1", value) for value in values]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def _label_values(prom_url: str, query: str) -> list[str]:
    """What Grafana's `label_values([selector,] label)` variable query returns."""
    match = _LABEL_VALUES.match(query.strip())
    assert match, f"not a label_values query: {query!r}"
    params = [("match[]", match["selector"])] if match["selector"] else []
    url = (f"{prom_url}/api/v1/label/{match['label']}/values?"
           + urllib.parse.urlencode(params))
    body = json.loads(http_get(url))
    assert body["status"] == "success", body
    return sorted(body["data"])


def _resolve(prom_url: str, model: Mapping[str, Any],
             picks: Mapping[str, str]) -> dict[str, str]:
    """Every variable of a dashboard, in order, as Grafana resolves them: a query variable's
    options come from its query with the earlier variables substituted; a variable in `picks`
    is set to that option (which must be offered), any other to All."""
    duration = _time_range_seconds(model)
    values = {"__range": f"{duration}s", "__range_s": str(duration),
              "__range_ms": str(duration * 1000), "__interval": INTERVAL,
              "__rate_interval": RATE_INTERVAL}
    for variable in model["templating"]["list"]:
        name = variable["name"]
        if variable["type"] == "datasource":
            assert variable["query"] == "prometheus", variable
            values[name] = "prometheus"
            continue
        assert variable["type"] == "query", variable
        options = _label_values(prom_url, _substitute(_query_text(variable), values))
        assert options, f"{model['uid']}: variable {name} offers no value"
        if name in picks:
            assert picks[name] in options, (model["uid"], name, options)
            values[name] = _regex_value([picks[name]])
        else:
            assert variable["includeAll"], (model["uid"], name)
            values[name] = variable.get("allValue") or _regex_value(options)
    return values


def _query_text(variable: Mapping[str, Any]) -> str:
    query = variable["query"]
    return str(query["query"] if isinstance(query, Mapping) else query)


def _time_range_seconds(model: Mapping[str, Any]) -> int:
    start, end = model["time"]["from"], model["time"]["to"]
    assert end == "now", model["time"]
    match = re.fullmatch(r"now-(\d+)([mhd])", start)
    assert match, model["time"]
    return int(match[1]) * {"m": 60, "h": 3600, "d": 86400}[match[2]]


def _panel_queries(model: Mapping[str, Any],
                   values: Mapping[str, str]) -> list[tuple[str, str]]:
    """(panel title, expr) of every query, checking that each goes to the Prometheus the
    `datasource` variable names (its own datasource, else its panel's)."""
    panels = []
    for panel in model.get("panels", []):
        panels.append(panel)
        panels.extend(panel.get("panels", []))
    queries = []
    for panel in panels:
        for target in panel.get("targets", []):
            if not target.get("expr"):
                continue
            source = target.get("datasource") or panel.get("datasource") or {}
            assert source.get("type") == "prometheus", (model["uid"], panel.get("title"))
            assert _substitute(source.get("uid", ""), values) == values["datasource"], (
                model["uid"], panel.get("title"), source)
            queries.append((panel.get("title", ""), target["expr"]))
    return queries


def _instant(prom_url: str, promql: str) -> list[dict[str, Any]]:
    """An instant query; a query Prometheus refuses fails the test with its error."""
    url = f"{prom_url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    try:
        body = json.loads(http_get(url))
    except OSError as error:
        raise AssertionError(f"Prometheus refused {promql!r}: {error}") from error
    assert body["status"] == "success", body
    assert body["data"]["resultType"] == "vector", (promql, body["data"]["resultType"])
    return list(body["data"]["result"])


def _has_data(result: list[dict[str, Any]]) -> bool:
    """Data a panel can show: at least one sample that is a number (not NaN from 0/0)."""
    return any(math.isfinite(float(sample["value"][1])) for sample in result)


# --- the test --------------------------------------------------------------------------------------

def _scraped(prom_url: str, promql: str, count: int) -> bool:
    return len(servers.query(prom_url, promql)) >= count


def test_every_panel_query_of_every_dashboard_returns_data(tmp_path: Path) -> None:
    now = time.time()
    state = tmp_path / "state"
    (state / "workflows").mkdir(parents=True)
    (state / "pods").mkdir()
    _live_run(state, now)
    history = _backfill(tmp_path, now)
    kubeconfig = tmp_path / "kubeconfig"

    # Two exporters under one job, as when a cluster is sharded: one follows the state
    # directory (and the DCGM targets); one follows a Kubernetes API server whose watch is
    # dropped, so the panels must aggregate across instances.
    with ApiServerDouble() as apiserver, _dcgm_exporter(DCGM_PAGE.read_bytes()) as dcgm_url:
        apiserver.write_kubeconfig(kubeconfig)
        down_dcgm = f"http://127.0.0.1:{free_port()}/metrics"  # nothing listens there
        with servers.exporter([
                "--source", f"local:{state}",
                "--dcgm-url", dcgm_url, "--dcgm-url", down_dcgm,
                "--dcgm-interval", "1s", "--dcgm-timeout", "1s",
                "--recent-runs-max", str(RECENT_RUNS_MAX)]) as exporter, \
                servers.exporter(["--source", "kubernetes",
                                  "--kubeconfig", str(kubeconfig)]) as cluster_exporter:
            targets = [exporter.url[len("http://"):], cluster_exporter.url[len("http://"):]]
            config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                      "scrape_configs": [{"job_name": JOB,
                                          "static_configs": [{"targets": targets}]}]}
            with servers.prometheus(config, RULE_FILES, storage=history) as prometheus:
                prom = prometheus.url
                # The live run is there before anything finishes, so what follows is counted.
                wait_until(lambda: _scraped(prom, 'argoscope_workflows{phase="Running"}', 1),
                           timeout=30, what="the live run in Prometheus")
                _finished_wave(state, 1, time.time())
                (state / "workflows" / "broken.json").write_text('{"kind": "Workflow", ')
                wait_until(lambda: apiserver.open_watches(WORKFLOWS) > 0
                           and apiserver.open_watches(PODS) > 0,
                           timeout=30, what="the exporter watching the API server")
                apiserver.drop_watches(WORKFLOWS)
                wait_until(lambda: _scraped(prom, "argoscope_workflow_runs_total", 3),
                           timeout=30, what="the first wave of runs in Prometheus")
                # A second wave once the first is scraped: counters move, so rates are not 0.
                _finished_wave(state, 2, time.time())

                models = dashboards()
                pending: dict[tuple[str, str, str, str], str] = {}

                def all_have_data() -> bool:
                    pending.clear()
                    for uid, model in models.items():
                        for pass_name, picks in (
                                ("all", {}),
                                ("picked", {"namespace": NAMESPACE, "pipeline": "train",
                                            "job": JOB})):
                            values = _resolve(prom, model, picks)
                            for title, expr in _panel_queries(model, values):
                                promql = _substitute(expr, values)
                                if not _has_data(_instant(prom, promql)):
                                    pending[(pass_name, uid, title, expr)] = promql
                    return not pending

                try:
                    wait_until(all_have_data, timeout=60, interval=1.0,
                               what="data for every panel query")
                except TimeoutError:
                    lines = "\n".join(f"[{key[0]}] {key[1]} / {key[2]}: {promql}"
                                      for key, promql in sorted(pending.items()))
                    pytest.fail(f"{len(pending)} panel queries return no data:\n{lines}\n"
                                f"exporter log:\n{exporter.log()[-3000:]}\n"
                                f"cluster exporter log:\n{cluster_exporter.log()[-3000:]}")

                # The shipped rules evaluate without error over the same data.
                groups = json.loads(http_get(f"{prom}/api/v1/rules"))["data"]["groups"]
                unhealthy = [(rule["name"], rule.get("lastError")) for group in groups
                             for rule in group["rules"] if rule["health"] != "ok"]
                assert groups and unhealthy == []

                # What the variables offer is what the exporter was fed.
                overview = models["argoscope-pipelines-overview"]
                resolved = {variable["name"]: _label_values(
                    prom, _substitute(_query_text(variable),
                                      {"namespace": ".*", "pipeline": ".*"}))
                            for variable in overview["templating"]["list"]
                            if variable["type"] == "query"}
                assert resolved == {"namespace": [NAMESPACE], "pipeline": ["etl", "train"]}
                step = next(variable for variable in models["argoscope-pipeline"]
                            ["templating"]["list"] if variable["name"] == "step")
                steps = _label_values(prom, _substitute(
                    _query_text(step), {"namespace": NAMESPACE, "pipeline": "train"}))
                assert steps == ["evaluate", "fit", "prepare", "publish"]
