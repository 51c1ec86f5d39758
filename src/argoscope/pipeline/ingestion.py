"""Step 1, data-ingestion: load a dataset scikit-learn ships and split it into the training
reference and the incoming (current) batch, injecting the run's faults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from argoscope.pipeline import storage
from argoscope.pipeline.faults import Faults, apply_to_current, check_crash, flip_labels

DATASETS = ("breast_cancer", "wine")
# The incoming batch's share of the rows; the rest is the training reference.
CURRENT_FRACTION = 0.3


def load_dataset(name: str) -> Any:
    """The dataset as a frame with a `target` column (bundled with scikit-learn: no download)."""
    from sklearn import datasets

    loaders = {"breast_cancer": datasets.load_breast_cancer, "wine": datasets.load_wine}
    if name not in loaders:
        raise ValueError(f"dataset: must be one of {', '.join(DATASETS)}, not {name!r}")
    bunch = loaders[name](as_frame=True)
    frame = bunch.frame.rename(columns={"target": storage.TARGET})
    return frame


def run(data_dir: Path, checks_path: Path, *, dataset: str = "breast_cancer", seed: int = 7,
        faults: Faults | None = None, attempt: int = 0) -> dict[str, Any]:
    """Write `raw/reference.parquet`, `raw/current.parquet` and `raw/manifest.json`."""
    faults = faults or Faults()
    check_crash(faults.crash, attempt)  # before any work, as an unreachable source would

    import numpy as np
    from sklearn.model_selection import train_test_split

    from argoscope.checks import Checks

    frame = load_dataset(dataset)
    features = [column for column in frame.columns if column != storage.TARGET]
    reference, current = train_test_split(frame, test_size=CURRENT_FRACTION, random_state=seed,
                                          stratify=frame[storage.TARGET])
    rng = np.random.default_rng(seed)
    current = apply_to_current(current, reference, faults, features, rng)
    reference = reference.assign(**{storage.TARGET: flip_labels(
        reference[storage.TARGET], faults.label_noise, rng)})

    with Checks(step="data-ingestion", path=checks_path) as checks:
        for split, part in (("reference", reference), ("current", current)):
            checks.expect(part, {"name": f"{split}_shape", "expectations": [
                {"type": "expect_table_row_count_to_be_between",
                 "kwargs": {"min_value": 50, "max_value": 1_000_000},
                 "meta": {"name": f"{split}_row_count"}},
                {"type": "expect_table_columns_to_match_set",
                 "kwargs": {"column_set": [*features, storage.TARGET], "exact_match": True},
                 "meta": {"name": f"{split}_columns"}},
            ]})
        paths = []
        for split, part in (("reference", reference), ("current", current)):
            path = storage.frame_path(data_dir, storage.RAW, split)
            storage.write_frame(part.reset_index(drop=True), path)
            paths.append(path)
        manifest = {"dataset": dataset, "seed": seed, "features": features,
                    "classes": sorted(int(c) for c in frame[storage.TARGET].unique()),
                    "rows": {"reference": len(reference), "current": len(current)},
                    "faults": faults.describe(), "data_hash": storage.file_hash(*paths)}
        storage.write_json(manifest, data_dir / storage.RAW / "manifest.json")
    return manifest
