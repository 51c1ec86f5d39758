"""Expectations on Spark and Dask frames: the native engine's semantics, from mergeable tallies.

One pass over the partitions tallies every expectation at once: the native engine runs on each
partition (its `row_condition` is a per-row `DataFrame.query`, so it selects per partition
what it selects on the whole frame) and its counts add up: element, missing and unexpected
counts, row counts, means weighted by their counts. The rest:

- uniqueness needs all copies of a value together: one shuffle per unique expectation;
- types and column sets are read from the schema;
- a median is exact from the merged value table while the column has at most `exact_budget`
  distinct values, else read from a KLL sketch with its rank error turned into an error bound
  in the column's units; such a check fails only when every value within the bound fails.

Each outcome says whether it is exact (`Outcome.exact`, `Outcome.error_bound`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from argoscope.checks import expect_native as native
from argoscope.checks._engine import Outcome
from argoscope.checks.scale import sketch
from argoscope.checks.scale.drift import ScaleLimits
from argoscope.checks.scale.runners import runner
from argoscope.checks.scale.summary import merge_tables, sorted_table
from argoscope.checks.suites import Expectation

# Counted on each partition by the native engine; the counts add up.
ADDITIVE = frozenset(("expect_column_values_to_not_be_null", "expect_column_values_to_be_between",
                      "expect_column_values_to_be_in_set",
                      "expect_column_values_to_match_regex"))
FROM_SCHEMA = frozenset(("expect_column_values_to_be_of_type",
                         "expect_table_columns_to_match_set"))
ROW_COUNT = "expect_table_row_count_to_be_between"
UNIQUE = "expect_column_values_to_be_unique"
MEAN = "expect_column_mean_to_be_between"
MEDIAN = "expect_column_median_to_be_between"
SUPPORTED = ADDITIVE | FROM_SCHEMA | {ROW_COUNT, UNIQUE, MEAN, MEDIAN}


@dataclass(slots=True)
class Tally:
    """One expectation over some partitions: every field adds up (or merges) associatively."""

    error: str = ""
    rows: int = 0
    total: int = 0
    missing: int = 0
    unexpected: int = 0
    present: int = 0
    mean: float = 0.0
    table: pd.Series | None = field(default=None)  # median: present value -> count
    overflowed: bool = False
    sketch: bytes | None = None

    def merge(self, other: Tally, budget: int) -> Tally:
        """Both tallies as one."""
        present = self.present + other.present
        mean = self.mean + (other.mean - self.mean) * other.present / present if present else 0.0
        table, overflowed = None, True
        if not (self.overflowed or other.overflowed):
            table = merge_tables(self.table, other.table, budget) \
                if self.table is not None and other.table is not None \
                else self.table if self.table is not None else other.table
            overflowed = table is None and (self.table is not None or other.table is not None)
        return Tally(self.error or other.error, self.rows + other.rows, self.total + other.total,
                     self.missing + other.missing, self.unexpected + other.unexpected, present,
                     mean, table, overflowed, sketch.merge(self.sketch, other.sketch))


def _present(exp: Expectation, part: pd.DataFrame) -> pd.Series:
    return native._rows(part, exp)[exp.column].dropna()


def _tally(exp: Expectation, limits: ScaleLimits, part: pd.DataFrame) -> Tally:
    try:
        rows = native._rows(part, exp)
        if exp.type in ADDITIVE:
            outcome = native.NATIVE[exp.type](rows, exp)
            return Tally(total=int(outcome.element_count or 0),
                         missing=int(outcome.missing_count or 0),
                         unexpected=int(outcome.unexpected_count or 0))
        if exp.type == ROW_COUNT:
            return Tally(rows=len(rows))
        column = rows[exp.column]
        present = column.dropna()
        if exp.type == UNIQUE:
            return Tally(total=len(column), missing=len(column) - len(present))
        if exp.type == MEAN:
            if not len(present):
                return Tally()
            return Tally(present=len(present), mean=_statistic(present, "mean"))
        if exp.type == MEDIAN:
            return _median_tally(present, limits)
    except native.ExpectationError as exc:
        return Tally(error=str(exc))
    return Tally()


def _statistic(present: pd.Series, stat: str) -> float:
    try:
        return float(present.mean() if stat == "mean" else present.median())
    except (TypeError, ValueError) as exc:  # the native engine's error, word for word
        raise native.ExpectationError(f"column {present.name!r} has no {stat} ({exc})") from None


def _median_tally(present: pd.Series, limits: ScaleLimits) -> Tally:
    if not len(present):
        return Tally()
    if not (pd.api.types.is_numeric_dtype(present) and not pd.api.types.is_bool_dtype(present)):
        _statistic(present, "median")  # what pandas refuses is an error, as natively
    counts = present.value_counts(sort=False)
    table = None if len(counts) > limits.exact_budget else counts.rename(None).astype(np.int64)
    values = pd.to_numeric(present, errors="coerce").to_numpy(dtype=float)
    return Tally(present=len(present), table=table, overflowed=table is None,
                 sketch=sketch.of(values[np.isfinite(values)], limits.sketch_k))


def _merge(budget: int, a: list[Tally], b: list[Tally]) -> list[Tally]:
    return [left.merge(right, budget) for left, right in zip(a, b, strict=True)]


def _tally_all(expectations: tuple[Expectation, ...], limits: ScaleLimits,
               part: pd.DataFrame) -> list[Tally]:
    return [_tally(exp, limits, part) for exp in expectations]


def _exact_median(table: pd.Series) -> float:
    from argoscope.checks.scale.summary import ColumnSummary

    ordered = sorted_table(ColumnSummary(table=table))
    ends = np.cumsum(ordered.to_numpy())
    n = int(ends[-1])
    values = ordered.index.to_numpy()

    def at(position: int) -> float:
        return float(values[int(np.searchsorted(ends, position, side="right"))])

    return at(n // 2) if n % 2 else (at(n // 2 - 1) + at(n // 2)) / 2


def _median_outcome(exp: Expectation, tally: Tally) -> Outcome:
    if not tally.present:
        return Outcome(False, exact=True)
    if tally.table is not None:
        value = _exact_median(tally.table)
        return Outcome(native._bounds(value, exp.kwargs), observed_value=value, exact=True)
    if tally.sketch is None:
        return Outcome(False, exact=False)
    built = sketch.load(tally.sketch)
    error = sketch.rank_error(tally.sketch)
    value = float(built.get_quantile(0.5))
    low = float(built.get_quantile(max(0.0, 0.5 - error)))
    high = float(built.get_quantile(min(1.0, 0.5 + error)))
    # It fails only when every median the bound allows fails.
    success = any(native._bounds(candidate, exp.kwargs) for candidate in (value, low, high)) \
        or _straddles(low, high, exp.kwargs)
    return Outcome(success, observed_value=value, exact=error == 0,
                   error_bound=max(value - low, high - value))


def _straddles(low: float, high: float, kwargs: dict[str, Any]) -> bool:
    """Whether [low, high] reaches into the allowed range when neither end is in it."""
    minimum, maximum = kwargs.get("min_value"), kwargs.get("max_value")
    above_min = minimum is None or high >= float(minimum)
    below_max = maximum is None or low <= float(maximum)
    return above_min and below_max


class ScaleExpectations:
    """The expectation engine of one distributed engine ("spark" or "dask")."""

    def __init__(self, name: str, limits: ScaleLimits | None = None) -> None:
        self.name = name
        self.limits = limits or ScaleLimits()

    def lacks(self, frame: Any, expectations: Sequence[Expectation]) -> list[str]:
        """Expectation types, conditions and columns this engine does not run."""
        meta = runner(self.name).meta(frame) if expectations else pd.DataFrame()
        reasons = []
        for exp in expectations:
            if exp.type not in SUPPORTED:
                reasons.append(f"{exp.type} (not on {self.name}: run it on a pandas sample)")
            elif reason := native.unsupported_reason(exp, meta):
                reasons.append(reason)
        return reasons

    def run(self, frame: Any, expectations: Sequence[Expectation]) -> list[tuple[Outcome, str]]:
        """One (outcome, error) per expectation, from one pass plus a shuffle per unique."""
        engine = runner(self.name)
        meta = engine.meta(frame)
        found: list[tuple[Outcome, str] | None] = []
        for exp in expectations:
            try:  # the native engine on no rows: the same argument errors, before any job
                outcome = native.run(meta, exp)
                found.append((outcome, "") if exp.type in FROM_SCHEMA else None)
            except native.ExpectationError as exc:
                found.append((Outcome(False), str(exc)))
        pending = tuple(exp for exp, done in zip(expectations, found, strict=True) if done is None)
        tallies = engine.fold(frame, partial(_tally_all, pending, self.limits),
                              partial(_merge, self.limits.exact_budget)) if pending else []
        merged = iter(tallies or [Tally() for _ in pending])
        results: list[tuple[Outcome, str]] = []
        for exp, done in zip(expectations, found, strict=True):
            if done is not None:
                outcome, error = done
                results.append((replace(outcome, exact=True), error))
                continue
            tally = next(merged)
            if tally.error:
                results.append((Outcome(False), tally.error))
                continue
            if exp.type == UNIQUE:
                tally.unexpected = engine.duplicated(frame, partial(_present, exp))
            results.append((self._outcome(exp, tally), ""))
        return results

    def _outcome(self, exp: Expectation, tally: Tally) -> Outcome:
        mostly = float(exp.kwargs.get("mostly", 1.0))
        if exp.type == "expect_column_values_to_not_be_null":
            percent = 100.0 * tally.unexpected / tally.total if tally.total else 0.0
            return Outcome(native._mostly_success(tally.total, tally.unexpected, mostly),
                           float(tally.total), None, float(tally.unexpected), percent,
                           exact=True)
        if exp.type in ADDITIVE or exp.type == UNIQUE:
            considered = tally.total - tally.missing
            share = 100.0 * tally.unexpected / considered if considered else None  # GE: undefined
            return Outcome(native._mostly_success(considered, tally.unexpected, mostly),
                           float(tally.total), float(tally.missing), float(tally.unexpected),
                           share, exact=True)
        if exp.type == ROW_COUNT:
            return Outcome(native._bounds(tally.rows, exp.kwargs),
                           observed_value=float(tally.rows), exact=True)
        if exp.type == MEAN:
            if not tally.present or np.isnan(tally.mean):
                return Outcome(False, exact=True)
            return Outcome(native._bounds(tally.mean, exp.kwargs), observed_value=tally.mean,
                           exact=True)
        return _median_outcome(exp, tally)


SPARK = ScaleExpectations("spark")
DASK = ScaleExpectations("dask")
