"""A local run of an upstream Argo workflow reads like the real thing.

Each case takes a real Argo Workflow object from `../shared/fixtures/argo` (with the status a
real controller wrote), runs its spec locally with the container commands swapped for local
equivalents that behave the same (same exit codes, same attempts), and asserts that the
exporter derives the same step counts, retries and failure reasons from both.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from argoscope.exporter.model import Model
from argoscope.exporter.sources.local import LocalSource
from argoscope.local.manifest import load
from argoscope.local.runner import LocalRun, RunOptions
from tests.support.model_samples import samples, step_counts

# Fail twice, then succeed: what the upstream run's `exit $((RANDOM % 3))` happened to do.
FAIL_TWICE = ["sh", "-c", "n=$(cat ../count 2>/dev/null || echo 0); echo $((n+1)) > ../count; "
              "[ \"$n\" -ge 2 ] || exit 1"]

CASES: dict[str, dict[str, list[str]]] = {
    "awf-dag_retry_succeeded.yaml": {"randomly-fail": FAIL_TWICE},
    "awf-dag-disable-fail-fast.yaml": {
        "a": ["echo", "hello world"], "b": ["sh", "-c", "echo haha"],
        "c": ["sh", "-c", "echo intentional failure; exit 2"], "d": ["echo", "hello world"]},
    "awf-dag-exhausted-retries-xfail.yaml": {
        "fail": ["sh", "-c", "exit 1"], "success": ["sh", "-c", "exit 0"]},
    "awf-util_test.go--nestedDAG.yaml": {"echo": ["echo", "{{inputs.parameters.message}}"]},
}
# Upstream fields that only shape the pod on a cluster; the runner refuses unknown ones.
CLUSTER_ONLY = ("podSpecPatch",)


def local_equivalent(upstream: dict[str, Any], commands: dict[str, list[str]]) -> dict[str, Any]:
    """The upstream Workflow without status, its containers running local commands."""
    spec = copy.deepcopy(upstream["spec"])
    for key in CLUSTER_ONLY:
        spec.pop(key, None)
    for template in spec["templates"]:
        if "container" in template:
            template["container"].pop("args", None)
            template["container"]["command"] = commands[template["name"]]
    meta = upstream["metadata"]
    metadata = ({"generateName": meta["generateName"]} if meta.get("generateName")
                else {"name": meta["name"]})
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": metadata,
            "spec": spec}


@pytest.mark.parametrize("fixture", sorted(CASES))
def test_local_run_derives_what_upstream_status_does(argo_fixtures: Path, tmp_path: Path,
                                                     fixture: str) -> None:
    upstream = yaml.safe_load((argo_fixtures / fixture).read_text())
    expected = Model()
    expected.apply_object(upstream)

    manifest = tmp_path / "wf.yaml"
    manifest.write_text(yaml.safe_dump(local_equivalent(upstream, CASES[fixture])))
    namespace = upstream["metadata"].get("namespace") or "default"
    run = LocalRun(load(manifest), RunOptions(state_dir=tmp_path / "state", namespace=namespace,
                                              parallelism=4))
    phase = run.run()
    actual = Model()
    LocalSource(actual, tmp_path / "state").snapshot()

    assert step_counts(actual) == step_counts(expected)
    assert step_counts(actual)["argoscope_step_runs_total"]  # the comparison is not vacuous
    upstream_phase = (upstream.get("status") or {}).get("phase")
    if upstream_phase in ("Succeeded", "Failed"):
        assert phase == upstream_phase
        assert samples(actual, "argoscope_workflow_runs_total") == \
            samples(expected, "argoscope_workflow_runs_total")
