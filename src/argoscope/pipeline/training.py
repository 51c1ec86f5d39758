"""Step 4, model-training: a logistic regression on the engineered reference features."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from argoscope.pipeline import storage

# Training accuracy under this hints at label noise; it warns, the validation gate decides.
TRAIN_ACCURACY_FLOOR = 0.9


def run(data_dir: Path, checks_path: Path, *, regularization: float = 1.0,
        seed: int = 7) -> dict[str, Any]:
    """Fit the model; write `model/model.pkl` and `model/training.json`."""
    from sklearn.linear_model import LogisticRegression

    from argoscope.checks import Checks

    if regularization <= 0:
        raise ValueError(f"regularization: must be positive, not {regularization}")
    transform = storage.read_json(data_dir / storage.FEATURES / "transform.json")
    features = list(transform["features"])
    with Checks(step="model-training", path=checks_path) as checks:
        reference = storage.read_frame(storage.frame_path(data_dir, storage.FEATURES,
                                                          "reference"))
        params = {"model": "LogisticRegression", "C": regularization, "max_iter": 2000,
                  "random_state": seed}
        model = LogisticRegression(C=regularization, max_iter=2000, random_state=seed)
        model.fit(reference[features], reference[storage.TARGET])
        accuracy = float(model.score(reference[features], reference[storage.TARGET]))
        checks.gate("train_accuracy", accuracy, ">", TRAIN_ACCURACY_FLOOR, severity="warning")
        path = data_dir / storage.MODEL / "model.pkl"
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(pickle.dumps(model))
        partial.replace(path)
        summary = {"parameters": params, "features": features,
                   "metrics": {"train_accuracy": accuracy}}
        storage.write_json(summary, data_dir / storage.MODEL / "training.json")
    return summary
