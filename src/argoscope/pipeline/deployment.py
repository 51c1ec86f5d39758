"""Step 6, model-deployment: put the validated model into the registry, with its metadata;
or roll the registry back to the previous version."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from argoscope import __version__
from argoscope.pipeline import storage
from argoscope.pipeline.registry import Registry
from argoscope.pipeline.validation import ACCURACY_THRESHOLD

# Set by the image build (or CI) to the source revision; optional.
REVISION_ENV = "ARGOSCOPE_CODE_REVISION"


def run(data_dir: Path, registry_dir: Path, checks_path: Path, *,
        accuracy_threshold: float = ACCURACY_THRESHOLD) -> dict[str, Any]:
    """Deploy this run's model; refuses (critical gate) a model under the threshold, so the
    registry is safe even when the step is run by hand without the DAG's `when:`."""
    from argoscope.checks import Checks

    ingestion = storage.read_json(data_dir / storage.RAW / "manifest.json")
    training = storage.read_json(data_dir / storage.MODEL / "training.json")
    validation = storage.read_json(data_dir / storage.MODEL / "validation.json")
    accuracy = float(validation["metrics"]["accuracy"])
    registry = Registry(registry_dir)
    with Checks(step="model-deployment", path=checks_path) as checks:
        gate = checks.gate("deployed_accuracy", accuracy, ">", accuracy_threshold)
        if gate.status != "passed":
            return {"deployed": None, "current": registry.current}
        metadata = {
            "workflow": os.environ.get("ARGO_WORKFLOW_NAME") or os.environ.get(
                "ARGOSCOPE_WORKFLOW", ""),
            "data_hash": ingestion["data_hash"],
            "dataset": ingestion["dataset"],
            "faults": ingestion["faults"],
            "parameters": training["parameters"],
            "metrics": {**training["metrics"], **validation["metrics"]},
            "code_version": {"argoscope": __version__,
                             "revision": os.environ.get(REVISION_ENV) or None},
        }
        version = registry.deploy(data_dir / storage.MODEL / "model.pkl", metadata)
    return {"deployed": version, "current": registry.current}


def rollback(registry_dir: Path) -> str:
    """Roll the registry back; returns the version now current."""
    return Registry(registry_dir).rollback()
