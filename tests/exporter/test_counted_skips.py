"""Skips are counted everywhere the design promises, and no label value carries a control
character, whatever the names in the objects hold."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from argoscope.exporter.checkdocs import CheckDocuments
from argoscope.exporter.model import PODS, WORKFLOWS, Model
from tests.support import argo
from tests.support.metrics import expose, samples, total, value


def _model() -> Model:
    model = Model()
    model.observers.append(CheckDocuments(model.stats))
    return model


def _scrape(model: Model) -> dict[Any, float]:
    model.settle()
    return samples(expose(model.collect, model.stats.collect))


def test_a_node_that_is_not_an_object_is_counted_and_the_rest_still_counts() -> None:
    wf = argo.workflow("r1", [argo.node("r1", "fit")])
    wf["status"]["nodes"].update({"r1-null": None, "r1-text": "Succeeded", "r1-list": [1, 2]})
    model = _model()
    model.apply(WORKFLOWS, "ADDED", wf)
    s = _scrape(model)
    assert value(s, "argoscope_exporter_objects_skipped_total", resource="nodes",
                 reason="malformed") == 3
    assert total(s, "argoscope_step_runs_total", step="fit") == 1


def test_a_check_value_beyond_a_float_is_counted_not_silently_dropped() -> None:
    document = ('{"schema": "argoscope.checks/v1", "results": ['
                '{"check": "rows", "kind": "gate", "status": "passed", '
                f'"value": {10**400}, "threshold": 1e999, '
                f'"features": [{{"feature": "age", "score": -{10**400}}}]}}]}}')
    wf = argo.workflow("r1", [argo.node("r1", "validate", outputs={"parameters": [
        {"name": "argoscope-checks", "value": document}]})])
    model = _model()
    model.apply(WORKFLOWS, "ADDED", wf)
    s = _scrape(model)
    assert value(s, "argoscope_exporter_objects_skipped_total", resource="argoscope-checks",
                 reason="out_of_range") == 3  # value, threshold, the feature's score
    assert total(s, "argoscope_check_status", check="rows") == 1  # the result still stands
    assert total(s, "argoscope_check_value", check="rows") == 0


controls = st.text(st.characters(codec="utf-8", categories=["Cc"]), min_size=1, max_size=3)


@st.composite
def named(draw: st.DrawFn) -> str:
    """A name with control characters in it (a NUL, an escape sequence, a newline)."""
    return draw(st.sampled_from(["", "a", "train-"])) + draw(controls) + draw(
        st.sampled_from(["", "b", "[31m"]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(named(), named(), named(), named(), named(), named())
def test_no_label_value_carries_a_control_character(namespace: str, run: str, pipeline: str,
                                                    template: str, check: str,
                                                    resource: str) -> None:
    document = json.dumps({"schema": "argoscope.checks/v1", "results": [
        {"check": check, "kind": check, "status": "failed", "value": 1,
         "features": [{"feature": check, "score": 0.5}]}]})
    nid, body = argo.node(run, "fit", template=template, phase="Failed", message=check,
                          resources={resource: 3},
                          outputs={"parameters": [{"name": "argoscope-checks",
                                                   "value": document}]})
    wf = argo.workflow(run, [(nid, body)], phase="Failed", namespace=namespace,
                       labels={"argoscope.io/pipeline": pipeline})
    live = argo.node(run, "wait", node_id=f"{run}-2", phase="Pending")
    wf["status"]["nodes"][live[0]] = live[1]
    model = _model()
    model.apply(WORKFLOWS, "ADDED", wf)
    model.apply(PODS, "ADDED", argo.pod(run, f"{run}-2", namespace=namespace, phase="Pending",
                                        waiting=check, node_name=f"{run}.{check}"))
    s = _scrape(model)
    assert total(s, "argoscope_workflow_runs_total") == 1
    for (_, labels) in s:
        for key, label in labels:
            assert not any(unicodedata.category(c) == "Cc" for c in label), (key, label)
