"""Step 2, preprocessing: expectations on both splits, then missing values imputed with the
reference's medians (what slips under the expectations' `mostly` is repaired, not hidden)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from argoscope.pipeline import storage

# At most this share of a feature's values may be missing before the step refuses the data.
NULL_TOLERANCE = 0.05


def quality_suite(split: str, features: Sequence[str], classes: Sequence[int]) -> dict[str, Any]:
    """The expectation suite for one split (check names carry the split)."""
    expectations: list[dict[str, Any]] = [
        {"type": "expect_column_values_to_not_be_null",
         "kwargs": {"column": feature, "mostly": 1.0 - NULL_TOLERANCE},
         "meta": {"name": f"{split}_not_null:{feature}"}}
        for feature in features]
    expectations.append({"type": "expect_column_values_to_not_be_null",
                         "kwargs": {"column": storage.TARGET},
                         "meta": {"name": f"{split}_labels_present"}})
    expectations.append({"type": "expect_column_values_to_be_in_set",
                         "kwargs": {"column": storage.TARGET, "value_set": list(classes)},
                         "meta": {"name": f"{split}_labels_known"}})
    return {"name": f"{split}_quality", "expectations": expectations}


def run(data_dir: Path, checks_path: Path) -> dict[str, int]:
    """Check `raw/*`, write `clean/*`; returns the number of values imputed per split."""
    from argoscope.checks import Checks

    manifest = storage.read_json(data_dir / storage.RAW / "manifest.json")
    features, classes = manifest["features"], manifest["classes"]
    frames = {split: storage.read_frame(storage.frame_path(data_dir, storage.RAW, split))
              for split in ("reference", "current")}
    imputed: dict[str, int] = {}
    with Checks(step="preprocessing", path=checks_path) as checks:
        for split, frame in frames.items():
            checks.expect(frame, quality_suite(split, features, classes))
        if checks.failures:
            return imputed  # leaving the block fails the step; nothing half-clean is written
        medians = frames["reference"][features].median()
        for split, frame in frames.items():
            imputed[split] = int(frame[features].isna().sum().sum())
            clean = frame.assign(**{f: frame[f].fillna(medians[f]) for f in features})
            storage.write_frame(clean, storage.frame_path(data_dir, storage.CLEAN, split))
    return imputed
