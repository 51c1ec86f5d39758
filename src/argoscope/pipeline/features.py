"""Step 3, feature-engineering: log-transform skewed features and standardise, with the
transform fitted on the training reference only (the current batch must not leak into it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from argoscope.pipeline import storage

# Features more skewed than this (on the reference) are log-transformed first.
SKEW_LIMIT = 1.0


def fit_transform(reference: Any, features: list[str]) -> dict[str, Any]:
    """The transform's parameters, fitted on the reference: which columns get log1p, and the
    mean and scale of each feature after it."""
    import numpy as np

    logged = [f for f in features
              if float(reference[f].skew()) > SKEW_LIMIT and float(reference[f].min()) >= 0]
    transformed = reference[features].copy()
    for f in logged:
        transformed[f] = np.log1p(transformed[f])
    scale = transformed.std(ddof=0).replace(0.0, 1.0)
    return {"features": features, "log1p": logged,
            "mean": {f: float(transformed[f].mean()) for f in features},
            "scale": {f: float(scale[f]) for f in features}}


def apply(frame: Any, transform: dict[str, Any]) -> Any:
    """Apply a fitted transform; keeps the target column."""
    import numpy as np

    out = frame.copy()
    for f in transform["log1p"]:
        out[f] = np.log1p(out[f].clip(lower=0))
    for f in transform["features"]:
        out[f] = (out[f] - transform["mean"][f]) / transform["scale"][f]
    return out


def run(data_dir: Path, checks_path: Path) -> dict[str, Any]:
    """Write `features/*` and `features/transform.json`."""
    from argoscope.checks import Checks

    manifest = storage.read_json(data_dir / storage.RAW / "manifest.json")
    features = list(manifest["features"])
    with Checks(step="feature-engineering", path=checks_path) as checks:
        frames = {split: storage.read_frame(storage.frame_path(data_dir, storage.CLEAN, split))
                  for split in ("reference", "current")}
        transform = fit_transform(frames["reference"], features)
        for split, frame in frames.items():
            engineered = apply(frame, transform)
            checks.expect(engineered, {"name": f"{split}_features", "expectations": [
                {"type": "expect_table_columns_to_match_set",
                 "kwargs": {"column_set": [*features, storage.TARGET], "exact_match": True},
                 "meta": {"name": f"{split}_feature_columns"}}]})
            finite = float(engineered[features].notna().all(axis=1).mean())
            checks.gate(f"{split}_finite_rows", finite, "==", 1.0)
            storage.write_frame(engineered, storage.frame_path(data_dir, storage.FEATURES, split))
        storage.write_json(transform, data_dir / storage.FEATURES / "transform.json")
    return transform
