"""End to end: many clusters in one view, on real Prometheus servers.

Global view: two clusters, `east` and `west`, each with its own real exporter (a file source
over its own state directory, and the dcgm-exporter double) scraped by its own Prometheus in
agent mode with `external_labels: {cluster: ...}`, remote-writing to a central Prometheus
(`--web.enable-remote-write-receiver`) that loads the shipped rules on top of a backfilled
history of both clusters. Both clusters run the same pipelines under the same names (the
hardest case: only `cluster` tells them apart); east has one more wave of finished runs. The
test asserts, on the central Prometheus: every rule evaluates without error; the recording
rules count each cluster's runs apart; alerts fire per cluster; every panel query of every
dashboard, with the variables resolved as Grafana does, returns one series set per cluster
(every series carries a `cluster` label, both clusters appear) and nothing but the picked
cluster once one is picked.

Sharded cluster: two exporters split the namespaces of one Kubernetes API server (the
`--namespace` flag) under one cluster label; a third exporter sees every namespace under
another. The recording rules and the overview's per-pipeline panels give the same totals for
both.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import promql_parser
import pytest

from argoscope.dashboards import dashboards
from tests.alerts.rules import RULE_FILES
from tests.dashboards import promql as grafana_promql
from tests.e2e import grafana, scenario
from tests.e2e.scenario import DCGM_PAGE, JOB, NAMESPACE
from tests.support import servers
from tests.support.apiserver import PODS, WORKFLOWS, ApiServerDouble
from tests.support.net import free_port, http_get, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CLUSTERS = ("east", "west")
# East has two waves of finished runs, west one: the counts per cluster differ.
WAVES = {"east": (1, 2), "west": (1,)}


def _rules_healthy(prom_url: str) -> list[tuple[str, str]]:
    groups = json.loads(http_get(f"{prom_url}/api/v1/rules"))["data"]["groups"]
    assert groups
    # A group that evaluates less often than this test runs (an SLO's timeslices, once a
    # minute) may not have run yet: "unknown", not an error.
    return [(rule["name"], rule.get("lastError", "")) for group in groups
            for rule in group["rules"] if rule["health"] != "ok"
            and not (rule["health"] == "unknown" and group["interval"] > 1)]


def _by_labels(prom_url: str, promql: str, *labels: str) -> dict[tuple[str, ...], float]:
    return {tuple(series["metric"].get(label, "") for label in labels): float(series["value"][1])
            for series in servers.query(prom_url, promql)}


def _metric_names(expr: str) -> set[str]:
    """The metric names the selectors of a (substituted) query read."""
    names: set[str] = set()
    for selector in grafana_promql.selectors(promql_parser.parse(expr)):
        if selector.name:
            names.add(selector.name)
        for matcher in selector.matchers.matchers:
            if matcher.name == "__name__":
                names.update(str(matcher.value).split("|"))
    return names


def _agent_config(cluster: str, exporter_url: str, central_url: str) -> dict[str, Any]:
    """An edge Prometheus of one cluster: scrape its exporter, label everything with the
    cluster, remote-write to the central one without delay."""
    return {
        "global": {"scrape_interval": "1s", "external_labels": {"cluster": cluster}},
        "scrape_configs": [{"job_name": JOB, "static_configs": [
            {"targets": [exporter_url.removeprefix("http://")]}]}],
        "remote_write": [{"url": f"{central_url}/api/v1/write",
                          "queue_config": {"batch_send_deadline": "1s", "min_backoff": "100ms",
                                           "max_backoff": "1s"}}],
    }


def _state(root: Path, cluster: str, now: float) -> Path:
    """One cluster's state directory: the live run and its waves of finished runs, and an
    object of another kind that the exporter skips (and counts)."""
    state = root / cluster
    (state / "workflows").mkdir(parents=True)
    (state / "pods").mkdir()
    scenario.live_run(state, now)
    for wave in WAVES[cluster]:
        scenario.finished_wave(state, wave, now - 120 * (len(WAVES[cluster]) - wave))
    (state / "workflows" / "configmap.json").write_text(json.dumps(
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "not-a-workflow", "namespace": NAMESPACE}}))
    return state


@pytest.fixture
def central(tmp_path: Path) -> Iterator[servers.Process]:
    """The central Prometheus: remote-write receiver, shipped rules, both clusters' history."""
    history = scenario.backfill(tmp_path, time.time(), clusters=CLUSTERS)
    config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"}}
    rules = [*RULE_FILES, scenario.slo_rules(tmp_path)]
    with servers.prometheus(config, rules, storage=history,
                            extra_args=["--web.enable-remote-write-receiver"]) as prometheus:
        yield prometheus


def _series_sets(prom_url: str, model: Mapping[str, Any], picks: Mapping[str, str],
                 want: set[str]) -> list[str]:
    """Problems of every panel query of a dashboard: a query whose result does not hold one
    series set per cluster in `want` (a series without `cluster`, a cluster missing or one
    not picked), or that returns nothing although its families hold data."""
    values = grafana.resolve(prom_url, model, picks)
    problems = []
    for title, expr in grafana.panel_queries(model, values):
        promql = grafana.substitute(expr, values)
        result = grafana.instant(prom_url, promql)
        where = f"{model['uid']} / {title} ({dict(picks)}): {promql}"
        if not result:
            names = "|".join(sorted(_metric_names(promql)))
            present = servers.query(prom_url, f'count by (cluster) ({{__name__=~"{names}"}})')
            if present:
                problems.append(f"{where}: no series, though {names} has data")
            continue
        clusters = {series["metric"].get("cluster") for series in result}
        if clusters != want:
            problems.append(f"{where}: clusters {sorted(map(str, clusters))}, want {sorted(want)}")
    return problems


def test_global_view_of_two_clusters(tmp_path: Path, central: servers.Process) -> None:
    now = time.time()
    states = {cluster: _state(tmp_path / "states", cluster, now) for cluster in CLUSTERS}
    prom = central.url
    with scenario.dcgm_exporter(DCGM_PAGE.read_bytes()) as dcgm_url:
        down_dcgm = f"http://127.0.0.1:{free_port()}/metrics"  # nothing listens there
        with servers.exporter(["--source", f"file:{states['east']}", "--dcgm-url", dcgm_url,
                               "--dcgm-url", down_dcgm, "--dcgm-interval", "1s",
                               "--dcgm-timeout", "1s", "--recent-runs-max", "3"]) as east, \
                servers.exporter(["--source", f"file:{states['west']}", "--dcgm-url", dcgm_url,
                                  "--dcgm-url", down_dcgm, "--dcgm-interval", "1s",
                                  "--dcgm-timeout", "1s", "--recent-runs-max", "3"]) as west, \
                servers.prometheus(_agent_config("east", east.url, prom), agent=True), \
                servers.prometheus(_agent_config("west", west.url, prom), agent=True):
            wait_until(lambda: set(_by_labels(prom, "argoscope_exporter_ready == 1", "cluster"))
                       == {(cluster,) for cluster in CLUSTERS},
                       timeout=60, what="both clusters' exporters in the central Prometheus")

            # The recording rules count each cluster's runs apart: east's two failed runs of
            # `train`, west's one (mixed, there would be one series of 3, without a cluster).
            failed = ('namespace_pipeline_phase:argoscope_workflow_runs:increase6h'
                      '{pipeline="train", phase="Failed"}')
            wait_until(lambda: _by_labels(prom, failed, "cluster", "namespace")
                       == {("east", NAMESPACE): 2.0, ("west", NAMESPACE): 1.0},
                       timeout=30, what="failed runs recorded per cluster")

            # Alerts fire per cluster: each failed run in its own cluster, and the step-level
            # and check alerts of both clusters, never one alert for both.
            expected_runs = {(cluster, f"train-failed-{wave}")
                             for cluster in CLUSTERS for wave in WAVES[cluster]}
            run_failed = 'ALERTS{alertname="PipelineRunFailed", alertstate="firing"}'
            wait_until(lambda: set(_by_labels(prom, run_failed, "cluster", "workflow"))
                       == expected_runs, timeout=30, what=f"PipelineRunFailed {expected_runs}")
            for alertname in ("PipelineStepOOMKilled", "PipelineDataQualityCheckFailed",
                              "PipelineDriftDetected"):
                alerts = f'ALERTS{{alertname="{alertname}", alertstate="firing"}}'
                wait_until(lambda alerts=alerts: {key[0] for key in _by_labels(
                    prom, alerts, "cluster", "namespace", "pipeline", "step")}
                    == set(CLUSTERS), timeout=30, what=f"{alertname} in both clusters")
            unlabelled = [series["metric"] for series in servers.query(prom, "ALERTS")
                          if series["metric"]["alertname"] != "Watchdog"
                          and series["metric"].get("cluster") not in CLUSTERS]
            assert unlabelled == [], "alerts that lost their cluster"

            # The SLO dashboard's variables list what the SLO rules have recorded, per cluster.
            budgets = "argoscope_slo:error_budget_remaining:ratio"
            wait_until(lambda: {key[0] for key in _by_labels(prom, budgets, "cluster", "slo")}
                       == set(CLUSTERS), timeout=30, what="SLO budgets of both clusters")

            # Every panel query: one series set per cluster, with All and with one picked.
            models = dashboards()
            problems: list[str] = []

            def every_query_per_cluster() -> bool:
                problems.clear()
                for model in models.values():
                    problems.extend(_series_sets(prom, model, {}, set(CLUSTERS)))
                    problems.extend(_series_sets(
                        prom, model, {"cluster": "west", "namespace": NAMESPACE,
                                      "pipeline": "train", "job": JOB}, {"west"}))
                return not problems

            try:
                wait_until(every_query_per_cluster, timeout=60, interval=1.0,
                           what="one series set per cluster for every panel query")
            except TimeoutError:
                pytest.fail("panel queries without one series set per cluster:\n"
                            + "\n".join(problems))

            # What the cluster variable offers is the clusters that feed the central one.
            for model in models.values():
                variable = next(v for v in model["templating"]["list"] if v["name"] == "cluster")
                assert grafana.label_values(prom, grafana.query_text(variable)) == list(CLUSTERS)

            assert _rules_healthy(prom) == []


# --- one cluster, sharded by namespace -----------------------------------------------------------

SHARDS = ("team-a", "team-b")


def _in_namespace(obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    obj["metadata"]["namespace"] = namespace
    return obj


def _finished_runs(apiserver: ApiServerDouble, now: float) -> None:
    """Finished runs in both namespaces, with the same pipeline names in each."""
    for index, namespace in enumerate(SHARDS):
        for number in range(index + 2):
            for pipeline, phase in (("train", "Succeeded"), ("train", "Failed"),
                                    ("etl", "Succeeded")):
                run = f"{pipeline}-{phase.lower()}-{number}"
                nodes = [scenario.argo_node(run, "prepare", "Succeeded", now - 900, now - 600,
                                            resources={"cpu": 60, "memory": 300}),
                         scenario.argo_node(run, "fit", phase, now - 600, now - 300)]
                apiserver.put(WORKFLOWS, _in_namespace(scenario.argo_workflow(
                    run, pipeline, phase, now - 900, now - 300, nodes), namespace))


def test_sharded_cluster_totals_equal_one_exporter(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    with ApiServerDouble() as apiserver:
        apiserver.write_kubeconfig(kubeconfig)
        source = ["--source", "kubernetes", "--kubeconfig", str(kubeconfig)]
        with servers.exporter([*source, "--namespace", SHARDS[0]]) as shard_a, \
                servers.exporter([*source, "--namespace", SHARDS[1]]) as shard_b, \
                servers.exporter(source) as whole:
            def target(process: servers.Process) -> str:
                return process.url.removeprefix("http://")

            config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                      "scrape_configs": [{"job_name": JOB, "static_configs": [
                          {"targets": [target(shard_a), target(shard_b)],
                           "labels": {"cluster": "sharded"}},
                          {"targets": [target(whole)], "labels": {"cluster": "whole"}}]}]}
            with servers.prometheus(config, RULE_FILES) as prometheus:
                prom = prometheus.url
                # Each shard watches its own namespace only; the whole one every namespace.
                wait_until(lambda: apiserver.open_watches(WORKFLOWS) >= 3
                           and apiserver.open_watches(PODS) >= 3,
                           timeout=30, what="three exporters watching")
                watched = {request.namespace for request in apiserver.watch_requests(WORKFLOWS)}
                assert watched == {*SHARDS, None}
                # Runs finish after the exporters' first list, so they are counted.
                _finished_runs(apiserver, time.time())

                runs = "namespace_pipeline_phase:argoscope_workflow_runs:increase6h"

                def per_cluster(promql: str, *labels: str) -> dict[str, dict[tuple[str, ...], float]]:
                    found: dict[str, dict[tuple[str, ...], float]] = {"sharded": {}, "whole": {}}
                    for key, value in _by_labels(prom, promql, "cluster", *labels).items():
                        found[key[0]][key[1:]] = value
                    return found

                def totals_equal() -> bool:
                    found = per_cluster(runs, "namespace", "pipeline", "phase")
                    # train Succeeded, train Failed and etl Succeeded in each namespace.
                    return (len(found["whole"]) == 3 * len(SHARDS)
                            and found["sharded"] == found["whole"])

                wait_until(totals_equal, timeout=30,
                           what=f"the same {runs} for the sharded and the whole cluster")
                found = per_cluster(runs, "namespace", "pipeline", "phase")
                assert found["whole"][(SHARDS[1], "train", "Failed")] == 3.0

                # Each shard holds only its own namespace.
                by_instance = _by_labels(prom, 'argoscope_workflow_runs_total{cluster="sharded"}',
                                         "instance", "namespace")
                assert {key[1] for key in by_instance if key[0] == target(shard_a)} == {SHARDS[0]}
                assert {key[1] for key in by_instance if key[0] == target(shard_b)} == {SHARDS[1]}

                # The overview's per-pipeline panels show the same totals for both clusters.
                overview = dashboards()["argoscope-pipelines-overview"]
                for title, expr in grafana.panel_queries(overview, grafana.resolve(
                        prom, overview, {})):
                    if "by pipeline" not in title or "last success" in title:
                        continue
                    values = {}
                    for cluster in ("sharded", "whole"):
                        resolved = grafana.resolve(prom, overview, {"cluster": cluster})
                        result = grafana.instant(prom, grafana.substitute(expr, resolved))
                        values[cluster] = {
                            (s["metric"].get("namespace"), s["metric"].get("pipeline")):
                            float(s["value"][1]) for s in result}
                    assert values["sharded"] and all(
                        math.isclose(value, values["whole"][key], rel_tol=1e-9)
                        for key, value in values["sharded"].items()), (title, values)
                    assert set(values["sharded"]) == set(values["whole"]), title

                assert _rules_healthy(prom) == []
