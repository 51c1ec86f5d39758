"""The native drift engine: Evidently 0.7's `DataDriftPreset`, column by column, in numpy.

Column types are Evidently's own inference unless declared (see `drift_columns`). Method
choice per column (Evidently's `_get_default_stattest`): with at most 1,000 reference rows,
numerical columns use Kolmogorov-Smirnov (more than 5 distinct values), chi-square (3-5) or a
proportions Z-test (1-2), categorical ones chi-square or Z-test; above 1,000 rows, numerical
columns use the normed Wasserstein distance (more than 5 values) or Jensen-Shannon,
categorical ones Jensen-Shannon. Infinite and missing values are dropped first, in every
column type. Any registered test can be asked for by name (`drift_stattests.TESTS`). Text
columns run through Evidently itself (its text-content tests need its models). A dataset
drifts when the share of drifted columns reaches `drift_share` (0.5).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from argoscope.checks import arguments, drift_columns
from argoscope.checks._engine import TEXT_DRIFT_ENGINE, DriftOptions, drift_engine
from argoscope.checks.drift_stattests import (
    CATEGORICAL,
    NUMERICAL,
    SMALL_REFERENCE,
    TESTS,
    TEXT,
    Merged,
    default_test,
    import_scipy,
    score_unit,
)
from argoscope.checks.results import CheckInputError, FeatureResult

__all__ = ["CATEGORICAL", "ENGINE", "NUMERICAL", "SMALL_REFERENCE", "TESTS", "TEXT",
           "NativeDrift", "column_drift", "dataset_drift", "default_test", "score_unit"]

RANDOM_TESTS = frozenset(("empirical_mmd", "TVD"))
_KIND_NAMES = {NUMERICAL: "numerical", CATEGORICAL: "categorical", TEXT: "text"}


def _clean(series: pd.Series, column: str, which: str) -> pd.Series:
    # Evidently replaces ±inf by NaN in every column type (object and category too), then
    # drops missing values.
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    if series.dtype == object:
        series = series[~series.isin([np.inf, -np.inf])]
    if isinstance(series.dtype, np.dtype) and series.dtype.kind == "f":
        usable = np.isfinite(series.to_numpy())  # one pass for NaN and ±inf alike
        if not usable.all():
            series = series[usable]
    else:
        series = series.dropna()
    if series.empty:
        raise CheckInputError(f"column {column!r} has no usable values in the {which} data")
    return series


def column_drift(reference: pd.Series, current: pd.Series, column: str, *,
                 method: str | None = None, threshold: float | None = None,
                 kind: str | None = None) -> FeatureResult:
    """Drift of one numerical or categorical column, as Evidently's ValueDrift computes it."""
    kind = kind or drift_columns.infer(current)
    if kind not in (NUMERICAL, CATEGORICAL):
        raise CheckInputError(f"column {column!r}: the native engine tests numerical and "
                              "categorical columns; text goes through Evidently")
    ref = _clean(reference, column, "reference")
    cur = _clean(current, column, "current")
    if kind == NUMERICAL:
        for values, which in ((ref, "reference"), (cur, "current")):
            if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
                raise CheckInputError(f"column {column!r} is declared numerical but the {which} "
                                      f"data is {values.dtype}")
    merged = None
    if kind == NUMERICAL and method in (None, "wasserstein") and len(ref) > SMALL_REFERENCE:
        merged = Merged.of(ref, cur)  # the large-sample path: sort once for both uses
    if method is None:
        test = default_test(ref, cur, kind, merged)
    else:
        chosen = TESTS.get(arguments.drift_method(method, f"column {column!r}"))
        if chosen is None or kind not in chosen.kinds:
            raise CheckInputError(f"column {column!r}: {method} does not apply to "
                                  f"{_KIND_NAMES[kind]} data")
        test = chosen
    limit = test.default_threshold if threshold is None else arguments.threshold(
        test.name, threshold, f"threshold for column {column!r}")
    try:
        score = test.func(ref, cur, kind, merged)
    except CheckInputError as exc:
        raise CheckInputError(f"column {column!r}: {exc}") from None
    except (ArithmeticError, ValueError, IndexError, TypeError) as exc:
        # Degenerate data (a constant column, too many bins, mixed objects): Evidently's
        # libraries raise here too; say what could not be computed instead of their error.
        raise CheckInputError(f"column {column!r}: {test.name} cannot be computed on this "
                              f"data ({type(exc).__name__}: {exc})") from None
    return FeatureResult(column, test.name, score, limit, test.drifted(score, limit))


def dataset_drift(reference: pd.DataFrame, current: pd.DataFrame,
                  columns: Sequence[object] | None = None, *, method: str | None = None,
                  threshold: float | None = None,
                  per_column_method: Mapping[str, str] | None = None,
                  per_column_threshold: Mapping[str, float] | None = None,
                  column_types: Mapping[str, str] | None = None,
                  ) -> list[FeatureResult]:
    """Drift of every column Evidently's preset tests (or of `columns`), with per-column
    method, threshold and type overrides. Text columns go to `TEXT_DRIFT_ENGINE`."""
    if columns is not None and not list(columns):
        raise CheckInputError("no columns to compare")
    for column in columns or []:
        if column not in reference.columns:
            raise CheckInputError(f"column {column!r} is not in the reference data")
        if column not in current.columns:
            raise CheckInputError(f"column {column!r} is not in the current data")
    if columns is None:  # both frames must hold the same columns
        for column in reference.columns:
            if column not in current.columns:
                raise CheckInputError(f"column {column!r} is not in the current data")
        for column in current.columns:
            if column not in reference.columns:
                raise CheckInputError(f"column {column!r} is not in the reference data")
    kinds = drift_columns.resolve(current, None if columns is None else list(columns),
                                  column_types)
    methods = {str(k): v for k, v in (per_column_method or {}).items()}
    thresholds = {str(k): v for k, v in (per_column_threshold or {}).items()}
    text = [c for c, kind in kinds.items() if kind == TEXT]
    from_evidently: dict[str, FeatureResult] = {}
    if text:
        found = drift_engine(TEXT_DRIFT_ENGINE).run(reference, current, DriftOptions(
            text, method=method, threshold=threshold, per_column_method=per_column_method,
            per_column_threshold=per_column_threshold,
            column_types={str(c): TEXT for c in text}))
        from_evidently = {f.feature: f for f in found}
    def one(column: object, kind: str) -> FeatureResult:
        name = str(column)
        if kind == TEXT:
            return from_evidently[name]
        return column_drift(reference[column], current[column], name,
                            method=methods.get(name, method),
                            threshold=thresholds.get(name, threshold), kind=kind)

    chosen = [methods.get(str(c), method) for c in kinds]
    if len(kinds) < 2 or any(m in RANDOM_TESTS for m in chosen):
        return [one(column, kind) for column, kind in kinds.items()]
    # Columns are independent and numpy's sorts release the GIL: test them side by side.
    # Tests that draw from numpy's global generator stay sequential, so seeds still hold.
    import_scipy()
    with ThreadPoolExecutor(max_workers=min(len(kinds), os.cpu_count() or 1)) as pool:
        return list(pool.map(one, kinds.keys(), kinds.values()))


class NativeDrift:
    """The native engine behind the drift seam (`argoscope.checks._engine`)."""

    name = "native"

    def run(self, reference: pd.DataFrame, current: pd.DataFrame,
            options: DriftOptions) -> list[FeatureResult]:
        """`dataset_drift` with `options` (no report of its own: `report_path` is ignored)."""
        return dataset_drift(reference, current, options.columns, method=options.method,
                             threshold=options.threshold,
                             per_column_method=options.per_column_method,
                             per_column_threshold=options.per_column_threshold,
                             column_types=options.column_types)


ENGINE = NativeDrift()
