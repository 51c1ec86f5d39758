"""dashboard-linter's rules hold on every dashboard, and each rule catches what it is for."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from argoscope.dashboards import dashboards
from tests.dashboards import lint

UIDS = sorted(dashboards())
EXPORTER = "argoscope-exporter-health"


@pytest.mark.parametrize("rule", sorted(lint.COMMON_RULES))
@pytest.mark.parametrize("uid", UIDS)
def test_rule_holds(uid: str, rule: str, models: dict[str, Any]) -> None:
    assert lint.COMMON_RULES[rule](models[uid]) == []


@pytest.mark.parametrize("rule", sorted(lint.JOB_INSTANCE_RULES))
def test_exporter_health_filters_by_job_and_instance(rule: str, models: dict[str, Any]) -> None:
    assert lint.JOB_INSTANCE_RULES[rule](models[EXPORTER]) == []


def _first_panel(model: dict[str, Any], kind: str = "timeseries") -> dict[str, Any]:
    return next(p for p in lint.panels(model) if p["type"] == kind)


def _first_target(model: dict[str, Any]) -> dict[str, Any]:
    return next(t for p in lint.panels(model) for t in p.get("targets", [])
                if "$__rate_interval" in t["expr"])


def _variable(model: dict[str, Any], name: str) -> dict[str, Any]:
    return next(v for v in model["templating"]["list"] if v["name"] == name)


Mutation = Callable[[dict[str, Any]], None]


def _set(path: Callable[[dict[str, Any]], dict[str, Any]], key: str, value: object) -> Mutation:
    def mutate(model: dict[str, Any]) -> None:
        path(model)[key] = value
    return mutate


def _add_unused_variable(model: dict[str, Any]) -> None:
    extra = copy.deepcopy(_variable(model, "pipeline"))
    extra["name"] = "unused"
    model["templating"]["list"].append(extra)


# A fault per rule, seeded into a real dashboard: the rule must report it.
FAULTS: dict[str, tuple[str, Callable[[dict[str, Any]], None]]] = {
    "template-datasource-rule": (
        "argoscope-pipeline", _set(lambda m: _variable(m, "datasource"), "name", "ds")),
    "template-on-time-change-reload": (
        "argoscope-pipeline", _set(lambda m: _variable(m, "pipeline"), "refresh", 1)),
    "template-label-promql-rule": (
        "argoscope-pipeline",
        _set(lambda m: _variable(m, "step"), "query", "label_values(argoscope_step_runs_total{, step)")),
    "template-unused-rule": ("argoscope-gpu-efficiency", _add_unused_variable),
    "template-undefined-rule": (
        "argoscope-gpu-efficiency",
        _set(_first_target, "expr", 'sum(rate(x_total{gpu=~"$gpu"}[$__rate_interval]))')),
    "panel-datasource-rule": (
        "argoscope-data-quality",
        _set(lambda m: _first_panel(m)["datasource"], "uid", "P1809F7CD0C75ACF3")),
    "panel-no-targets-rule": (
        "argoscope-data-quality", _set(lambda m: _first_panel(m, "stat"), "targets", [])),
    "panel-title-description-rule": (
        "argoscope-pipelines-overview", _set(lambda m: _first_panel(m, "stat"), "description", "")),
    "panel-units-rule": (
        "argoscope-pipelines-overview",
        _set(lambda m: _first_panel(m)["fieldConfig"]["defaults"], "unit", "seconds")),
    "target-promql-rule": (
        "argoscope-exporter-health", _set(_first_target, "expr", "sum(rate(up[$__rate_interval])")),
    "target-rate-interval-rule": (
        "argoscope-exporter-health",
        lambda m: _first_target(m).update(expr=_first_target(m)["expr"].replace(
            "$__rate_interval", "5m"))),
    "target-counter-agg-rule": (
        "argoscope-pipeline",
        _set(_first_target, "expr", 'sum(argoscope_step_retries_total{step=~"$step"})')),
    "uneditable-dashboard-rule": ("argoscope-gpu-efficiency", _set(lambda m: m, "editable", True)),
    "template-cluster-rule": (
        "argoscope-exporter-health",
        lambda m: _variable(m, "job").update(query="label_values(argoscope_exporter_build_info, job)")),
    "target-cluster-rule": (
        "argoscope-pipelines-overview",
        lambda m: _first_target(m).update(expr=_first_target(m)["expr"].replace("by (cluster, ", "by ("))),
    "template-job-instance-rule": (
        EXPORTER, lambda m: m["templating"]["list"].remove(_variable(m, "instance"))),
    "target-job-instance-rule": (
        EXPORTER,
        lambda m: _first_target(m).update(expr=_first_target(m)["expr"].replace(
            'job=~"$job", ', ""))),
}
RULES = {**lint.COMMON_RULES, **lint.JOB_INSTANCE_RULES}


def test_every_rule_has_a_seeded_fault() -> None:
    assert set(FAULTS) == set(RULES)


@pytest.mark.parametrize("rule", sorted(FAULTS))
def test_rule_reports_a_seeded_fault(rule: str, models: dict[str, Any]) -> None:
    uid, mutate = FAULTS[rule]
    broken = copy.deepcopy(models[uid])
    mutate(broken)
    problems = RULES[rule](broken)
    assert problems, f"{rule} did not notice the fault"
    assert all(uid in problem for problem in problems)


def test_counter_agg_allows_only_the_exact_new_series_idiom(models: dict[str, Any]) -> None:
    model = copy.deepcopy(models["argoscope-pipeline"])
    target = _first_target(model)
    x, y = "argoscope_step_retries_total", "argoscope_step_runs_total"
    target["expr"] = f"({x} unless {x} offset $__range) or increase({x}[$__range])"
    assert lint.target_counter_agg_rule(model) == []
    for wrong in (f"{x} unless {y} offset $__range", f"{x} unless {x}", f"{x} or {x} offset 1h"):
        target["expr"] = wrong
        assert lint.target_counter_agg_rule(model), wrong


@pytest.mark.parametrize("fault", ["no variable", "single value", "all value"])
def test_cluster_variable_faults_are_reported(fault: str, models: dict[str, Any]) -> None:
    broken = copy.deepcopy(models["argoscope-data-quality"])
    cluster = _variable(broken, "cluster")
    if fault == "no variable":
        broken["templating"]["list"].remove(cluster)
    elif fault == "single value":
        cluster["multi"] = False
    else:
        cluster["allValue"] = ""
    assert lint.template_cluster_rule(broken)


@pytest.mark.parametrize("expr", [
    'sum(argoscope_workflows{cluster=~"$cluster"})',
    'sum by (namespace) (argoscope_workflows{cluster=~"$cluster"})',
    'sum by (cluster) (argoscope_workflows{namespace=~"$namespace"})',
    'sum by (cluster) (argoscope_workflows{cluster=~"$cluster"}) / on () group_left () '
    'sum by (cluster) (argoscope_workflows{cluster=~"$cluster"})',
])
def test_target_cluster_rule_reports_each_way_of_mixing_clusters(
        expr: str, models: dict[str, Any]) -> None:
    broken = copy.deepcopy(models["argoscope-pipeline"])
    _first_target(broken)["expr"] = expr
    assert lint.target_cluster_rule(broken), expr
