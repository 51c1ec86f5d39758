"""The native drift engine: Evidently 0.7's default tests, thresholds and rules, in numpy.

Method choice per column (Evidently's `_get_default_stattest`): with at most 1,000 reference
rows, numerical columns use Kolmogorov-Smirnov (more than 5 distinct values), chi-square (3-5)
or a proportions Z-test (1-2), categorical ones chi-square or Z-test; above 1,000 rows,
numerical columns use the normed Wasserstein distance (more than 5 values) or Jensen-Shannon,
categorical ones Jensen-Shannon. Infinite and missing values are dropped first. A dataset
drifts when the share of drifted columns reaches `drift_share` (0.5).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance

from argoscope.checks.results import CheckInputError, FeatureResult

NUMERICAL = "num"
CATEGORICAL = "cat"
SMALL_REFERENCE = 1000


@dataclass(frozen=True, slots=True)
class Merged:
    """Both samples of a numerical column in one sorted array, with where each value came from.

    Sorting once serves both the distinct-value count (method choice) and the Wasserstein
    distance; merging two sorted runs with a stable sort is close to linear.
    """

    values: np.ndarray
    from_reference: np.ndarray

    @classmethod
    def of(cls, reference: pd.Series, current: pd.Series) -> Merged:
        stacked = np.concatenate([np.sort(reference.to_numpy(dtype=float)),
                                  np.sort(current.to_numpy(dtype=float))])
        order = np.argsort(stacked, kind="stable")
        return cls(stacked[order], order < len(reference))

    def distinct(self) -> int:
        """Number of distinct values in both samples together."""
        return int(np.count_nonzero(np.diff(self.values))) + 1 if len(self.values) else 0


@dataclass(frozen=True, slots=True)
class StatTest:
    """A drift test: Evidently's name, default threshold and which way drift lies."""

    name: str
    func: Callable[[pd.Series, pd.Series, str, Merged | None], float]
    default_threshold: float
    # p-values drift below the threshold; distances at or above it. KS drifts at p <= threshold.
    rule: str
    kinds: tuple[str, ...]

    def drifted(self, score: float, threshold: float) -> bool:
        """Evidently's verdict for `score` against `threshold`."""
        if self.rule == "le":
            return bool(score <= threshold)
        if self.rule == "lt":
            return bool(score < threshold)
        return bool(score >= threshold)


def _keyed_counts(reference: pd.Series, current: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    ref_counts = reference.value_counts()
    cur_counts = current.value_counts()
    keys = ref_counts.index.union(cur_counts.index)
    return (ref_counts.reindex(keys, fill_value=0).to_numpy(dtype=float),
            cur_counts.reindex(keys, fill_value=0).to_numpy(dtype=float))


def _binned(reference: pd.Series, current: pd.Series, kind: str,
            fill_zeroes: bool) -> tuple[np.ndarray, np.ndarray]:
    """Evidently's `get_binned_data`: Sturges bins for numerical columns with over 20 values."""
    if kind == NUMERICAL and reference.nunique() > 20:
        combined = np.concatenate([reference.to_numpy(), current.to_numpy()])
        bins = np.histogram_bin_edges(combined, bins="sturges")
        ref_pct = np.histogram(reference.to_numpy(), bins)[0] / len(reference)
        cur_pct = np.histogram(current.to_numpy(), bins)[0] / len(current)
    else:
        ref_counts, cur_counts = _keyed_counts(reference, current)
        ref_pct, cur_pct = ref_counts / len(reference), cur_counts / len(current)
    if fill_zeroes:
        for pct in (ref_pct, cur_pct):
            smallest = pct[pct != 0].min()
            np.place(pct, pct == 0, smallest / 10**6 if smallest <= 0.0001 else 0.0001)
    return ref_pct, cur_pct


def ks(reference: pd.Series, current: pd.Series, kind: str,
       merged: Merged | None = None) -> float:
    return float(stats.ks_2samp(reference.to_numpy(), current.to_numpy())[1])


def chisquare(reference: pd.Series, current: pd.Series, kind: str,
              merged: Merged | None = None) -> float:
    ref_counts, cur_counts = _keyed_counts(reference, current)
    expected = ref_counts * (len(current) / len(reference))
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(stats.chisquare(cur_counts, expected)[1])


def z_test(reference: pd.Series, current: pd.Series, kind: str,
           merged: Merged | None = None) -> float:
    ref_values, cur_values = reference.unique(), current.unique()
    if len(ref_values) == 1 and len(cur_values) == 1 and ref_values[0] == cur_values[0]:
        return 1.0
    first = sorted(set(ref_values) | set(cur_values))[0]
    n1, n2 = len(reference), len(current)
    p1 = float((reference != first).sum()) / n1
    p2 = float((current != first).sum()) / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return float(2 * (1 - stats.norm.cdf(np.abs(z))))


def wasserstein(reference: pd.Series, current: pd.Series, kind: str,
                merged: Merged | None = None) -> float:
    """scipy's `wasserstein_distance` over the merged samples, normed by the reference's std."""
    ref = reference.to_numpy(dtype=float)
    norm = max(float(np.std(ref)), 0.001)
    merged = merged or Merged.of(reference, current)
    # Between consecutive merged values, each sample's CDF is its count of values seen so far.
    ref_cdf = np.cumsum(merged.from_reference)[:-1] / len(reference)
    cur_cdf = np.cumsum(~merged.from_reference)[:-1] / len(current)
    distance_value = np.sum(np.multiply(np.abs(ref_cdf - cur_cdf), np.diff(merged.values)))
    return float(distance_value / norm)


def jensenshannon(reference: pd.Series, current: pd.Series, kind: str,
                  merged: Merged | None = None) -> float:
    ref_pct, cur_pct = _binned(reference, current, kind, fill_zeroes=False)
    return float(distance.jensenshannon(ref_pct, cur_pct))


def psi(reference: pd.Series, current: pd.Series, kind: str,
        merged: Merged | None = None) -> float:
    ref_pct, cur_pct = _binned(reference, current, kind, fill_zeroes=True)
    return float(np.sum((ref_pct - cur_pct) * np.log(ref_pct / cur_pct)))


BOTH = (NUMERICAL, CATEGORICAL)
TESTS: dict[str, StatTest] = {test.name: test for test in (
    StatTest("ks", ks, 0.05, "le", (NUMERICAL,)),
    StatTest("chisquare", chisquare, 0.05, "lt", (CATEGORICAL,)),
    StatTest("z", z_test, 0.05, "lt", (CATEGORICAL,)),
    StatTest("wasserstein", wasserstein, 0.1, "ge", (NUMERICAL,)),
    StatTest("jensenshannon", jensenshannon, 0.1, "ge", BOTH),
    StatTest("psi", psi, 0.1, "ge", BOTH),
)}


def column_kind(reference: pd.Series) -> str:
    """Numerical for numeric dtypes (not booleans), categorical otherwise."""
    if pd.api.types.is_bool_dtype(reference) or not pd.api.types.is_numeric_dtype(reference):
        return CATEGORICAL
    return NUMERICAL


def default_test(reference: pd.Series, current: pd.Series, kind: str,
                 merged: Merged | None = None) -> StatTest:
    """Evidently's default test for a cleaned column pair."""
    n_values = merged.distinct() if merged else pd.concat([reference, current]).nunique()
    if len(reference) <= SMALL_REFERENCE:
        if kind == NUMERICAL and n_values > 5:
            return TESTS["ks"]
        return TESTS["chisquare"] if n_values > 2 else TESTS["z"]
    if kind == NUMERICAL and n_values > 5:
        return TESTS["wasserstein"]
    return TESTS["jensenshannon"]


def _clean(series: pd.Series, column: str, which: str) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        series = series.replace([-np.inf, np.inf], np.nan)
    series = series.dropna()
    if series.empty:
        raise CheckInputError(f"column {column!r} has no usable values in the {which} data")
    return series


def column_drift(reference: pd.Series, current: pd.Series, column: str, *,
                 method: str | None = None, threshold: float | None = None,
                 kind: str | None = None) -> FeatureResult:
    """Drift of one column, as Evidently's ValueDrift computes it."""
    kind = kind or column_kind(reference)
    ref = _clean(reference, column, "reference")
    cur = _clean(current, column, "current")
    merged = None
    if kind == NUMERICAL and method in (None, "wasserstein") and len(ref) > SMALL_REFERENCE:
        merged = Merged.of(ref, cur)  # the large-sample path: sort once for both uses
    if method is None:
        test = default_test(ref, cur, kind, merged)
    else:
        if method not in TESTS:
            raise CheckInputError(f"column {column!r}: unknown drift method {method!r}; "
                                  f"known: {sorted(TESTS)}")
        test = TESTS[method]
        if kind not in test.kinds:
            raise CheckInputError(f"column {column!r}: {method} does not apply to "
                                  f"{'numerical' if kind == NUMERICAL else 'categorical'} data")
    limit = test.default_threshold if threshold is None else float(threshold)
    score = test.func(ref, cur, kind, merged)
    return FeatureResult(column, test.name, score, limit, test.drifted(score, limit))


def dataset_drift(reference: pd.DataFrame, current: pd.DataFrame,
                  columns: Sequence[str] | None = None, *, method: str | None = None,
                  threshold: float | None = None,
                  per_column_method: Mapping[str, str] | None = None,
                  per_column_threshold: Mapping[str, float] | None = None,
                  ) -> list[FeatureResult]:
    """Drift of every column (default: all reference columns), with per-column overrides."""
    chosen = list(reference.columns) if columns is None else list(columns)
    if not chosen:
        raise CheckInputError("no columns to compare")
    for column in chosen:
        if column not in reference.columns:
            raise CheckInputError(f"column {column!r} is not in the reference data")
        if column not in current.columns:
            raise CheckInputError(f"column {column!r} is not in the current data")
    methods = dict(per_column_method or {})
    thresholds = dict(per_column_threshold or {})
    return [column_drift(reference[c], current[c], str(c), method=methods.get(c, method),
                         threshold=thresholds.get(c, threshold)) for c in chosen]
