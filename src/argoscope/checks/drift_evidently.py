"""The Evidently engine: a `Report` with `DataDriftPreset`, read back into feature results.

Evidently is imported here only, when this engine is first used. Without `column_types=`,
Evidently infers column types itself (the native engine reproduces that inference); with it,
every tested column's type is declared. Column labels Evidently cannot handle (integers,
names with line breaks) are passed under stand-in names and mapped back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from argoscope.checks import arguments, drift_columns
from argoscope.checks._engine import DriftOptions
from argoscope.checks.drift_stattests import CATEGORICAL, NUMERICAL, TESTS, TEXT, TEXT_TESTS
from argoscope.checks.results import CheckInputError, FeatureResult

# Evidently names methods by display name in its JSON; map them back to test names.
DISPLAY_NAMES = {test.display_name: name for name, test in TESTS.items()} | {
    display: name for name, display in TEXT_TESTS.items()}
_TEST_NAME = re.compile(r"^Value Drift for column (?P<column>.*)$", re.DOTALL)


def _safe_names(labels: Sequence[object]) -> dict[object, str]:
    """A string name Evidently accepts for each label: itself when it is a plain string."""
    names: dict[object, str] = {}
    for position, label in enumerate(labels):
        plain = isinstance(label, str) and not any(c in label for c in "\r\n")
        names[label] = label if plain else f"argoscope_column_{position}"  # type: ignore[assignment]
    return names


def run(reference: pd.DataFrame, current: pd.DataFrame, columns: Sequence[object] | None = None,
        *, method: str | None = None, threshold: float | None = None,
        per_column_method: Mapping[str, str] | None = None,
        per_column_threshold: Mapping[str, float] | None = None, drift_share: float = 0.5,
        column_types: Mapping[str, str] | None = None,
        report_path: str | Path | None = None) -> list[FeatureResult]:
    """Run Evidently's DataDriftPreset; optionally keep its full JSON report at `report_path`."""
    try:
        from evidently import DataDefinition, Dataset, Report
        from evidently.presets import DataDriftPreset
    except ImportError:
        raise CheckInputError("the Evidently engine needs Evidently, which is not installed: "
                              "pip install 'argoscope[engines]'") from None

    labels = list(current.columns) if columns is None else list(columns)
    for column in labels:
        for frame, which in ((reference, "reference"), (current, "current")):
            if column not in frame.columns:
                raise CheckInputError(f"column {column!r} is not in the {which} data")
    safe = _safe_names(labels)
    by_name = {str(label): safe[label] for label in labels}
    ref = reference[labels].set_axis([safe[c] for c in labels], axis=1)
    cur = current[labels].set_axis([safe[c] for c in labels], axis=1)
    definition = None
    preset_columns: list[str] | None = None
    if column_types is not None or columns is not None:
        # The same checks and errors as the native engine; types declared only when given.
        kinds = drift_columns.resolve(current, labels if columns is not None else None,
                                      column_types)
        preset_columns = [safe[c] for c in kinds]
        if column_types is not None:
            definition = DataDefinition(
                numerical_columns=[safe[c] for c, k in kinds.items() if k == NUMERICAL],
                categorical_columns=[safe[c] for c, k in kinds.items() if k == CATEGORICAL],
                text_columns=[safe[c] for c, k in kinds.items() if k == TEXT])
    preset = DataDriftPreset(
        columns=preset_columns, method=method, threshold=threshold,
        per_column_method={by_name.get(str(k), str(k)): v
                           for k, v in (per_column_method or {}).items()} or None,
        per_column_threshold={by_name.get(str(k), str(k)): v
                              for k, v in (per_column_threshold or {}).items()} or None,
        drift_share=drift_share)
    try:
        snapshot = Report([preset], include_tests=True).run(
            Dataset.from_pandas(cur, data_definition=definition),
            Dataset.from_pandas(ref, data_definition=definition))
    except (ValueError, IndexError, TypeError, ArithmeticError) as exc:
        # Evidently's own input checks (an empty column, a bad method) and what its libraries
        # raise on degenerate data (a constant column, mixed objects): bad input, named.
        raise CheckInputError(f"Evidently: {type(exc).__name__}: {exc}") from None
    raw: dict[str, Any] = snapshot.dict()
    if report_path is not None:
        Path(report_path).write_text(json.dumps(raw, default=str), encoding="utf-8")
    found = parse(raw)
    features = [replace(found[safe[label]], feature=str(label)) for label in labels
                if safe[label] in found]
    if threshold is not None or per_column_threshold:
        for feature in features:  # a threshold given for whichever test Evidently chose
            arguments.threshold(feature.method, feature.threshold,
                                f"threshold for column {feature.feature!r}")
    return features


def parse(raw: Mapping[str, Any], columns: Sequence[str] | None = None
          ) -> dict[str, FeatureResult]:
    """Feature results by column from a snapshot's dict: scores from ValueDrift, verdicts from
    its tests (only `columns`, when given)."""
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
        if columns is not None and column not in columns:
            continue
        method = DISPLAY_NAMES.get(str(config.get("method")), str(config.get("method")))
        found[column] = FeatureResult(column, method, float(metric["value"]),
                                      float(config["threshold"]), verdicts[column])
    return found


class EvidentlyDrift:
    """Evidently behind the drift seam (`argoscope.checks._engine`)."""

    name = "evidently"

    def run(self, reference: pd.DataFrame, current: pd.DataFrame,
            options: DriftOptions) -> list[FeatureResult]:
        """Evidently's DataDriftPreset with `options`; keeps its report at `report_path`."""
        return run(reference, current, options.columns, method=options.method,
                   threshold=options.threshold, per_column_method=options.per_column_method,
                   per_column_threshold=options.per_column_threshold,
                   drift_share=options.drift_share, column_types=options.column_types,
                   report_path=options.report_path)


ENGINE = EvidentlyDrift()
