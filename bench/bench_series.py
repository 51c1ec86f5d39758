"""Series count benchmark: how many Prometheus series a run, a step and a check add.

Feeds the exporter's model finished Workflows (each step Succeeded, with resourcesDuration and
an `argoscope-checks` document) and counts the samples of the `/metrics` body, by family,
without the exporter's own `argoscope_exporter_*` families. Each figure is the difference
between two model states measured in the same run (one more run, one more step, one more
check, one more drifted feature, one more pipeline), so it is what that unit adds, exactly.
Then the series of a whole cluster (pipelines x steps x checks, plus the capped recent runs)
at 1,000 and 10,000 runs, which do not depend on the number of runs beyond the recent-runs
cap, and what 100 such clusters hold in a central Prometheus. Results feed docs/scaling.md.

Usage: `python bench/bench_series.py [--out FILE]`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from prometheus_client import generate_latest

from argoscope.exporter.checkdocs import CheckDocuments
from argoscope.exporter.model import WORKFLOWS, Model, ModelConfig
from argoscope.exporter.server import build_registry

T0 = 1767225600.0
NOW = T0 + 3600


def _ts(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T0 + seconds))


def _checks(checks: int, features: int) -> dict[str, Any]:
    results: list[dict[str, Any]] = [
        {"check": f"check_{c}", "kind": "expectation", "status": "passed", "value": 0.0,
         "threshold": 0.0} for c in range(checks)]
    if features:
        results.append({"check": "input_drift", "kind": "drift", "status": "passed",
                        "value": 0.0, "threshold": 0.5, "features": [
                            {"feature": f"f{n}", "method": "psi", "score": 0.01,
                             "threshold": 0.2, "drifted": False} for n in range(features)]})
    return {"schema": "argoscope.checks/v1", "results": results}


def workflow(run: int, pipeline: str, steps: int, checks: int, features: int) -> dict[str, Any]:
    """A finished, Succeeded run of `steps` steps, each reporting `checks` checks."""
    name = f"{pipeline}-{run}"
    start = 60.0 * run
    nodes: dict[str, Any] = {name: {"id": name, "name": name, "displayName": name, "type": "DAG",
                                    "phase": "Succeeded", "startedAt": _ts(start),
                                    "finishedAt": _ts(start + 50),
                                    "children": [f"{name}-s{s}" for s in range(steps)]}}
    for s in range(steps):
        node_id = f"{name}-s{s}"
        nodes[node_id] = {
            "id": node_id, "name": f"{name}.s{s}", "displayName": f"s{s}", "type": "Pod",
            "templateName": f"s{s}", "phase": "Succeeded", "boundaryID": name,
            "startedAt": _ts(start + s), "finishedAt": _ts(start + s + 30),
            "resourcesDuration": {"cpu": 30, "memory": 120},
            "outputs": {"parameters": [{"name": "argoscope-checks",
                                        "value": json.dumps(_checks(checks, features))}]}}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
            "metadata": {"name": name, "namespace": "ml", "uid": f"uid-{name}",
                         "creationTimestamp": _ts(start),
                         "labels": {"workflows.argoproj.io/workflow-template": pipeline}},
            "spec": {"workflowTemplateRef": {"name": pipeline}},
            "status": {"phase": "Succeeded", "startedAt": _ts(start), "finishedAt": _ts(start + 50),
                       "nodes": nodes}}


def series(*, runs: int = 1, pipelines: int = 1, steps: int = 1, checks: int = 0,
           features: int = 0, recent_runs_max: int = 500) -> Counter[str]:
    """Samples per family (exporter self-metrics left out) after counting the runs once."""
    model = Model(ModelConfig(recent_runs_max=recent_runs_max), clock=lambda: NOW)
    # As the exporter wires it (argoscope.exporter.app): the reader of checks documents.
    model.observers.append(
        CheckDocuments(model.stats, max_series=model.config.max_series_per_family))
    for p in range(pipelines):
        for r in range(runs):
            model.apply(WORKFLOWS, "ADDED", workflow(r, f"pipeline-{p}", steps, checks,
                                                     features))
    registry = build_registry(model.collect, model.stats.collect)  # observers included
    body = generate_latest(registry).decode()
    counts: Counter[str] = Counter()
    for line in body.splitlines():
        if line and not line.startswith("#") and not line.startswith("argoscope_exporter_"):
            counts[line.split("{")[0].split(" ")[0]] += 1
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the Markdown section here")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the recent-runs cap is reached on purpose

    one = sum(series().values())
    per_run = sum(series(runs=2).values()) - one
    per_pipeline = sum(series(pipelines=2).values()) - one
    per_step = sum(series(steps=2).values()) - one
    with_check = series(checks=1)
    per_check = sum(series(checks=2).values()) - sum(with_check.values())
    with_feature = series(features=1)
    per_feature = sum(series(features=2).values()) - sum(with_feature.values())
    # A cluster: 50 pipelines x 10 steps x 5 checks (one drift check of 20 features per step),
    # with the default recent-runs cap; runs beyond the cap add nothing.
    cluster = {runs: sum(series(runs=runs // 50, pipelines=50, steps=10, checks=5,
                                features=20).values()) for runs in (1_000, 10_000)}

    lines = [
        "## Series per unit (issue 14)",
        "",
        f"`python bench/bench_series.py`, Python {platform_version()}; run on "
        f"{time.strftime('%Y-%m-%d')}. Samples of `/metrics` without the exporter's own "
        "`argoscope_exporter_*` families, after every run was counted once (all Succeeded; "
        "each other phase or failure reason seen adds its own counter and histogram).",
        "",
        "| unit | series added |",
        "|---|---:|",
        f"| first pipeline with one step and one run | {one} |",
        f"| one more finished run (recent-runs families, until the cap) | {per_run} |",
        f"| one more pipeline (one step) | {per_pipeline} |",
        f"| one more step of a pipeline | {per_step} |",
        f"| one more check of a step | {per_check} |",
        f"| one more feature of a drift check | {per_feature} |",
        f"| cluster: 50 pipelines x 10 steps x 5 checks + 20 drift features, 1,000 runs "
        f"| {cluster[1_000]:,} |",
        f"| same cluster, 10,000 runs | {cluster[10_000]:,} |",
        f"| 100 such clusters in a central Prometheus | {100 * cluster[10_000]:,} |",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


def platform_version() -> str:
    return ".".join(map(str, sys.version_info[:3]))


if __name__ == "__main__":
    raise SystemExit(main())
