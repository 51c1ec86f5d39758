"""Step 5, model-validation: accuracy on the incoming batch, drift of that batch against the
training reference, and the accuracy gate the deployment's `when:` reads.

Validation reports; it does not stop the run. Its checks are critical (a failed drift check
or gate shows as failed and alerts), but the step exits 0 so the DAG's
`when: "{{tasks.model-validation.outputs.parameters.accuracy}} > 0.85"` is what skips the
deployment, as in the seed pipeline.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from argoscope.pipeline import storage

ACCURACY_THRESHOLD = 0.85
# The drift check fails when at least this share of the features drifted.
DRIFT_SHARE = 0.25


def run(data_dir: Path, checks_path: Path, *,
        accuracy_threshold: float = ACCURACY_THRESHOLD,
        drift_share: float = DRIFT_SHARE) -> dict[str, Any]:
    """Evaluate and write `model/validation.json`; the gate file `accuracy` goes beside
    the checks document (the template's `accuracy` output parameter)."""
    from sklearn.metrics import accuracy_score, f1_score

    from argoscope.checks import Checks

    checks = Checks(step="model-validation", path=checks_path)
    training = storage.read_json(data_dir / storage.MODEL / "training.json")
    features = list(training["features"])
    model_path = data_dir / storage.MODEL / "model.pkl"
    if not model_path.is_file():
        raise storage.StepInputError(f"{model_path}: missing (did model-training run?)")
    model = pickle.loads(model_path.read_bytes())  # our own artifact, from this run
    current = storage.read_frame(storage.frame_path(data_dir, storage.FEATURES, "current"))
    predicted = model.predict(current[features])
    labels = current[storage.TARGET]
    accuracy = float(accuracy_score(labels, predicted))
    f1 = float(f1_score(labels, predicted, average="macro"))

    clean = {split: storage.read_frame(storage.frame_path(data_dir, storage.CLEAN, split))
             for split in ("reference", "current")}
    drift = checks.drift(clean["reference"], clean["current"], name="input_drift",
                         columns=features, drift_share=drift_share)
    checks.gate("accuracy", accuracy, ">", accuracy_threshold)
    checks.emit(raise_on_failure=False)  # the DAG's `when:` acts on the gate
    summary = {"metrics": {"accuracy": accuracy, "f1_macro": f1,
                           "drift_share": drift.value},
               "accuracy_threshold": accuracy_threshold,
               "drifted_features": [f.feature for f in drift.features if f.drifted],
               "passed": not checks.failures}
    storage.write_json(summary, data_dir / storage.MODEL / "validation.json")
    return summary
