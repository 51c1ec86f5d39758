"""End to end: every panel query of every shipped dashboard returns data from a real
Prometheus scraping the real exporter.

The exporter follows a local state directory (the local runner's contract) holding a live run
(GPU pods, pods waiting for GPUs and for their image) and, written once it is ready, two waves
of finished runs: successes, failures with OOMKilled retries, Skipped and Omitted steps,
resourcesDuration, pending time and `argoscope-checks` documents (expectations, drift with
features, a model gate). A loopback dcgm-exporter double serves GPUs of the live step pod and
one of no pod; a second DCGM target is down; a malformed file is skipped; a low
`--recent-runs-max` drops series; a price file prices the step pods (cost panels). A second
exporter, under the same job, follows a Kubernetes API-server double whose watch is dropped
once (watch restarts). Prometheus scrapes both every second with the shipped recording and
alerting rules, on top of a history of the last hours written beforehand with `promtool tsdb
create-blocks-from openmetrics` for the panels that compare with history (`[7d] offset 1h`).

Variables are substituted as Grafana does: every query goes to the `datasource` variable's
Prometheus; query variables are resolved with their own `label_values(...)` queries; `All`
becomes the variable's `allValue` (`.*`); `$__range` is the dashboard's default time range and
`$__rate_interval` what Grafana derives for it. Every query is run twice, with everything on
All, and with one namespace and pipeline picked. A query has data when at least one sample is
a number (not the NaN of 0/0).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from argoscope.dashboards import dashboards
from tests.alerts.rules import RULE_FILES
from tests.e2e import grafana, scenario
from tests.e2e.scenario import DCGM_PAGE, JOB, NAMESPACE, RECENT_RUNS_MAX
from tests.support import servers
from tests.support.apiserver import PODS, WORKFLOWS, ApiServerDouble
from tests.support.net import free_port, http_get, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# --- the test --------------------------------------------------------------------------------------

def _scraped(prom_url: str, promql: str, count: int) -> bool:
    return len(servers.query(prom_url, promql)) >= count


def test_every_panel_query_of_every_dashboard_returns_data(tmp_path: Path) -> None:
    now = time.time()
    state = tmp_path / "state"
    (state / "workflows").mkdir(parents=True)
    (state / "pods").mkdir()
    scenario.live_run(state, now)
    history = scenario.backfill(tmp_path, now)
    kubeconfig = tmp_path / "kubeconfig"
    # Cost panels: the step pods priced by a flat price file (cost needs --prices).
    prices = tmp_path / "prices.yaml"
    prices.write_text("currency: USD\n"
                      "default: {cpu_core_hour: 0.03, memory_gib_hour: 0.004, gpu_hour: 2.5}\n")

    # Two exporters under one job, as when a cluster is sharded: one follows the state
    # directory (and the DCGM targets); one follows a Kubernetes API server whose watch is
    # dropped, so the panels must aggregate across instances.
    with ApiServerDouble() as apiserver, scenario.dcgm_exporter(DCGM_PAGE.read_bytes()) as dcgm_url:
        apiserver.write_kubeconfig(kubeconfig)
        down_dcgm = f"http://127.0.0.1:{free_port()}/metrics"  # nothing listens there
        with servers.exporter([
                "--source", f"local:{state}",
                "--dcgm-url", dcgm_url, "--dcgm-url", down_dcgm,
                "--dcgm-interval", "1s", "--dcgm-timeout", "1s", "--prices", str(prices),
                "--recent-runs-max", str(RECENT_RUNS_MAX)]) as exporter, \
                servers.exporter(["--source", "kubernetes",
                                  "--kubeconfig", str(kubeconfig)]) as cluster_exporter:
            targets = [exporter.url[len("http://"):], cluster_exporter.url[len("http://"):]]
            config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                      "scrape_configs": [{"job_name": JOB,
                                          "static_configs": [{"targets": targets}]}]}
            rules = [*RULE_FILES, scenario.slo_rules(tmp_path)]
            with servers.prometheus(config, rules, storage=history) as prometheus:
                prom = prometheus.url
                # The live run is there before anything finishes, so what follows is counted.
                wait_until(lambda: _scraped(prom, 'argoscope_workflows{phase="Running"}', 1),
                           timeout=30, what="the live run in Prometheus")
                scenario.finished_wave(state, 1, time.time())
                (state / "workflows" / "broken.json").write_text('{"kind": "Workflow", ')
                wait_until(lambda: apiserver.open_watches(WORKFLOWS) > 0
                           and apiserver.open_watches(PODS) > 0,
                           timeout=30, what="the exporter watching the API server")
                apiserver.drop_watches(WORKFLOWS)
                wait_until(lambda: _scraped(prom, "argoscope_workflow_runs_total", 3),
                           timeout=30, what="the first wave of runs in Prometheus")
                # A second wave once the first is scraped: counters move, so rates are not 0.
                scenario.finished_wave(state, 2, time.time())
                # The SLO dashboard's variables list what the SLO rules have recorded.
                wait_until(lambda: _scraped(prom, "argoscope_slo:error_budget_remaining:ratio", 2),
                           timeout=30, what="the scenario's SLO budgets recorded")

                models = dashboards()
                pending: dict[tuple[str, str, str, str], str] = {}

                def all_have_data() -> bool:
                    pending.clear()
                    for uid, model in models.items():
                        for pass_name, picks in (
                                ("all", {}),
                                ("picked", {"namespace": NAMESPACE, "pipeline": "train",
                                            "job": JOB})):
                            # One Prometheus, no `cluster` label: the variable offers nothing
                            # and its All (`.*`) must still match every series.
                            values = grafana.resolve(prom, model, picks,
                                                     may_be_empty=frozenset({"cluster"}))
                            for title, expr in grafana.panel_queries(model, values):
                                promql = grafana.substitute(expr, values)
                                if not grafana.has_data(grafana.instant(prom, promql)):
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
                # A group that evaluates less often than this test runs (an SLO's timeslices,
                # once a minute) may not have run yet: "unknown", not an error.
                unhealthy = [(rule["name"], rule.get("lastError")) for group in groups
                             for rule in group["rules"] if rule["health"] != "ok"
                             and not (rule["health"] == "unknown" and group["interval"] > 1)]
                assert groups and unhealthy == []

                # What the variables offer is what the exporter was fed.
                overview = models["argoscope-pipelines-overview"]
                resolved = {variable["name"]: grafana.label_values(
                    prom, grafana.substitute(grafana.query_text(variable),
                                             {"cluster": ".*", "namespace": ".*", "pipeline": ".*"}))
                            for variable in overview["templating"]["list"]
                            if variable["type"] == "query"}
                assert resolved == {"cluster": [], "namespace": [NAMESPACE],
                                    "pipeline": ["etl", "train"]}
                step = next(variable for variable in models["argoscope-pipeline"]
                            ["templating"]["list"] if variable["name"] == "step")
                steps = grafana.label_values(prom, grafana.substitute(
                    grafana.query_text(step),
                    {"cluster": ".*", "namespace": NAMESPACE, "pipeline": "train"}))
                assert steps == ["evaluate", "fit", "prepare", "publish"]
