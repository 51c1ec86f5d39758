"""The Evidently engine: a `Report` with `DataDriftPreset`, read back into feature results.

Evidently is imported here only, when this engine is first used. Column types are declared
explicitly (numeric dtypes numerical, the rest categorical), as the native engine infers them,
so both engines test the same columns the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from argoscope.checks.drift_native import NUMERICAL, column_kind
from argoscope.checks.results import CheckInputError, FeatureResult

# Evidently names methods by display name in its JSON; map them back to test names.
DISPLAY_NAMES = {
    "K-S p_value": "ks", "chi-square p_value": "chisquare", "Z-test p_value": "z",
    "Wasserstein distance (normed)": "wasserstein", "Jensen-Shannon distance": "jensenshannon",
    "PSI": "psi",
}
_TEST_NAME = re.compile(r"^Value Drift for column (?P<column>.*)$")


def run(reference: pd.DataFrame, current: pd.DataFrame, columns: Sequence[str] | None = None,
        *, method: str | None = None, threshold: float | None = None,
        per_column_method: Mapping[str, str] | None = None,
        per_column_threshold: Mapping[str, float] | None = None, drift_share: float = 0.5,
        report_path: str | Path | None = None) -> list[FeatureResult]:
    """Run Evidently's DataDriftPreset; optionally keep its full JSON report at `report_path`."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    chosen = [str(c) for c in (reference.columns if columns is None else columns)]
    for column in chosen:
        for frame, which in ((reference, "reference"), (current, "current")):
            if column not in frame.columns:
                raise CheckInputError(f"column {column!r} is not in the {which} data")
    numerical = [c for c in chosen if column_kind(reference[c]) == NUMERICAL]
    categorical = [c for c in chosen if c not in numerical]
    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
    preset = DataDriftPreset(columns=chosen, method=method, threshold=threshold,
                             per_column_method=dict(per_column_method or {}) or None,
                             per_column_threshold=dict(per_column_threshold or {}) or None,
                             drift_share=drift_share)
    snapshot = Report([preset], include_tests=True).run(
        Dataset.from_pandas(current[chosen], data_definition=definition),
        Dataset.from_pandas(reference[chosen], data_definition=definition))
    raw: dict[str, Any] = snapshot.dict()
    if report_path is not None:
        Path(report_path).write_text(json.dumps(raw, default=str), encoding="utf-8")
    return parse(raw, chosen)


def parse(raw: Mapping[str, Any], columns: Sequence[str]) -> list[FeatureResult]:
    """Feature results from a snapshot's dict: scores from ValueDrift, verdicts from its tests."""
    verdicts: dict[str, bool] = {}
    for test in raw.get("tests", []):
        match = _TEST_NAME.match(str(test.get("name", "")))
        if match:
            verdicts[match["column"]] = str(test.get("status", "")).upper().endswith("FAIL")
    found: dict[str, FeatureResult] = {}
    for metric in raw.get("metrics", []):
        config = metric.get("config", {})
        if not str(config.get("type", "")).endswith(":ValueDrift"):
            continue
        column = str(config["column"])
        method = DISPLAY_NAMES.get(str(config.get("method")), str(config.get("method")))
        found[column] = FeatureResult(column, method, float(metric["value"]),
                                      float(config["threshold"]), verdicts[column])
    return [found[c] for c in columns]
