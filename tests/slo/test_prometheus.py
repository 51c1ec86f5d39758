"""A real Prometheus evaluates generated SLO rules over the real exporter (fed Argo fixtures):
the budgets are what the fixtures imply, the `min_events` gate holds back the page of a
pipeline with one run, and every panel query of the SLO dashboard returns data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from argoscope.dashboards import all_panel_queries
from argoscope.slo.load import parse_text
from argoscope.slo.rules import render
from tests.dashboards import promql
from tests.support.net import wait_until
from tests.support.servers import Process, exporter, prometheus, query

pytestmark = pytest.mark.e2e

# Pipelines of ../shared/fixtures/argo: one Failed run; a last success long ago.
SPEC = """
slos:
  - {name: failing, sli: run_success, pipeline: dag-disable-fail-fast, objective: 0.95}
  - {name: stale, sli: freshness, pipeline: dag-nested, max_age: 1h, objective: 0.99}
"""


def _as_grafana_sends(expr: str) -> str:
    return promql.VARIABLE.sub(lambda m: ".*", expr)


@pytest.fixture(scope="module")
def prom(argo_fixtures: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    rules = yaml.safe_load(render(parse_text(SPEC, "spec.yaml"), ["spec.yaml"]))
    for group in rules["groups"]:
        if "interval" in group:
            group["interval"] = "1s"  # a slice a second: the test need not wait minutes
    path = tmp_path_factory.mktemp("slo") / "rules.yaml"
    path.write_text(yaml.safe_dump(rules), encoding="utf-8")
    with exporter(["--source", f"file:{argo_fixtures}"]) as served:
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [{"job_name": "argoscope", "static_configs": [
                {"targets": [served.url.removeprefix("http://")]}]}],
        }
        with prometheus(config, rule_files=[path]) as started:
            wait_until(lambda: len(query(started.url, 'argoscope_slo:sli_events:increase1h'
                                                      '{slo="stale"} >= 5')) == 1,
                       timeout=60, what="five freshness slices recorded")
            yield started


def _value(prom: Process, expr: str) -> float:
    [sample] = query(prom.url, expr)
    return float(sample["value"][1])


def test_budgets_follow_the_fixtures(prom: Process) -> None:
    # One run, failed: an error ratio of 1 against a 5% budget.
    assert _value(prom, 'argoscope_slo:error_budget_remaining:ratio{slo="failing"}') == -19
    # Every slice stale: 1 against 1%.
    assert _value(prom, 'argoscope_slo:error_budget_remaining:ratio{slo="stale"}') == -99
    [sample] = query(prom.url, 'argoscope_slo:objective:ratio{slo="failing"}')
    assert sample["metric"]["namespace"] == "default" and float(sample["value"][1]) == 0.95


def test_one_failed_run_opens_a_ticket_and_no_page_while_staleness_pages(prom: Process) -> None:
    def alerts() -> set[tuple[str, str]]:
        return {(a["metric"]["slo"], a["metric"]["severity"])
                for a in query(prom.url, 'ALERTS{alertname="ArgoscopeErrorBudgetBurn"}')}

    expected = {("failing", "warning"), ("stale", "critical"), ("stale", "warning")}
    wait_until(lambda: alerts() == expected, timeout=30, what=f"alerts {expected}")


def test_every_slo_dashboard_query_returns_data(prom: Process) -> None:
    queries = [q for q in all_panel_queries() if q.dashboard_uid == "argoscope-slo"]
    assert len(queries) >= 10
    assert [q for q in queries if not query(prom.url, _as_grafana_sends(q.expr))] == []
