"""Every test computed from value-count tables equals the native test on the rows (generated
samples: small and large integer ranges, floats with ties, categories), and expectation
tallies merged over any split of the rows give the native outcome."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from argoscope.checks import drift_stattests as native
from argoscope.checks import expect_native
from argoscope.checks.scale import counted
from argoscope.checks.scale.drift import ScaleLimits
from argoscope.checks.scale.expect import ScaleExpectations, _merge, _tally_all
from argoscope.checks.scale.summary import Moments
from argoscope.checks.suites import load_suite


def _table(series: pd.Series) -> pd.Series:
    return series.value_counts().sort_index()


def _close(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


samples = st.tuples(st.integers(0, 2**16), st.integers(30, 400), st.integers(30, 400),
                    st.sampled_from(["few_ints", "many_ints", "floats", "categories"]))


def _pair(seed: int, n_ref: int, n_cur: int, shape: str) -> tuple[pd.Series, pd.Series, str]:
    rng = np.random.default_rng(seed)
    if shape == "few_ints":
        return (pd.Series(rng.integers(0, 4, n_ref)), pd.Series(rng.integers(0, 5, n_cur)),
                native.NUMERICAL)
    if shape == "many_ints":
        return (pd.Series(rng.integers(-50, 50, n_ref)), pd.Series(rng.integers(-40, 60, n_cur)),
                native.NUMERICAL)
    if shape == "floats":
        return (pd.Series(rng.normal(0, 1, n_ref).round(1)),
                pd.Series(rng.normal(0.3, 1.2, n_cur).round(1)), native.NUMERICAL)
    return (pd.Series(rng.choice(list("abcde"), n_ref)),
            pd.Series(rng.choice(list("abcdef"), n_cur)), native.CATEGORICAL)


@settings(max_examples=40, deadline=None)
@given(samples)
def test_tests_from_tables_equal_the_tests_on_rows(sample):
    reference, current, kind = _pair(*sample)
    ref_table, cur_table = _table(reference), _table(current)
    for name, from_tables in counted.FROM_TABLES.items():
        if name in ("g_test", "fisher_exact") or (name == "hellinger" and kind == native.NUMERICAL
                                                  and len(ref_table) < 2):
            continue
        expected = native.TESTS[name].func(reference, current, kind, None)
        assert _close(from_tables(ref_table, cur_table, kind), expected), name
    if kind == native.NUMERICAL:
        norm = max(float(np.std(reference)), 0.001)
        assert _close(counted.wasserstein_of(ref_table, cur_table, norm),
                      native.wasserstein(reference, current, kind, None))
        import scipy.stats

        found = scipy.stats.ks_2samp(reference.to_numpy(), current.to_numpy(), method="asymp")
        assert _close(counted.ks_distance(ref_table, cur_table), float(found.statistic))
        assert _close(counted.ks_p_value(float(found.statistic), len(reference), len(current)),
                      float(found.pvalue))
        moments = (Moments.of(reference.to_numpy()), Moments.of(current.to_numpy()))
        assert _close(counted.t_test_of(*moments), native.t_test(reference, current, kind, None))


SUITE = load_suite({"expectations": [
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "x", "mostly": 0.9}},
    {"type": "expect_column_values_to_be_between",
     "kwargs": {"column": "x", "min_value": -1, "max_value": 2}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "k", "value_set": ["a"]}},
    {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 10}},
    {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "x", "min_value": 0}},
    {"type": "expect_column_median_to_be_between", "kwargs": {"column": "x", "max_value": 0.5}},
]})


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**16), st.integers(1, 120), st.lists(st.integers(1, 119), max_size=6))
def test_tallies_merged_over_any_split_give_the_native_outcome(seed, rows, cuts):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.3, 1, rows).round(2)
    x[rng.random(rows) < 0.1] = np.nan
    frame = pd.DataFrame({"x": x, "k": rng.choice(["a", "b", None], rows)})
    bounds = sorted({0, rows, *[c for c in cuts if c < rows]})
    limits = ScaleLimits()
    tallies = [_tally_all(SUITE.expectations, limits, frame.iloc[a:b])
               for a, b in pairwise(bounds)]
    merged = tallies[0]
    for tally in tallies[1:]:
        merged = _merge(limits.exact_budget, merged, tally)
    engine = ScaleExpectations("dask", limits)
    for exp, tally in zip(SUITE.expectations, merged, strict=True):
        ours = engine._outcome(exp, tally)
        theirs = expect_native.run(frame, exp)
        for field in ("success", "element_count", "missing_count", "unexpected_count",
                      "unexpected_percent", "observed_value"):
            a, b = getattr(ours, field), getattr(theirs, field)
            assert (a is None and b is None) or (a is not None and b is not None
                                                 and _close(float(a), float(b))), (exp.type, field)
        assert ours.exact is True
