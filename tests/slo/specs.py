"""Hypothesis strategies for SLO specs: valid short-form SLOs and OpenSLO documents."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from argoscope.exporter.families import DURATION_BUCKETS
from argoscope.slo.durations import format_duration

names = st.from_regex(r"\A[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?\Z")
# Label values as users write them, including what PromQL strings must escape.
label_values = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1,
                       max_size=30).filter(lambda v: v.strip() != "")
objectives = st.floats(0.5, 0.9999).map(lambda x: round(x, 4)).filter(lambda x: 0 < x < 1)
windows = st.sampled_from(["7d", "14d", "28d", "30d", "4w", "90d"])
thresholds = st.sampled_from([format_duration(int(b)) for b in DURATION_BUCKETS])


@st.composite
def short_slo(draw: st.DrawFn, name: str | None = None) -> dict[str, Any]:
    """One valid short-form SLO mapping."""
    sli = draw(st.sampled_from(["run_success", "freshness", "step_latency", "checks_passing"]))
    slo: dict[str, Any] = {"name": name or draw(names), "sli": sli,
                           "pipeline": draw(label_values), "objective": draw(objectives)}
    if draw(st.booleans()):
        slo["namespace"] = draw(label_values)
    if draw(st.booleans()):
        slo["window"] = draw(windows)
    if draw(st.booleans()):
        slo["min_events"] = draw(st.integers(1, 1000))
    if sli == "freshness":
        slo["max_age"] = draw(st.sampled_from(["30m", "1h", "26h", "2d"]))
    elif sli == "step_latency":
        slo["step"] = draw(label_values)
        slo["threshold"] = draw(thresholds)
    elif sli == "checks_passing":
        for key in ("step", "check"):
            if draw(st.booleans()):
                slo[key] = draw(label_values)
    return slo


def openslo(name: str, budgeting: str = "Occurrences", templated: bool = False,
            good: bool = True) -> dict[str, Any]:
    """A valid OpenSLO v1 SLO document over the exporter's step counter."""
    def source(query: str) -> dict[str, Any]:
        return {"metricSource": {"type": "Prometheus", "spec": {"query": query}}}

    if templated:
        total = ('sum by (cluster, namespace, pipeline) '
                 '(increase(argoscope_step_runs_total{step="train"}[{{.window}}]))')
        part = total.replace('step="train"', 'step="train", phase="Succeeded"' if good
                             else 'step="train", phase=~"Failed|Error"')
    else:
        total = 'argoscope_step_runs_total{step="train"}'
        part = ('argoscope_step_runs_total{step="train", phase="Succeeded"}' if good
                else 'argoscope_step_runs_total{step="train", phase=~"Failed|Error"}')
    objective: dict[str, Any] = {"displayName": "train succeeds", "target": 0.95}
    if budgeting == "Timeslices":
        objective |= {"timeSliceTarget": 0.9, "timeSliceWindow": "5m"}
    return {
        "apiVersion": "openslo/v1", "kind": "SLO",
        "metadata": {"name": name, "annotations": {"argoscope.io/min-events": "3"}},
        "spec": {
            "service": "pipelines",
            "indicator": {"metadata": {"name": name + "-sli"}, "spec": {"ratioMetric": {
                "counter": True, ("good" if good else "bad"): source(part),
                "total": source(total)}}},
            "timeWindow": [{"duration": "28d", "isRolling": True}],
            "budgetingMethod": budgeting,
            "objectives": [objective],
        },
    }


def _selector_value(value: str) -> str:
    """A PromQL string literal for a label value (as a user would write it)."""
    return json.dumps(value, ensure_ascii=False)


@st.composite
def openslo_document(draw: st.DrawFn, name: str | None = None) -> dict[str, Any]:
    """A valid OpenSLO v1 SLO document: either budgeting method, good or bad, selector or
    `{{.window}}` queries, label values that need escaping, windows, targets, annotations."""
    document = openslo(name or draw(names), draw(st.sampled_from(["Occurrences", "Timeslices"])),
                       draw(st.booleans()), draw(st.booleans()))
    step = _selector_value(draw(label_values))
    ratio = document["spec"]["indicator"]["spec"]["ratioMetric"]
    for part in ratio.values():
        if isinstance(part, dict):
            spec = part["metricSource"]["spec"]
            spec["query"] = spec["query"].replace('"train"', step)
    document["spec"]["timeWindow"][0]["duration"] = draw(windows)
    objective = document["spec"]["objectives"][0]
    if draw(st.booleans()):
        del objective["target"]
        objective["targetPercent"] = round(draw(objectives) * 100, 2)
    else:
        objective["target"] = draw(objectives)
    if "timeSliceWindow" in objective:
        objective["timeSliceWindow"] = draw(st.sampled_from(["1m", "2m", "5m"]))
        objective["timeSliceTarget"] = draw(objectives)
    annotations = document["metadata"]["annotations"]
    annotations["argoscope.io/min-events"] = str(draw(st.integers(1, 100)))
    if draw(st.booleans()):
        annotations["argoscope.io/team"] = draw(st.sampled_from(["ml", "platform", "data-eng"]))
    if draw(st.booleans()):
        annotations["example.com/owner"] = draw(label_values)  # others' annotations: free-form
    return document
