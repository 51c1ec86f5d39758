"""A real Prometheus scraping the real exporter (fed Argo fixtures) accepts every panel query,
and the variables' queries list the fixture's namespaces, pipelines and steps."""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from argoscope.dashboards import all_panel_queries
from tests.dashboards import promql
from tests.support.net import http_get, wait_until
from tests.support.servers import Process, exporter, prometheus, query

pytestmark = pytest.mark.e2e

# What Grafana would send with every variable set to All (`.*`) over the last hour.
VALUES = {"__rate_interval": "1m", "__interval": "15s", "__range": "1h"}


def _as_grafana_sends(expr: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        return VALUES.get(name, ".*")

    return promql.VARIABLE.sub(value, expr)


@pytest.fixture(scope="module")
def prom(argo_fixtures: Path) -> Iterator[Process]:
    with exporter(["--source", f"file:{argo_fixtures}"]) as served:
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [{"job_name": "argoscope", "static_configs": [
                {"targets": [served.url.removeprefix("http://")]}]}],
        }
        with prometheus(config) as started:
            wait_until(lambda: bool(query(started.url, "argoscope_exporter_ready == 1")),
                       timeout=30, what="first scrape of a ready exporter")
            yield started


def _api(prom_url: str, path: str, **params: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(http_get(
        f"{prom_url}{path}?" + urllib.parse.urlencode(params)))
    return body


def test_prometheus_accepts_every_panel_query(prom: Process) -> None:
    rejected = []
    for panel_query in all_panel_queries():
        expr = _as_grafana_sends(panel_query.expr)
        for path, params in (("/api/v1/query", {"query": expr}),
                             ("/api/v1/query_range", {"query": expr, "start": "0",
                                                      "end": "3600", "step": "60"})):
            try:
                body = _api(prom.url, path, **params)
            except Exception as error:  # HTTP 400/422 carry Prometheus' reason
                rejected.append(f"{panel_query}: {path}: {error}")
                continue
            if body.get("status") != "success":
                rejected.append(f"{panel_query}: {path}: {body}")
    assert rejected == []


def test_pipeline_dashboard_queries_return_the_fixture_runs(prom: Process) -> None:
    """Queries over run and step families return series once the fixtures are scraped,
    counts over the range included (a counter born within the range counts in full).

    Except recent *failed* runs: the fixtures' failed runs finished long before the exporter's
    recent-runs retention window, so only their live runs are recent.
    """
    families = ("argoscope_workflow_runs_total", "argoscope_step_runs_total",
                "argoscope_workflow_run_info")
    empty = [q for q in all_panel_queries()
             if q.dashboard_uid in {"argoscope-pipelines-overview", "argoscope-pipeline"}
             and any(family in q.expr for family in families)
             and "$__rate_interval" not in q.expr
             and not ("run_info" in q.expr and "Failed" in q.expr)
             and not query(prom.url, _as_grafana_sends(q.expr))]
    assert empty == []


def test_variable_queries_list_the_fixture_labels(prom: Process) -> None:
    from argoscope.dashboards import dashboards

    model = dashboards()["argoscope-pipeline"]
    for variable in model["templating"]["list"]:
        if variable["type"] != "query":
            continue
        selector = promql.label_values_selector(variable["query"])
        assert selector is not None
        body = _api(prom.url, f"/api/v1/label/{variable['name']}/values",
                    **{"match[]": _as_grafana_sends(selector)})
        assert body["status"] == "success", body
        if variable["name"] == "cluster":
            # One Prometheus, no `cluster` label: nothing to list; All (`.*`) matches it absent.
            assert body["data"] == []
        else:
            assert body["data"], variable["name"]
