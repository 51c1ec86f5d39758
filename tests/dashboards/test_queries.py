"""Every query reads families the exporter serves, with their labels, honours the dashboard's
variables, and `all_panel_queries()` lists them all."""

from __future__ import annotations

from typing import Any

import promql_parser
import pytest

from argoscope.dashboards import all_panel_queries, dashboards
from argoscope.exporter.families import all_families
from argoscope.slo import records
from tests.dashboards import lint, promql

UIDS = sorted(dashboards())
# Labels Prometheus adds to every scraped series: the target's, and the `cluster` that each
# cluster's Prometheus adds (external label or relabelling) for a global view.
TARGET_LABELS = {"job", "instance", "cluster"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def _served() -> dict[str, set[str]]:
    """Every series name the exporter exposes (and Prometheus' `up`) with its labels, and the
    series the SLO rules record (`argoscope slo generate`) with theirs."""
    served = {"up": set(TARGET_LABELS)}
    served |= {name: set(records.LABELS) for name in records.window_independent()}
    for family in all_families():
        labels = set(family.labels) | TARGET_LABELS
        if family.kind == "histogram":
            for suffix in HISTOGRAM_SUFFIXES:
                served[family.name + suffix] = labels | ({"le"} if suffix == "_bucket" else set())
        else:
            served[family.exposed_name] = labels
    return served


SERVED = _served()


def _names(selector: promql_parser.VectorSelector) -> list[str]:
    """The metric names a selector reads: its name, or the alternatives of a __name__ regex."""
    if selector.name:
        return [selector.name]
    for matcher in selector.matchers.matchers:
        if matcher.name == "__name__":
            return matcher.value.split("|")
    return []


def _variable_selectors(model: dict[str, Any]) -> list[str]:
    return [selector for v in model["templating"]["list"] if v["type"] == "query"
            for selector in [promql.label_values_selector(v["query"])] if selector]


def _selectors(model: dict[str, Any], with_variables: bool = True,
               ) -> list[tuple[str, promql_parser.VectorSelector]]:
    exprs = [(p["title"], t["expr"]) for p in lint.panels(model) for t in p.get("targets", [])]
    if with_variables:
        exprs += [(f"variable selector {s}", s) for s in _variable_selectors(model)]
    return [(where, selector) for where, expr in exprs
            for selector in promql.selectors(promql.parse(expr))]


@pytest.mark.parametrize("uid", UIDS)
def test_queries_read_served_families_with_their_labels(uid: str, models: dict[str, Any]) -> None:
    problems = []
    for where, selector in _selectors(models[uid]):
        names = _names(selector)
        if not names:
            problems.append(f"{where}: selector {selector} names no metric")
        for name in names:
            if name not in SERVED:
                problems.append(f"{where}: {name} is not served by the exporter")
                continue
            unknown = {m.name for m in selector.matchers.matchers} - SERVED[name] - {"__name__"}
            if unknown:
                problems.append(f"{where}: {name} has no label(s) {sorted(unknown)}")
    assert problems == []


@pytest.mark.parametrize("uid", UIDS)
def test_grouping_labels_exist_on_the_families_grouped(uid: str, models: dict[str, Any]) -> None:
    """`sum by (x)` over families without `x` would silently merge everything into one."""
    problems = []
    for panel in lint.panels(models[uid]):
        for target in panel.get("targets", []):
            for node, _ in promql.walk(promql.parse(target["expr"])):
                if not isinstance(node, promql_parser.AggregateExpr) or node.modifier is None:
                    continue
                if node.modifier.type != promql_parser.AggModifierType.By:
                    continue
                for selector in promql.selectors(node.expr):
                    for name in _names(selector):
                        missing = set(node.modifier.labels) - SERVED.get(name, set())
                        if missing:
                            problems.append(f"{panel['title']}: {name} lacks {sorted(missing)}")
    assert problems == []


@pytest.mark.parametrize("uid", UIDS)
def test_selectors_honour_the_dashboard_variables(uid: str, models: dict[str, Any]) -> None:
    """A panel query over a family that has a label the dashboard has a variable for is
    filtered by that variable (the variables' own queries: see test_variables_are_chained)."""
    model = models[uid]
    variables = {v["name"] for v in model["templating"]["list"] if v["type"] == "query"}
    problems = []
    for where, selector in _selectors(model, with_variables=False):
        for name in _names(selector):
            matchers = {m.name: m for m in selector.matchers.matchers}
            for label in sorted(SERVED.get(name, set()) & variables):
                matcher = matchers.get(label)
                if matcher is None or matcher.value != f"argoscope_variable_{label}":
                    problems.append(f"{where}: {name} is not filtered by ${label}")
    assert problems == []


def test_variables_are_chained(models: dict[str, Any]) -> None:
    """namespace and job depend on cluster, pipeline on both cluster and namespace, step on
    the three, instance on cluster and job; cluster on nothing."""
    for model in models.values():
        queries = {v["name"]: v["query"] for v in model["templating"]["list"]}
        assert promql.variables_in(queries["cluster"]) == set(), model["uid"]
        for name, parents in {"namespace": ["cluster"], "job": ["cluster"],
                              "pipeline": ["cluster", "namespace"],
                              "step": ["cluster", "namespace", "pipeline"],
                              "instance": ["cluster", "job"]}.items():
            if name in queries:
                assert promql.variables_in(queries[name]) == set(parents), (model["uid"], name)


def test_all_panel_queries_lists_every_target_of_every_dashboard(models: dict[str, Any]) -> None:
    listed = all_panel_queries()
    expected = [(uid, p["title"], t["expr"]) for uid, model in models.items()
                for p in lint.panels(model) for t in p.get("targets", [])]
    assert sorted(listed) == sorted(expected)
    assert {query.dashboard_uid for query in listed} == set(models)


def test_counters_are_read_over_rate_interval_or_the_dashboard_range() -> None:
    """Windows are Grafana's: $__rate_interval for rates, $__range for totals, or the fixed
    history window a step's duration is compared with."""
    allowed = {promql.TIME_MACROS["__rate_interval"], promql.TIME_MACROS["__range"]}
    history = promql_parser.parse_duration("7d")
    for query in all_panel_queries():
        for node, _ in promql.walk(promql.parse(query.expr)):
            if isinstance(node, promql_parser.MatrixSelector):
                assert node.range in allowed | {history}, query
