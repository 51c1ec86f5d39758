"""One closed reason vocabulary: every failure and waiting reason is one of a documented set;
anything else is `Error` (or `Other` when waiting) and counted; the most specific cause wins,
whichever of the Workflow and the Pod arrives first."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from argoscope.exporter.model import PODS, WORKFLOWS, Model
from argoscope.exporter.reasons import FAILURE_REASONS, WAITING_REASONS
from tests.support import argo
from tests.support.clock import Clock
from tests.support.metrics import expose, samples, total, value

LABELS = {"namespace": "ml", "pipeline": "train", "step": "fit"}


def _failed(message: str | None, **pod: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A run whose step `fit` failed with `message`, and its pod in the state `pod` says."""
    nid, body = argo.node("r1", "fit", node_id="r1-fit", phase="Failed", start=0, finish=60,
                          message=message)
    return (argo.workflow("r1", [(nid, body)], phase="Failed"),
            argo.pod("r1", nid, phase="Failed", **pod))


def _scrape(objects: list[tuple[str, dict[str, Any]]]) -> dict[Any, float]:
    """Apply in this order, as a snapshot does, and scrape."""
    model = Model(clock=Clock(argo.T0 + 1000))
    for resource, obj in objects:
        model.apply(resource, "ADDED", obj)
    model.settle()
    return samples(expose(model.collect, model.stats.collect))


def _both_orders(wf: dict[str, Any], pod: dict[str, Any]) -> dict[Any, float]:
    workflow_first = _scrape([(WORKFLOWS, wf), (PODS, pod)])
    assert _scrape([(PODS, pod), (WORKFLOWS, wf)]) == workflow_first
    return workflow_first


@pytest.mark.parametrize(("message", "expected"), [
    ("Step exceeded its deadline", "DeadlineExceeded"),
    ("Pod was active on the node longer than the specified deadline", "DeadlineExceeded"),
    ("Max duration limit exceeded", "DeadlineExceeded"),
    ("Stopped with strategy 'Terminate'", "Terminated"),
    ("Stopped with strategy 'Stop'", "Terminated"),
    ("terminated", "Terminated"),
    ("OOMKilled (exit code 137)", "OOMKilled"),
])
def test_a_specific_node_message_beats_a_generic_container_error(message: str,
                                                                  expected: str) -> None:
    # The container ends with a plain `Error` (killed): the node says why.
    wf, pod = _failed(message, terminated={"reason": "Error", "exitCode": 143},
                      main_started=5)
    s = _both_orders(wf, pod)
    assert value(s, "argoscope_step_failures_total", **LABELS, reason=expected) == 1
    assert total(s, "argoscope_step_failures_total") == 1


def test_pending_time_is_there_whichever_arrives_first() -> None:
    wf, pod = _failed("Error (exit code 1)", terminated={"reason": "Error", "exitCode": 1,
                                                          "startedAt": argo.ts(42)})
    s = _both_orders(wf, pod)
    assert value(s, "argoscope_step_pending_seconds_sum", **LABELS) == 42


def test_a_live_attempt_waits_for_its_pods_last_word() -> None:
    # A watch delivers the Workflow's Failed node before the pod's Failed update.
    clock = Clock(argo.T0 + 1000)
    model = Model(clock=clock)
    model.config.pod_wait_seconds = 10
    wf, pod = _failed("Error (exit code 1)", reason="DeadlineExceeded")
    running = argo.pod("r1", "r1-fit", phase="Running", main_started=5)
    model.apply(PODS, "ADDED", running)
    model.apply(WORKFLOWS, "MODIFIED", wf)
    assert total(samples(expose(model.collect)), "argoscope_step_runs_total") == 0  # waits
    model.apply(PODS, "MODIFIED", pod)
    s = samples(expose(model.collect))
    assert value(s, "argoscope_step_failures_total", **LABELS, reason="DeadlineExceeded") == 1
    # A pod seen running that never says how it ended: counted with what is known (the
    # node's message) once the wait is over.
    other = argo.workflow("r2", [argo.node("r2", "fit", node_id="r2-fit", phase="Failed",
                                           message="OOMKilled (exit code 137)")],
                          phase="Failed")
    model.apply(PODS, "ADDED", argo.pod("r2", "r2-fit", phase="Running", main_started=5))
    model.apply(WORKFLOWS, "ADDED", other)
    assert total(samples(expose(model.collect)), "argoscope_step_runs_total") == 1
    clock.now += 11
    s = samples(expose(model.collect))
    assert total(s, "argoscope_step_failures_total", reason="OOMKilled") == 1
    # A pod never seen (podGC'd before the exporter watched): counted at the next scrape.
    model.apply(WORKFLOWS, "ADDED", argo.workflow("r3", [argo.node("r3", "fit")]))
    assert total(samples(expose(model.collect)), "argoscope_step_runs_total") == 3


@pytest.mark.parametrize(("message", "pod", "source"), [
    ("Mock error", {}, "message"),
    ("404 Not Found", {}, "message"),
    ("failed with exit code 1", {"reason": "Mock"}, "pod"),
    ("failed with exit code 1", {"terminated": {"reason": "Bogus", "exitCode": 1}}, "pod"),
])
def test_a_cause_outside_the_vocabulary_is_error_and_counted(
        message: str, pod: dict[str, Any], source: str) -> None:
    wf, obj = _failed(message, **pod)
    s = _both_orders(wf, obj)
    assert value(s, "argoscope_step_failures_total", **LABELS, reason="Error") == 1
    assert value(s, "argoscope_exporter_unknown_reasons_total", source=source) == 1


reason_text = st.one_of(st.sampled_from(sorted(FAILURE_REASONS | WAITING_REASONS)),
                        st.sampled_from(["Mock", "OutOfnvidia.com/gpu", "Completed", "",
                                         "No more retries left", "Pending 156.62ms"]),
                        st.text(max_size=30))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reason_text, reason_text, reason_text, reason_text)
def test_every_reason_label_is_in_the_vocabulary_whatever_arrives_first(
        message: str, pod_reason: str, container: str, waiting: str) -> None:
    wf, pod = _failed(message, reason=pod_reason,
                      terminated={"reason": container, "exitCode": 1})
    waiting_pod = argo.pod("r1", "r1-fit", phase="Pending", waiting=waiting)
    s = _both_orders(wf, pod)
    reasons = {dict(labels)["reason"] for (name, labels) in s
               if name == "argoscope_step_failures_total"}
    assert len(reasons) == 1 and reasons <= FAILURE_REASONS
    live = _scrape([(PODS, waiting_pod), (WORKFLOWS, argo.workflow(
        "r1", [argo.node("r1", "fit", node_id="r1-fit", phase="Pending")], phase="Running"))])
    assert {dict(labels)["reason"] for (name, labels) in live
            if name == "argoscope_steps_waiting"} <= WAITING_REASONS


def test_waiting_attempts_are_bounded_when_nobody_scrapes(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    from argoscope.exporter import store

    monkeypatch.setattr(store, "MAX_WAITING_ATTEMPTS", 4)
    model = Model()
    for index in range(10):
        model.apply(WORKFLOWS, "ADDED", argo.workflow(f"r{index}", [argo.node(f"r{index}", "fit")]))
    # No scrape has released them: the counters alone (no prune) already hold the oldest.
    counted = samples(expose(model.counters.collect))
    assert total(counted, "argoscope_step_runs_total") >= 10 - 4 - 1
    assert total(samples(expose(model.collect)), "argoscope_step_runs_total") == 10
