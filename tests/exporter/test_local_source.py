"""`--source local:DIR`: the exporter reads the runner's state directory like a cluster."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest

from argoscope.exporter.model import Model
from argoscope.exporter.sources import SourceError
from argoscope.exporter.sources.local import LocalSource
from argoscope.local.manifest import load
from argoscope.local.runner import LocalRun, RunOptions
from tests.support.local_runs import RunYaml, workflow_yaml
from tests.support.model_samples import samples
from tests.support.net import wait_until

PIPELINE = """
- name: main
  dag:
    tasks:
    - {name: prep, template: ok}
    - {name: train, template: flaky, dependencies: [prep]}
    - {name: deploy, template: ok, dependencies: [train], when: "1 > 2"}
- name: ok
  container: {image: a, command: ["true"]}
- name: flaky
  retryStrategy: {limit: 1}
  container: {image: a, command: [sh, -c, "test -e ../attempted || { touch ../attempted; exit 1; }"]}
"""

GATED = """
- name: main
  dag:
    tasks:
    - {name: wait, template: wait}
- name: wait
  container:
    image: a
    command: [sh, -c, "while [ ! -e {{workflow.parameters.gate}} ]; do sleep 0.02; done"]
"""


def label(**labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def step(step: str, template: str, phase: str) -> tuple[tuple[str, str], ...]:
    return label(namespace="argo-local", pipeline="p", step=step, template=template, phase=phase)


def test_snapshot_counts_exactly(run_yaml: RunYaml) -> None:
    done = run_yaml(workflow_yaml(PIPELINE, name="p-"))
    assert done.phase == "Succeeded"
    model = Model()
    LocalSource(model, done.state_dir).snapshot()
    assert model.stats.ready
    assert samples(model, "argoscope_step_runs_total") == {
        step("prep", "ok", "Succeeded"): 1.0,
        step("train", "flaky", "Failed"): 1.0,
        step("train", "flaky", "Succeeded"): 1.0,
        step("deploy", "ok", "Skipped"): 1.0,
    }
    assert samples(model, "argoscope_step_retries_total") == {
        label(namespace="argo-local", pipeline="p", step="train"): 1.0}
    assert samples(model, "argoscope_step_failures_total") == {
        label(namespace="argo-local", pipeline="p", step="train", reason="Error"): 1.0}
    assert samples(model, "argoscope_workflow_runs_total") == {
        label(namespace="argo-local", pipeline="p", phase="Succeeded"): 1.0}
    # Pods were read too: the pending histogram needs the main container's start.
    assert samples(model, "argoscope_step_pending_seconds_count")[
        label(namespace="argo-local", pipeline="p", step="train")] == 2.0


def test_snapshot_of_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such directory"):
        LocalSource(Model(), tmp_path / "absent").snapshot()
    (tmp_path / "file").write_text("x")
    with pytest.raises(SourceError, match="not a directory"):
        LocalSource(Model(), tmp_path / "file")


def test_live_follow_counts_a_run_once_and_history_never(run_yaml: RunYaml,
                                                         tmp_path: Path) -> None:
    history = run_yaml(workflow_yaml(PIPELINE, name="p-"))
    state = history.state_dir
    model = Model()
    source = LocalSource(model, state, poll_seconds=0.02)
    stop = threading.Event()
    follower = threading.Thread(target=source.run, args=(stop,), daemon=True)
    follower.start()
    try:
        wait_until(lambda: model.stats.ready, timeout=5)
        # Already finished at the first pass: history, in gauges but not in counters.
        assert samples(model, "argoscope_step_runs_total") == {}
        assert samples(model, "argoscope_workflows") == {
            label(namespace="argo-local", pipeline="p", phase="Succeeded"): 1.0}

        gate = tmp_path / "gate"
        manifest = tmp_path / "gated.yaml"
        manifest.write_text(workflow_yaml(GATED, name="g-",
                                          arguments=f"- {{name: gate, value: '{gate}'}}"))
        run = LocalRun(load(manifest), RunOptions(state_dir=state))
        runner = threading.Thread(target=run.run, daemon=True)
        runner.start()
        running = label(namespace="argo-local", pipeline="g", phase="Running")
        wait_until(lambda: samples(model, "argoscope_workflows").get(running) == 1.0,
                          timeout=10)
        assert samples(model, "argoscope_workflow_runs_total") == {}
        gate.touch()
        runner.join(timeout=10)
        finished = label(namespace="argo-local", pipeline="g", phase="Succeeded")
        wait_until(
            lambda: samples(model, "argoscope_workflow_runs_total").get(finished) == 1.0,
            timeout=10)
        # Rewriting the finished file (a MODIFIED event) counts nothing again.
        path = run.workflow_path
        path.write_text(json.dumps(json.loads(path.read_text())))
        events = dict(model.stats.events)
        wait_until(lambda: model.stats.events != events, timeout=5)
        assert samples(model, "argoscope_workflow_runs_total") == {finished: 1.0}
        assert samples(model, "argoscope_step_runs_total") == {
            label(namespace="argo-local", pipeline="g", step="wait", template="wait",
                  phase="Succeeded"): 1.0}

        # Deleting a workflow's file is a DELETED event: the run leaves the live gauge.
        path.unlink()
        wait_until(lambda: finished not in samples(model, "argoscope_workflows"),
                          timeout=5)
        assert samples(model, "argoscope_workflow_runs_total") == {finished: 1.0}
    finally:
        stop.set()
        follower.join(timeout=5)


def test_follow_starts_before_the_directory_exists(tmp_path: Path) -> None:
    model = Model()
    state = tmp_path / "later"
    source = LocalSource(model, state, poll_seconds=0.02)
    stop = threading.Event()
    follower = threading.Thread(target=source.run, args=(stop,), daemon=True)
    follower.start()
    try:
        wait_until(lambda: model.stats.ready, timeout=5)
        (state / "workflows").mkdir(parents=True)
        (state / "workflows" / "broken.json").write_text("{not json")
        wait_until(lambda: model.stats.skipped.get(("workflows", "malformed")) == 1.0,
                          timeout=5)
    finally:
        stop.set()
        follower.join(timeout=5)
    shutil.rmtree(state)


def test_a_fifo_or_an_oversized_object_file_is_skipped_never_waited_on(
        run_yaml: RunYaml, monkeypatch: pytest.MonkeyPatch) -> None:
    # The state directory is written by step code's neighbours too: a FIFO named like an object
    # file would block a plain read forever, an enormous file would be read whole.
    import os

    from argoscope.exporter.sources import local as local_source

    done = run_yaml(workflow_yaml(PIPELINE, name="p-"))
    os.mkfifo(done.state_dir / "workflows" / "stuck.json")
    huge = done.state_dir / "pods" / "huge.json"
    huge.write_text(json.dumps({"kind": "Pod", "pad": "x" * 200_000}))
    monkeypatch.setattr(local_source, "MAX_OBJECT_BYTES", 100_000)
    model = Model()
    LocalSource(model, done.state_dir).snapshot()
    assert model.stats.ready
    assert model.stats.skipped == {("workflows", "malformed"): 1.0, ("pods", "too_large"): 1.0}
    # The run itself still counts.
    assert samples(model, "argoscope_workflow_runs_total") == {
        label(namespace="argo-local", pipeline="p", phase="Succeeded"): 1.0}
