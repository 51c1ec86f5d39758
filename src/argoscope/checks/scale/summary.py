"""A column's mergeable summary: what one partition contributes, and how two contributions merge.

`merge` is associative (and, but for `first_is_str`/`last_is_str`, which keep row order as
long as partitions are merged in order, commutative), so engines may merge partitions in any
tree. Counts are integers and add exactly; moments merge by Chan's formulas; the value-count
table is the sorted column run-length encoded, kept while it has at most `budget` entries;
the KLL sketch holds the column beyond that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from argoscope.checks.scale import sketch

# A partition or merged table is dropped beyond this many distinct values (the exact budget).
DEFAULT_EXACT_BUDGET = 250_000


@dataclass(frozen=True, slots=True)
class Moments:
    """Count, mean and sum of squared deviations of a numerical column's usable values."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    @classmethod
    def of(cls, values: np.ndarray) -> Moments:
        if not len(values):
            return cls()
        as_float = values.astype(float, copy=False)
        mean = float(np.mean(as_float))
        return cls(len(values), mean, float(np.sum((as_float - mean) ** 2)))

    def merge(self, other: Moments) -> Moments:
        """Chan, Golub and LeVeque's pairwise update."""
        if not other.n:
            return self
        if not self.n:
            return other
        n = self.n + other.n
        delta = other.mean - self.mean
        return Moments(n, self.mean + delta * other.n / n,
                       self.m2 + other.m2 + delta * delta * self.n * other.n / n)

    @property
    def std(self) -> float:
        """The population standard deviation (numpy's `np.std`)."""
        return math.sqrt(self.m2 / self.n) if self.n else math.nan


@dataclass(frozen=True, slots=True)
class ColumnSummary:
    """One column of one sample (reference or current), over any number of partitions."""

    rows: int = 0                 # every row, missing values included
    non_null: int = 0             # rows pandas does not call missing
    usable: int = 0               # non-null and finite: what drift tests see
    table: pd.Series | None = None  # usable value -> count, while within the budget
    overflowed: bool = False      # the table went over the budget somewhere
    moments: Moments = Moments()
    minimum: Any = None
    maximum: Any = None
    sketch: bytes | None = None   # KLL over the usable values (numerical columns)
    first_is_str: bool | None = None  # of the non-null values, in row order
    last_is_str: bool | None = None
    integers: bool = True         # every partition held integers (no missing-value cast)

    @property
    def distinct(self) -> int | None:
        """Distinct usable values; None when beyond the exact budget."""
        return None if self.table is None else len(self.table)


def usable_values(series: pd.Series) -> pd.Series:
    """The values drift tests keep: `drift_native._clean`'s rule (no missing, no ±inf)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    if series.dtype == object:
        series = series[~series.isin([np.inf, -np.inf])]
    if isinstance(series.dtype, np.dtype) and series.dtype.kind == "f":
        return series[np.isfinite(series.to_numpy())]
    return series.dropna()


def _counts(values: pd.Series, budget: int) -> pd.Series | None:
    counts = values.value_counts(sort=False, dropna=True)
    if len(counts) > budget:
        return None
    counts.index.name = None
    return counts.rename(None).astype(np.int64)


def summarize(series: pd.Series, numerical: bool, budget: int, sketch_k: int) -> ColumnSummary:
    """The summary of one partition of one column."""
    non_null = series.dropna()
    usable = usable_values(series)
    table = _counts(usable, budget)
    first = last = None
    if len(non_null):
        first, last = isinstance(non_null.iloc[0], str), isinstance(non_null.iloc[-1], str)
    dtype = series.dtype
    integers = isinstance(dtype, np.dtype) and dtype.kind in "iu"
    if not numerical or not len(usable) or not _is_number(dtype):
        return ColumnSummary(len(series), len(non_null), len(usable), table, table is None,
                             first_is_str=first, last_is_str=last, integers=integers)
    values = usable.to_numpy()
    return ColumnSummary(len(series), len(non_null), len(usable), table, table is None,
                         Moments.of(values), values.min(), values.max(),
                         sketch.of(values.astype(float, copy=False), sketch_k), first, last,
                         integers)


def _is_number(dtype: Any) -> bool:
    return bool(pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype))


def merge_tables(a: pd.Series | None, b: pd.Series | None, budget: int) -> pd.Series | None:
    """Counts of both tables; None when either is None or the union is over the budget."""
    if a is None or b is None:
        return None
    if not len(a):
        return b
    if not len(b):
        return a
    if a.index.dtype != b.index.dtype and a.index.dtype.kind in "iuf" \
            and b.index.dtype.kind in "iuf":  # an integer column cast to float where missing
        a, b = a.set_axis(a.index.astype(float)), b.set_axis(b.index.astype(float))
    merged = pd.concat([a, b]).groupby(level=0, sort=False).sum()
    return None if len(merged) > budget else merged.astype(np.int64)


def _extreme(a: Any, b: Any, pick: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return pick(a, b)


def merge(a: ColumnSummary, b: ColumnSummary, budget: int) -> ColumnSummary:
    """Both summaries as one; `a` holds the earlier rows."""
    table = merge_tables(a.table, b.table, budget)
    return ColumnSummary(
        rows=a.rows + b.rows, non_null=a.non_null + b.non_null, usable=a.usable + b.usable,
        table=table, overflowed=a.overflowed or b.overflowed or table is None,
        moments=a.moments.merge(b.moments),
        minimum=_extreme(a.minimum, b.minimum, min), maximum=_extreme(a.maximum, b.maximum, max),
        sketch=sketch.merge(a.sketch, b.sketch),
        first_is_str=a.first_is_str if a.first_is_str is not None else b.first_is_str,
        last_is_str=b.last_is_str if b.last_is_str is not None else a.last_is_str,
        integers=a.integers and b.integers)


def sorted_table(summary: ColumnSummary) -> pd.Series:
    """The value-count table in value order (the sorted column, run-length encoded)."""
    if summary.table is None:
        raise ValueError("the column is beyond the exact budget")
    table = summary.table
    if not summary.integers and table.index.dtype.kind in "iu":
        table = table.set_axis(table.index.astype(float))
    return table.sort_index()


def expanded(summary: ColumnSummary) -> pd.Series:
    """The usable values themselves, in value order, rebuilt from the table."""
    table = sorted_table(summary)
    values = np.repeat(table.index.to_numpy(), table.to_numpy())
    return pd.Series(values, dtype=table.index.dtype)


def without_table(summary: ColumnSummary) -> ColumnSummary:
    """The summary with its table dropped, as if it had gone over the budget."""
    return replace(summary, table=None, overflowed=True)
