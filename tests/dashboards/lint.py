"""The rules of grafana/dashboard-linter that apply to argoscope's dashboards, in Python.

Each rule takes one dashboard's JSON model and returns its problems as sentences naming the
dashboard, the panel and what is wrong (an empty list when the rule holds). Rule names follow
dashboard-linter's; `template-undefined-rule` (a query refers to a variable the dashboard
lacks) is argoscope's own, and the job/instance pair is checked as two rules, not four.

`template-cluster-rule` and `target-cluster-rule` are argoscope's own too: a `cluster` variable
filters every query and every other variable, and no aggregation or join drops `cluster`, so
that a central Prometheus fed by many clusters shows one series set per cluster.

Rules that do not apply: template-job-rule, template-instance-rule, target-job-rule and
target-instance-rule on the pipeline dashboards, whose series do not depend on which exporter
replica served them (they apply to the exporter health dashboard); LogQL rules (no Loki).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import promql_parser

from tests.dashboards import promql
from tests.support.grouping import CLUSTER, dropped

Model = dict[str, Any]
Rule = Callable[[Model], list[str]]

# The panel types that query Prometheus.
QUERY_PANELS = {"timeseries", "stat", "table", "bargauge", "gauge", "heatmap"}
# dashboard-linter's panel-units-rule list (Grafana's value formats) for what we use and the
# common neighbours; a typo such as "second" or "percent_unit" is not in it.
VALID_UNITS = {
    "none", "string", "short", "percent", "percentunit", "bytes", "decbytes", "bits",
    "ops", "reqps", "rps", "wps", "iops", "cps", "opm", "rpm", "cpm",
    "ns", "µs", "ms", "s", "m", "h", "d", "dtdurationms", "dtdurations", "dthms", "dtdhms",
    "dateTimeAsIso", "dateTimeAsLocal", "dateTimeFromNow", "bool", "bool_yes_no", "hertz",
}
DATASOURCE_REFS = {"$datasource", "${datasource}"}


def panels(model: Model) -> Iterator[Model]:
    """Every panel that is not a row, including those nested in rows."""
    for panel in model.get("panels", []):
        if panel.get("type") == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def _where(model: Model, panel: Model | None = None) -> str:
    where = f"dashboard {model.get('uid')!r}"
    return f"{where}, panel {panel.get('title')!r}" if panel is not None else where


def _templates(model: Model, kind: str) -> list[Model]:
    return [v for v in model.get("templating", {}).get("list", []) if v.get("type") == kind]


def query_variables(model: Model) -> list[Model]:
    """The dashboard's query variables, in the order Grafana shows them."""
    return _templates(model, "query")


def _targets(model: Model) -> Iterator[tuple[Model, Model]]:
    for panel in panels(model):
        for target in panel.get("targets", []):
            yield panel, target


def _parsed(model: Model) -> Iterator[tuple[Model, Model, promql_parser.Expr]]:
    """Targets whose PromQL parses (an unparsable one is target-promql-rule's business)."""
    for panel, target in _targets(model):
        try:
            yield panel, target, promql.parse(target.get("expr", ""))
        except ValueError:
            continue


def template_datasource_rule(model: Model) -> list[str]:
    """One templated Prometheus datasource, named `datasource`, labelled `Data source`."""
    found = _templates(model, "datasource")
    if len(found) != 1:
        return [f"{_where(model)} has {len(found)} datasource variables, want 1"]
    variable = found[0]
    problems = []
    if variable.get("query") != "prometheus":
        problems.append(f"{_where(model)}: datasource variable is not of type prometheus")
    if variable.get("name") != "datasource":
        problems.append(f"{_where(model)}: datasource variable is named {variable.get('name')!r}")
    if variable.get("label") != "Data source":
        problems.append(f"{_where(model)}: datasource variable is labelled "
                        f"{variable.get('label')!r}, want 'Data source'")
    return problems


def template_on_time_change_reload_rule(model: Model) -> list[str]:
    """Query variables refresh when the time range changes (refresh 2)."""
    return [
        f"{_where(model)}: variable {v.get('name')!r} has refresh {v.get('refresh')!r}, want 2"
        for v in _templates(model, "query") if v.get("refresh") != 2
    ]


def template_label_promql_rule(model: Model) -> list[str]:
    """Query variables are `label_values(selector, label)` with a selector that parses, on the
    templated datasource."""
    problems = []
    for variable in _templates(model, "query"):
        query = variable.get("query")
        text = query.get("query") if isinstance(query, dict) else query
        selector = promql.label_values_selector(str(text))
        if selector is None:
            problems.append(f"{_where(model)}: variable {variable.get('name')!r} query "
                            f"{text!r} is not label_values(selector, label)")
            continue
        try:
            promql.parse(selector)
        except ValueError as error:
            problems.append(f"{_where(model)}: variable {variable.get('name')!r} selector "
                            f"{selector!r} does not parse: {error}")
        if variable.get("datasource", {}).get("uid") not in DATASOURCE_REFS:
            problems.append(f"{_where(model)}: variable {variable.get('name')!r} does not use "
                            "the templated datasource")
    return problems


def panel_datasource_rule(model: Model) -> list[str]:
    """Every query panel and every one of its targets uses the templated datasource."""
    problems = []
    for panel in panels(model):
        if panel.get("type") not in QUERY_PANELS:
            continue
        if panel.get("datasource", {}).get("uid") not in DATASOURCE_REFS:
            problems.append(f"{_where(model, panel)} does not use the templated datasource")
        for target in panel.get("targets", []):
            if target.get("datasource", {}).get("uid") not in DATASOURCE_REFS:
                problems.append(f"{_where(model, panel)}, query {target.get('refId')} does "
                                "not use the templated datasource")
    return problems


def panel_no_targets_rule(model: Model) -> list[str]:
    """Every query panel has at least one query."""
    return [f"{_where(model, panel)} has no queries" for panel in panels(model)
            if panel.get("type") in QUERY_PANELS and not panel.get("targets")]


def panel_title_description_rule(model: Model) -> list[str]:
    """Every panel has a title and a description."""
    return [f"{_where(model, panel)} lacks a title or a description"
            for panel in panels(model)
            if not panel.get("title", "").strip() or not panel.get("description", "").strip()]


def panel_units_rule(model: Model) -> list[str]:
    """Every value panel has a valid unit, and so does every unit override."""
    problems = []
    for panel in panels(model):
        if panel.get("type") not in {"stat", "table", "timeseries", "gauge", "bargauge"}:
            continue
        field_config = panel.get("fieldConfig", {})
        units = [field_config.get("defaults", {}).get("unit")]
        units += [prop.get("value") for override in field_config.get("overrides", [])
                  for prop in override.get("properties", []) if prop.get("id") == "unit"]
        problems += [f"{_where(model, panel)} has no or an invalid unit: {unit!r}"
                     for unit in units if unit not in VALID_UNITS]
    return problems


def target_promql_rule(model: Model) -> list[str]:
    """Every target's PromQL parses once Grafana's variables are substituted."""
    problems = []
    for panel, target in _targets(model):
        try:
            promql.parse(target.get("expr", ""))
        except ValueError as error:
            problems.append(f"{_where(model, panel)}: {target.get('expr')!r} does not parse: "
                            f"{error}")
    return problems


def target_rate_interval_rule(model: Model) -> list[str]:
    """rate() and irate() use `$__rate_interval` as their window."""
    rate_interval = promql.TIME_MACROS["__rate_interval"]
    problems = []
    for panel, target, expr in _parsed(model):
        for node, ancestors in promql.walk(expr):
            if not isinstance(node, promql_parser.MatrixSelector) or not ancestors:
                continue
            parent = ancestors[-1]
            if (isinstance(parent, promql_parser.Call) and parent.func.name in {"rate", "irate"}
                    and node.range != rate_interval):
                problems.append(f"{_where(model, panel)}: {target['expr']!r} should use "
                                "$__rate_interval in rate()")
    return problems


def _is_new_series_idiom(node: promql_parser.VectorSelector, parent: object) -> bool:
    """`X unless X offset W`: the series of X that did not exist W ago (their whole value is
    their increase, which increase() cannot see for a series born at 1)."""
    if not (isinstance(parent, promql_parser.BinaryExpr) and str(parent.op) == "unless"):
        return False
    lhs, rhs = parent.lhs, parent.rhs
    return (isinstance(lhs, promql_parser.VectorSelector)
            and isinstance(rhs, promql_parser.VectorSelector)
            and str(lhs) == str(rhs).split(" offset ")[0] and rhs.offset is not None
            and str(node) in (str(lhs), str(rhs)))


def target_counter_agg_rule(model: Model) -> list[str]:
    """Counters (`_total`) are only read through rate(), irate() or increase(), or in the
    new-series idiom next to increase() (argoscope's one exception, see
    `argoscope.dashboards._common.increase_over_range`)."""
    problems = []
    for panel, _target, expr in _parsed(model):
        for node, ancestors in promql.walk(expr):
            if not isinstance(node, promql_parser.VectorSelector):
                continue
            if not (node.name or "").endswith("_total"):
                continue
            if ancestors and _is_new_series_idiom(node, ancestors[-1]):
                continue
            ok = (len(ancestors) >= 2
                  and isinstance(ancestors[-1], promql_parser.MatrixSelector)
                  and isinstance(ancestors[-2], promql_parser.Call)
                  and ancestors[-2].func.name in {"rate", "irate", "increase"})
            if not ok:
                problems.append(f"{_where(model, panel)}: counter {node.name} is not read "
                                "through rate, irate or increase")
    return problems


def target_job_instance_rule(model: Model) -> list[str]:
    """Every selector filters on the `$job` and `$instance` variables (exporter health only)."""
    problems = []
    for panel, _target, expr in _parsed(model):
        for selector in promql.selectors(expr):
            names = {m.name for m in selector.matchers.matchers}
            for label in ("job", "instance"):
                if label not in names:
                    problems.append(f"{_where(model, panel)}: {selector.name} has no {label} "
                                    "matcher")
    return problems


def template_job_instance_rule(model: Model) -> list[str]:
    """`job` and `instance` query variables exist, multi-value with All (exporter health)."""
    problems = []
    variables = {v.get("name"): v for v in _templates(model, "query")}
    for name in ("job", "instance"):
        variable = variables.get(name)
        if variable is None:
            problems.append(f"{_where(model)} has no {name} variable")
        elif not (variable.get("multi") and variable.get("includeAll")):
            problems.append(f"{_where(model)}: variable {name} is not multi-value with All")
    return problems


def template_unused_rule(model: Model) -> list[str]:
    """Every query variable is used by a panel query (as dashboard-linter: a variable that
    only feeds another variable still filters nothing)."""
    used: set[str] = set()
    for _, target in _targets(model):
        used |= promql.variables_in(target.get("expr", ""))
    return [f"{_where(model)}: variable {v.get('name')!r} is not used by any query"
            for v in _templates(model, "query") if v.get("name") not in used]


def template_undefined_rule(model: Model) -> list[str]:
    """Every variable a query refers to is defined (or is one of Grafana's macros)."""
    defined = {v.get("name") for v in model.get("templating", {}).get("list", [])}
    defined |= set(promql.TIME_MACROS)
    problems = []
    for panel, target in _targets(model):
        for name in sorted(promql.variables_in(target.get("expr", "")) - defined):
            problems.append(f"{_where(model, panel)}: ${name} is not a dashboard variable")
    return problems


def _has_cluster_matcher(selector: promql_parser.VectorSelector) -> bool:
    return any(m.name == CLUSTER and str(m.value) == "argoscope_variable_cluster"
               for m in selector.matchers.matchers)


def template_cluster_rule(model: Model) -> list[str]:
    """The first query variable is `cluster` (label_values of `cluster`, multi-value, All is
    `.*` so that an absent label still matches); every other variable filters on it."""
    variables = _templates(model, "query")
    if not variables or variables[0].get("name") != CLUSTER:
        return [f"{_where(model)}: the first query variable is not {CLUSTER!r}"]
    problems = []
    first = variables[0]
    query = first.get("query")
    text = str(query.get("query") if isinstance(query, dict) else query)
    if not text.replace(" ", "").endswith(f",{CLUSTER})"):
        problems.append(f"{_where(model)}: variable cluster query {text!r} is not "
                        "label_values(..., cluster)")
    if not (first.get("multi") and first.get("includeAll") and first.get("allValue") == ".*"):
        problems.append(f"{_where(model)}: variable cluster is not multi-value with All = .*")
    for variable in variables[1:]:
        query = variable.get("query")
        text = str(query.get("query") if isinstance(query, dict) else query)
        selector = promql.label_values_selector(text)
        try:
            parsed = promql.parse(selector or "")
        except ValueError:
            continue  # template-label-promql-rule's business
        if not all(_has_cluster_matcher(found) for found in promql.selectors(parsed)):
            problems.append(f"{_where(model)}: variable {variable.get('name')!r} does not "
                            f"filter on $cluster: {text!r}")
    return problems


def target_cluster_rule(model: Model) -> list[str]:
    """Every selector filters on `$cluster`, and no aggregation or vector match drops
    `cluster` (an aggregation without `by (cluster, ...)` would sum clusters together)."""
    problems = []
    for panel, target, expr in _parsed(model):
        for selector in promql.selectors(expr):
            if not _has_cluster_matcher(selector):
                problems.append(f"{_where(model, panel)}: {selector.name} does not filter on "
                                "$cluster")
        problems += [f"{_where(model, panel)}: {target['expr']!r}: {problem}"
                     for problem in dropped(expr)]
    return problems


def uneditable_dashboard_rule(model: Model) -> list[str]:
    """The dashboard is not editable: changes belong in code, not in the Grafana UI."""
    return [f"{_where(model)} is editable"] if model.get("editable", True) else []


# dashboard-linter's rules (and two of its unused/undefined variable checks) for every
# dashboard; the job/instance pair only where the series are per scrape target.
COMMON_RULES: dict[str, Rule] = {
    "template-datasource-rule": template_datasource_rule,
    "template-on-time-change-reload": template_on_time_change_reload_rule,
    "template-label-promql-rule": template_label_promql_rule,
    "template-unused-rule": template_unused_rule,
    "template-cluster-rule": template_cluster_rule,
    "target-cluster-rule": target_cluster_rule,
    "template-undefined-rule": template_undefined_rule,
    "panel-datasource-rule": panel_datasource_rule,
    "panel-no-targets-rule": panel_no_targets_rule,
    "panel-title-description-rule": panel_title_description_rule,
    "panel-units-rule": panel_units_rule,
    "target-promql-rule": target_promql_rule,
    "target-rate-interval-rule": target_rate_interval_rule,
    "target-counter-agg-rule": target_counter_agg_rule,
    "uneditable-dashboard-rule": uneditable_dashboard_rule,
}
JOB_INSTANCE_RULES: dict[str, Rule] = {
    "template-job-instance-rule": template_job_instance_rule,
    "target-job-instance-rule": target_job_instance_rule,
}
