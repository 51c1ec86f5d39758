"""Drift on Spark and Dask frames: the native engine's semantics, column by column, at scale.

One pass per frame summarises every column (`summary`); column types are Evidently's
inference (`drift_columns`) read from the summaries; each column's test then runs on the
merged summaries, by the first of these paths that applies:

1. both samples' value tables are within the exact budget and hold at most `expand_rows`
   values together: the sorted samples are rebuilt from the tables and the native test runs on
   them (every method; exact);
2. the tables are within the budget: the test is computed from the counts (`counted`; exact)
   for KS, Wasserstein, t-test and the count tests (chi-square, Z, Jensen-Shannon, PSI, KL,
   Hellinger, G-test, Fisher);
3. beyond the budget: KS and Wasserstein from KLL sketches with their error bound
   (`sketched`), the binned tests (Jensen-Shannon, PSI, KL) from exact histograms of a second
   pass, the t-test from exact moments.

A method a path cannot compute is an input error that names what would let it run; none is
silently approximated. TVD and empirical MMD draw permutations in row order, which a
partitioned frame does not have: they are refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from argoscope.checks import drift_columns
from argoscope.checks._engine import DriftOptions
from argoscope.checks.drift_native import SMALL_REFERENCE, column_drift
from argoscope.checks.drift_stattests import CATEGORICAL, NUMERICAL, TESTS, TEXT, StatTest
from argoscope.checks.results import CheckInputError, FeatureResult
from argoscope.checks.scale import counted, sketched
from argoscope.checks.scale.runners import Runner, runner
from argoscope.checks.scale.summary import (
    DEFAULT_EXACT_BUDGET,
    ColumnSummary,
    expanded,
    merge,
    sorted_table,
    summarize,
    usable_values,
)

DEFAULT_EXPAND_ROWS = 2_000_000
ORDER_DEPENDENT = frozenset(("TVD", "empirical_mmd"))
FROM_MOMENTS = frozenset(("t_test",))
BINNED = frozenset(("jensenshannon", "psi", "kl_div"))
SKETCHED = frozenset(("ks", "wasserstein"))
_KIND_NAMES = {NUMERICAL: "numerical", CATEGORICAL: "categorical", TEXT: "text"}

Summaries = dict[str, ColumnSummary]


@dataclass(frozen=True, slots=True)
class ScaleLimits:
    """How much the driver may hold for an exact answer (see docs/scale.md)."""

    exact_budget: int = DEFAULT_EXACT_BUDGET  # distinct values per column per sample
    expand_rows: int = DEFAULT_EXPAND_ROWS    # rows rebuilt on the driver for path 1
    sketch_k: int = 1000                      # KLL size: rank error about 0.3%


def _summarize_frame(numerical: frozenset[str], limits: ScaleLimits,
                     part: pd.DataFrame) -> Summaries:
    return {str(column): summarize(part[column], str(column) in numerical,
                                   limits.exact_budget, limits.sketch_k)
            for column in part.columns}


def _merge_frames(budget: int, a: Summaries, b: Summaries) -> Summaries:
    return {column: merge(a[column], b[column], budget) for column in a}


def _histograms(edges: dict[str, np.ndarray], part: pd.DataFrame) -> dict[str, np.ndarray]:
    return {column: np.histogram(usable_values(part[column]).to_numpy(), bins)[0]
            for column, bins in edges.items()}


def _add(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {column: a[column] + b[column] for column in a}


def _select(engine: Runner, frame: Any, columns: list[str]) -> Any:
    """Only `columns` of `frame` (Spark quotes names, so dots and spaces are names too)."""
    if engine.name == "dask":
        return frame[columns]
    return frame.select(*["`" + column.replace("`", "``") + "`" for column in columns])


def _numeric(dtype: Any) -> bool:
    return bool(pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype))


def pandas_dtype_name(dtype: Any, summary: ColumnSummary) -> str:
    """The dtype pandas gives the whole column read at once: an integer column with missing
    values is float64, a boolean one object."""
    name = str(dtype)
    if summary.non_null < summary.rows:
        if name.startswith(("int", "uint")):
            return "float64"
        if name == "bool":
            return "object"
    return name


def infer(dtype: Any, summary: ColumnSummary, column: str) -> str:
    """`drift_columns.infer` from a column's summary (its current data)."""
    name = pandas_dtype_name(dtype, summary)
    distinct = summary.distinct
    if name.startswith("float"):
        return NUMERICAL
    if name.startswith("int"):
        return CATEGORICAL if distinct is not None and \
            distinct <= drift_columns.INTEGER_CARDINALITY_LIMIT else NUMERICAL
    strings = name in ("string", "str") or (
        name == "object" and bool(summary.first_is_str) and bool(summary.last_is_str))
    if name == "object" and not summary.non_null:
        return drift_columns.UNTESTED
    if strings:
        if distinct is None:
            raise CheckInputError(
                f"column {column!r} has more distinct values than the exact budget, so "
                "whether Evidently would call it text or categorical is unknown; declare it "
                "(column_types)")
        return TEXT if distinct > summary.non_null * 0.5 else CATEGORICAL
    if name in ("bool", "category"):
        return CATEGORICAL
    return drift_columns.UNTESTED


def _check_columns(reference: Sequence[str], current: Sequence[str],
                   columns: Sequence[object] | None) -> list[str]:
    if columns is not None and not list(columns):
        raise CheckInputError("no columns to compare")
    for column in columns or []:
        for present, which in ((reference, "reference"), (current, "current")):
            if str(column) not in present:
                raise CheckInputError(f"column {column!r} is not in the {which} data")
    if columns is None:
        for column in reference:
            if column not in current:
                raise CheckInputError(f"column {column!r} is not in the current data")
        for column in current:
            if column not in reference:
                raise CheckInputError(f"column {column!r} is not in the reference data")
    return [str(c) for c in columns] if columns is not None else list(current)


def resolve_kinds(meta: pd.DataFrame, summaries: Summaries, chosen: list[str],
                  named: bool, column_types: Mapping[str, str] | None) -> dict[str, str]:
    """`drift_columns.resolve` over summaries instead of rows."""
    declared = drift_columns.parse_declared(column_types)
    for name in declared:
        if name not in summaries:
            raise CheckInputError(f"column_types names column {name!r}, which is not in the data")
    kinds: dict[str, str] = {}
    for column in chosen:
        dtype = meta[column].dtype
        kind = declared.get(column) or infer(dtype, summaries[column], column)
        if kind == NUMERICAL and not _numeric(dtype):
            raise CheckInputError(f"column {column!r} is declared numerical but its dtype is "
                                  f"{dtype}; declare it categorical or convert it")
        if kind == drift_columns.UNTESTED:
            if not named:
                continue
            raise CheckInputError(
                f"column {column!r} (dtype {dtype}) has no drift type Evidently infers; "
                f"declare it, e.g. column_types={{{column!r}: 'numerical'}}")
        if kind == TEXT:
            raise CheckInputError(
                f"column {column!r} is text: Evidently's text drift needs its models and "
                "pandas frames; declare it categorical or leave it out")
        kinds[column] = kind
    if not kinds:
        raise CheckInputError("no columns to compare: none has a type Evidently tests "
                              "(declare types with column_types=)")
    return kinds


@dataclass(slots=True)
class _Column:
    """One column's pair of summaries and what was asked of it."""

    name: str
    kind: str
    reference: ColumnSummary
    current: ColumnSummary
    method: str | None
    threshold: float | None

    def test(self) -> StatTest:
        if self.method is None:
            return self._default()
        if self.method not in TESTS:
            raise CheckInputError(f"column {self.name!r}: unknown drift method {self.method!r}; "
                                  f"known: {sorted(TESTS, key=str.lower)}")
        test = TESTS[self.method]
        if self.kind not in test.kinds:
            raise CheckInputError(f"column {self.name!r}: {self.method} does not apply to "
                                  f"{_KIND_NAMES[self.kind]} data")
        return test

    def _default(self) -> StatTest:
        ref, cur = self.reference.table, self.current.table
        distinct = len(ref.index.union(cur.index)) if ref is not None and cur is not None \
            else None
        many = distinct is None or distinct > 5
        if self.reference.usable <= SMALL_REFERENCE:
            if self.kind == NUMERICAL and many:
                return TESTS["ks"]
            return TESTS["chisquare"] if distinct is None or distinct > 2 else TESTS["z"]
        if self.kind == NUMERICAL and many:
            return TESTS["wasserstein"]
        return TESTS["jensenshannon"]

    @property
    def exact_tables(self) -> bool:
        return self.reference.table is not None and self.current.table is not None


class ScaleDrift:
    """The drift engine of one distributed engine ("spark" or "dask")."""

    def __init__(self, name: str, limits: ScaleLimits | None = None) -> None:
        self.name = name
        self.limits = limits or ScaleLimits()

    def run(self, reference: Any, current: Any, options: DriftOptions) -> list[FeatureResult]:
        """One feature result per tested column, each saying whether it is exact."""
        engine = runner(self.name)
        ref_meta, cur_meta = engine.meta(reference), engine.meta(current)
        chosen = _check_columns([str(c) for c in ref_meta.columns],
                                [str(c) for c in cur_meta.columns], options.columns)
        numerical = frozenset(c for c in chosen if _numeric(cur_meta[c].dtype))
        ref_sums = self._summaries(engine, reference, chosen, numerical)
        cur_sums = self._summaries(engine, current, chosen, numerical)
        kinds = resolve_kinds(cur_meta, cur_sums, chosen, options.columns is not None,
                              options.column_types)
        methods = {str(k): v for k, v in (options.per_column_method or {}).items()}
        thresholds = {str(k): v for k, v in (options.per_column_threshold or {}).items()}
        columns = [_Column(c, kind, ref_sums[c], cur_sums[c], methods.get(c, options.method),
                           thresholds.get(c, options.threshold)) for c, kind in kinds.items()]
        for column in columns:
            for summary, which in ((column.reference, "reference"), (column.current, "current")):
                if not summary.usable:
                    raise CheckInputError(f"column {column.name!r} has no usable values in the "
                                          f"{which} data")
        tests = {column.name: column.test() for column in columns}
        histograms = self._second_pass(engine, reference, current, columns, tests)
        return [self._feature(column, tests[column.name], histograms.get(column.name))
                for column in columns]

    def _summaries(self, engine: Runner, frame: Any, chosen: list[str],
                   numerical: frozenset[str]) -> Summaries:
        selected = _select(engine, frame, chosen)
        found = engine.fold(selected, partial(_summarize_frame, numerical, self.limits),
                            partial(_merge_frames, self.limits.exact_budget))
        return found or {column: ColumnSummary() for column in chosen}

    def _second_pass(self, engine: Runner, reference: Any, current: Any, columns: list[_Column],
                     tests: dict[str, StatTest]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Exact histograms on Sturges bins of both samples, for the binned tests of columns
        beyond the budget (their edges need only the exact count, minimum and maximum)."""
        edges: dict[str, np.ndarray] = {}
        for column in columns:
            if column.exact_tables or column.kind != NUMERICAL \
                    or tests[column.name].name not in BINNED:
                continue
            ref, cur = column.reference, column.current
            dtype = np.result_type(np.asarray(ref.minimum).dtype, np.asarray(cur.minimum).dtype)
            if not (ref.integers and cur.integers):
                dtype = np.result_type(dtype, float)
            edges[column.name] = counted.sturges_edges(
                ref.usable + cur.usable, min(ref.minimum, cur.minimum),
                max(ref.maximum, cur.maximum), dtype)
        if not edges:
            return {}
        found = []
        for frame in (reference, current):
            names = list(edges)
            selected = _select(engine, frame, names)
            found.append(engine.fold(selected, partial(_histograms, edges), _add) or {})
        return {name: (found[0][name], found[1][name]) for name in edges}

    def _feature(self, column: _Column, test: StatTest,
                 histograms: tuple[np.ndarray, np.ndarray] | None) -> FeatureResult:
        if test.name in ORDER_DEPENDENT:
            raise CheckInputError(f"column {column.name!r}: {test.name} draws permutations in "
                                  "row order, which a partitioned frame does not have; use "
                                  "another method at scale")
        limit = test.default_threshold if column.threshold is None else float(column.threshold)
        ref, cur = column.reference, column.current
        if column.exact_tables and ref.usable + cur.usable <= self.limits.expand_rows:
            # The native engine on the rebuilt rows, asked exactly what the caller asked.
            found = column_drift(expanded(ref), expanded(cur), column.name,
                                 method=column.method, threshold=column.threshold,
                                 kind=column.kind)
            found.exact, found.error_bound = True, None
            return found
        if test.name in FROM_MOMENTS:
            score = counted.t_test_of(ref.moments, cur.moments)
            return FeatureResult(column.name, test.name, score, limit,
                                 test.drifted(score, limit), exact=True)
        if column.exact_tables:
            return self._from_tables(column, test, limit)
        return self._beyond_budget(column, test, limit, histograms)

    def _from_tables(self, column: _Column, test: StatTest, limit: float) -> FeatureResult:
        ref_table, cur_table = sorted_table(column.reference), sorted_table(column.current)
        if test.name == "ks":
            n_ref, n_cur = column.reference.usable, column.current.usable
            if max(n_ref, n_cur) <= 10_000:  # scipy's exact p-value: on the rows themselves
                found = column_drift(expanded(column.reference), expanded(column.current),
                                     column.name, method="ks", threshold=limit,
                                     kind=column.kind)
                found.exact = True
                return found
            score = counted.ks_p_value(counted.ks_distance(ref_table, cur_table), n_ref, n_cur)
        elif test.name == "wasserstein":
            norm = max(column.reference.moments.std, 0.001)
            score = counted.wasserstein_of(ref_table, cur_table, norm)
        elif test.name in counted.FROM_TABLES:
            score = counted.FROM_TABLES[test.name](ref_table, cur_table, column.kind)
        else:
            raise CheckInputError(
                f"column {column.name!r}: {test.name} at scale runs on at most "
                f"{self.limits.expand_rows} rows (expand_rows); ks, wasserstein, t_test and the "
                "count tests run on any number")
        return FeatureResult(column.name, test.name, score, limit, test.drifted(score, limit),
                             exact=True)

    def _beyond_budget(self, column: _Column, test: StatTest, limit: float,
                       histograms: tuple[np.ndarray, np.ndarray] | None) -> FeatureResult:
        ref, cur = column.reference, column.current
        if histograms is not None:
            ref_pct, cur_pct = histograms[0] / ref.usable, histograms[1] / cur.usable
            if test.name == "jensenshannon":
                score = counted.jensenshannon_of(ref_pct, cur_pct)
            else:
                ref_pct, cur_pct = counted.fill(ref_pct, cur_pct)
                score = (counted.psi_of if test.name == "psi" else counted.kl_of)(ref_pct,
                                                                                  cur_pct)
            return FeatureResult(column.name, test.name, score, limit,
                                 test.drifted(score, limit), exact=True)
        if test.name in SKETCHED and column.kind == NUMERICAL \
                and ref.sketch is not None and cur.sketch is not None:
            if test.name == "ks":
                estimate, highest = sketched.ks_p_value_estimate(ref.sketch, cur.sketch,
                                                                 ref.usable, cur.usable)
                drifted = test.drifted(highest, limit)  # drift only if even the largest is
            else:
                estimate = sketched.wasserstein(ref.sketch, cur.sketch,
                                                min(ref.minimum, cur.minimum),
                                                max(ref.maximum, cur.maximum),
                                                max(ref.moments.std, 0.001))
                drifted = test.drifted(estimate.value - estimate.bound, limit)
            return FeatureResult(column.name, test.name, estimate.value, limit, drifted,
                                 exact=estimate.exact, error_bound=estimate.bound)
        raise CheckInputError(
            f"column {column.name!r} has more than {self.limits.exact_budget} distinct values "
            f"(the exact budget), beyond which {test.name} cannot run; raise exact_budget or "
            "use ks or wasserstein (sketched, with an error bound), jensenshannon, psi, "
            "kl_div or t_test (exact)")


SPARK = ScaleDrift("spark")
DASK = ScaleDrift("dask")
