"""What a drift check keeps of its data: bin counts, category frequencies, statistics.

The check library's own data (numpy and pandas only, part of the base install), captured where
a drift check runs and written to the step report's data document
(`argoscope.checks.step_document`), so that a report can draw the reference and current
distributions without ever keeping a row, and without this package importing the renderer.
Numerical columns share one set of equal-width bins over both samples; categorical ones keep
their most frequent categories and fold the rest into one "other" bar.

Cost: a report must stay a small fraction of the drift check it illustrates. Counts, missing
values, mean, minimum and maximum (and so the bins' range) are exact; above `BIN_SAMPLE` rows
the bar heights are the shares of an evenly spaced sample of that many rows (a share's error
is then about sqrt(share / BIN_SAMPLE), well under a tenth of a percentage point), which the
report says beside the charts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

NUMERIC_BINS = 24
BIN_SAMPLE = 100_000
TOP_CATEGORIES = 12
OTHER = "(other)"
LARGEST = float(np.finfo(float).max)


@dataclass(frozen=True, slots=True)
class Summary:
    """Summary statistics of one sample of a column (no values)."""

    count: int
    missing: int
    mean: float | None = None
    minimum: float | None = None
    maximum: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """As JSON-ready numbers."""
        return {"count": self.count, "missing": self.missing, "mean": self.mean,
                "min": self.minimum, "max": self.maximum}


@dataclass(frozen=True, slots=True)
class Distribution:
    """One column's reference and current distributions on shared bins or categories.

    `labels` name the bars: bin edges `[lo, hi)` for numerical columns, categories otherwise;
    `reference` and `current` are each sample's share of its rows per bar (0..1).
    """

    feature: str
    kind: str  # "numerical" or "categorical"
    labels: list[str]
    reference: list[float]
    current: list[float]
    reference_summary: Summary
    current_summary: Summary
    edges: list[float] = field(default_factory=list)
    # Rows behind the bar heights per sample when they come from an evenly spaced sample.
    sampled: int | None = None


def _finite(values: np.ndarray) -> np.ndarray:
    # One cheap pass; the copy only happens when something is missing or infinite. The sum
    # of both infinities, or of two huge values, is not finite either: quietly, no warning
    # on the step's stderr.
    with np.errstate(invalid="ignore", over="ignore"):
        if values.size and np.isfinite(values.min() + values.max()):
            return values
    kept: np.ndarray = values[np.isfinite(values)]
    return kept


def _spaced(values: np.ndarray, limit: int = BIN_SAMPLE) -> np.ndarray:
    """At most `limit` evenly spaced values (all of them when there are fewer)."""
    if values.size <= limit:
        return values
    return values[:: -(-values.size // limit)]


def _mean(values: np.ndarray) -> float | None:
    """The mean of finite values; near the largest floats their sum overflows, so it is then
    taken of the values divided first (None if even that is not finite)."""
    with np.errstate(over="ignore", invalid="ignore"):
        mean = float(values.mean())
        if not np.isfinite(mean):
            mean = float((values / values.size).sum())
    return mean if np.isfinite(mean) else None


def _summary(values: np.ndarray, total: int) -> Summary:
    if not values.size:
        return Summary(count=0, missing=total)
    return Summary(count=int(values.size), missing=total - int(values.size),
                   mean=_mean(values), minimum=float(values.min()), maximum=float(values.max()))


def _range(low: float, high: float, bins: int) -> tuple[float, float]:
    """The bins' range: [low, high], or, when that is too narrow for `bins` distinct bins (a
    constant column, or values a few floats apart), widened around it so that the values
    still get one visible bar; finite however large the values are."""
    magnitude = max(abs(low), abs(high))
    if high > low and (high - low) / bins > 4 * math.ulp(magnitude):
        return low, high
    pad = max(0.5, magnitude * 1e-6)
    return max(low - pad, -LARGEST), min(high + pad, LARGEST)


def _bins(low: float, high: float, bins: int) -> np.ndarray | int:
    """What `np.histogram` is given as bins over [low, high]: their number (numpy's
    equal-width fast path, no search per value) or, when the span nears the largest float
    (values near the largest floats), equal-width edges computed on the range divided by four
    (exact: a power of two) and scaled back."""
    if high - low < LARGEST / 2:  # numpy's own edges (step times bin number) stay finite
        return bins
    edges: np.ndarray = 4.0 * np.linspace(low / 4.0, high / 4.0, bins + 1)
    return edges


def _label(number: float) -> str:
    return f"{number:.3g}"


def numerical(feature: str, reference: pd.Series, current: pd.Series,
              bins: int = NUMERIC_BINS) -> Distribution:
    """Both samples counted on the same equal-width bins spanning both."""
    ref_all = reference.to_numpy(dtype=float, na_value=np.nan)
    cur_all = current.to_numpy(dtype=float, na_value=np.nan)
    ref, cur = _finite(ref_all), _finite(cur_all)
    present = [v for v in (ref, cur) if v.size]
    if present:
        low = min(float(v.min()) for v in present)
        high = max(float(v.max()) for v in present)
    else:
        low = high = 0.0
    low, high = _range(low, high, bins)
    ref_binned, cur_binned = _spaced(ref), _spaced(cur)
    shape = _bins(low, high, bins)
    ref_counts, edges = np.histogram(ref_binned, bins=shape, range=(low, high))
    cur_counts, _ = np.histogram(cur_binned, bins=shape, range=(low, high))
    sampled = max(ref_binned.size, cur_binned.size)
    return Distribution(
        feature=feature, kind="numerical",
        labels=[f"{_label(edges[i])} to {_label(edges[i + 1])}" for i in range(bins)],
        reference=(ref_counts / max(ref_binned.size, 1)).tolist(),
        current=(cur_counts / max(cur_binned.size, 1)).tolist(),
        reference_summary=_summary(ref, ref_all.size), current_summary=_summary(cur, cur_all.size),
        edges=[float(e) for e in edges],
        sampled=sampled if sampled < max(ref.size, cur.size) else None)


def categorical(feature: str, reference: pd.Series, current: pd.Series,
                top: int = TOP_CATEGORIES) -> Distribution:
    """Category frequencies of both samples; beyond the `top` most frequent, one "other" bar."""
    ref_counts = reference.value_counts(dropna=True)
    cur_counts = current.value_counts(dropna=True)
    ref_total, cur_total = max(int(ref_counts.sum()), 1), max(int(cur_counts.sum()), 1)
    combined = (ref_counts / ref_total).add(cur_counts / cur_total, fill_value=0.0)
    keys = list(combined.sort_values(ascending=False, kind="stable").index)
    shown, rest = keys[:top], keys[top:]
    ref_share = [float(ref_counts.get(k, 0)) / ref_total for k in shown]
    cur_share = [float(cur_counts.get(k, 0)) / cur_total for k in shown]
    labels = [str(k) for k in shown]
    if rest:
        labels.append(OTHER)
        ref_share.append(float(ref_counts.reindex(rest).fillna(0).sum()) / ref_total)
        cur_share.append(float(cur_counts.reindex(rest).fillna(0).sum()) / cur_total)
    return Distribution(
        feature=feature, kind="categorical", labels=labels, reference=ref_share,
        current=cur_share,
        reference_summary=Summary(count=int(ref_counts.sum()),
                                  missing=len(reference) - int(ref_counts.sum())),
        current_summary=Summary(count=int(cur_counts.sum()),
                                missing=len(current) - int(cur_counts.sum())))


def is_numerical(series: pd.Series) -> bool:
    """The drift engine's split: numeric dtypes except booleans are numerical."""
    return bool(pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series))


def distributions(reference: pd.DataFrame, current: pd.DataFrame,
                  features: Sequence[str]) -> list[Distribution]:
    """The distributions of `features` (columns present in both frames) for a step report."""
    found: list[Distribution] = []
    for feature in features:
        if feature not in reference.columns or feature not in current.columns:
            continue
        ref, cur = reference[feature], current[feature]
        if is_numerical(ref) and is_numerical(cur):
            found.append(numerical(str(feature), ref, cur))
        else:
            found.append(categorical(str(feature), ref.astype(str).where(ref.notna()),
                                     cur.astype(str).where(cur.notna())))
    return found
