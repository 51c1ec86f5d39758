"""Every numerical and categorical stattest Evidently 0.7 registers runs natively with
Evidently's score, threshold and verdict, checked against Evidently itself, test by test."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from argoscope.checks import drift_native
from argoscope.checks.drift_stattests import CATEGORICAL, NUMERICAL, TESTS, Merged
from argoscope.checks.results import CheckInputError


def _frames(kind: str, n_ref: int, n_cur: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    if kind == NUMERICAL:
        def make(n: int, shift: float) -> pd.DataFrame:
            return pd.DataFrame({"steady": rng.normal(0, 1, n),
                                 "moved": rng.normal(shift, 1 + shift, n),
                                 "skewed": rng.exponential(1 + shift, n)})
    else:
        def make(n: int, shift: float) -> pd.DataFrame:
            return pd.DataFrame({
                "steady": rng.choice(["yes", "no"], n),
                "moved": rng.choice(["yes", "no"], n, p=[0.5 + shift / 2, 0.5 - shift / 2]),
                "codes": pd.Categorical(rng.choice(["a", "b", "c"], n, p=[0.2, 0.3, 0.5]),
                                        categories=["a", "b", "c"])})
    return make(n_ref, 0.0), make(n_cur, 0.5)


def _close(ours: float, theirs: float) -> bool:
    if math.isnan(ours) or math.isnan(theirs):
        return math.isnan(ours) and math.isnan(theirs)
    return math.isclose(ours, theirs, rel_tol=1e-6, abs_tol=1e-12)


def _same(native, reference) -> None:
    assert [f.feature for f in native] == [f.feature for f in reference]
    for ours, theirs in zip(native, reference, strict=True):
        assert ours.method == theirs.method, ours
        assert ours.threshold == pytest.approx(theirs.threshold), ours
        assert _close(ours.score, theirs.score), (ours, theirs)
        assert ours.drifted == theirs.drifted, (ours, theirs)


# empirical_mmd draws from numpy's global generator, which Evidently's report also uses:
# it is compared with Evidently's own function under the same seed (below).
CASES = [(name, kind) for name, test in TESTS.items() for kind in test.kinds
         if name != "empirical_mmd"]


@pytest.mark.parametrize(("method", "kind"), CASES, ids=[f"{m}-{k}" for m, k in CASES])
def test_each_stattest_matches_evidently(evidently_engine, method: str, kind: str) -> None:
    columns = ["steady", "moved"] + (["codes"] if method != "fisher_exact" and
                                     kind == CATEGORICAL else [])
    reference, current = _frames(kind, 200, 200, seed=len(method))
    reference, current = reference[columns], current[columns]
    types = {c: "numerical" if kind == NUMERICAL else "categorical" for c in columns}
    np.random.seed(3)  # empirical_mmd draws from numpy's global generator
    native = drift_native.dataset_drift(reference, current, method=method, column_types=types)
    np.random.seed(3)
    theirs = evidently_engine.run(reference, current, method=method, column_types=types)
    _same(native, theirs)
    assert {f.method for f in native} == {method}


@pytest.mark.parametrize("method", ["cramer_von_mises", "ks", "anderson", "mannw"])
def test_small_samples_take_the_exact_paths_as_evidently(evidently_engine, method: str) -> None:
    reference, current = _frames(NUMERICAL, 12, 15, seed=9)
    native = drift_native.dataset_drift(reference, current, method=method)
    _same(native, evidently_engine.run(reference, current, method=method))


def test_a_thresholds_and_verdicts_follow_each_tests_rule(evidently_engine) -> None:
    reference, current = _frames(NUMERICAL, 300, 300, seed=4)
    for method in ("ed", "hellinger", "t_test"):
        options = {"method": method, "threshold": 0.01}
        native = drift_native.dataset_drift(reference, current, **options)
        _same(native, evidently_engine.run(reference, current, **options))
        assert {f.threshold for f in native} == {0.01}


def test_a_test_on_the_wrong_column_type_is_an_error_naming_both() -> None:
    reference, current = _frames(CATEGORICAL, 50, 50, seed=1)
    with pytest.raises(CheckInputError, match=r"'steady'.*anderson.*categorical"):
        drift_native.dataset_drift(reference, current, method="anderson")
    with pytest.raises(CheckInputError, match="unknown drift method 'bogus'"):
        drift_native.dataset_drift(reference, current, method="bogus")


def test_fisher_exact_and_g_test_refuse_what_evidently_refuses(evidently_engine) -> None:
    reference, current = _frames(CATEGORICAL, 60, 50, seed=2)
    for method in ("fisher_exact", "g_test"):
        with pytest.raises(CheckInputError):
            drift_native.dataset_drift(reference[["steady"]], current[["steady"]],
                                       method=method)
        with pytest.raises(CheckInputError):
            evidently_engine.run(reference[["steady"]], current[["steady"]], method=method)


@pytest.mark.parametrize("seed", [0, 1])
def test_empirical_mmd_matches_evidentlys_function_under_the_same_seed(evidently_engine,
                                                                      seed: int) -> None:
    from evidently.legacy.calculations.stattests.mmd_stattest import _mmd_stattest
    from evidently.legacy.core import ColumnType

    reference, current = _frames(NUMERICAL, 150, 120, seed=seed)
    for column in reference.columns:
        np.random.seed(seed)
        ours = drift_native.column_drift(reference[column], current[column], column,
                                         method="empirical_mmd", kind=NUMERICAL)
        np.random.seed(seed)
        score, drifted = _mmd_stattest(reference[column], current[column],
                                       ColumnType.Numerical, 0.1)
        assert (ours.score, ours.drifted, ours.threshold) == (score, drifted, 0.1), column
    np.random.seed(seed)
    (theirs,) = evidently_engine.run(reference[["moved"]], current[["moved"]],
                                     method="empirical_mmd")
    assert (theirs.method, theirs.threshold, theirs.drifted) == ("empirical_mmd", 0.1, True)


def test_empirical_mmd_refuses_a_kernel_that_cannot_fit() -> None:
    big = pd.Series(np.zeros(15_000))
    with pytest.raises(CheckInputError, match="sample the data first"):
        drift_native.column_drift(big, big, "x", method="empirical_mmd", kind=NUMERICAL)


@settings(max_examples=60, deadline=None)
@given(ref=hnp.arrays(st.sampled_from([np.float64, np.float32, np.int64, np.int32, np.uint64]),
                      st.integers(1, 50),
                      elements={"allow_nan": False, "allow_infinity": False}),
       cur=hnp.arrays(st.sampled_from([np.float64, np.int64, np.int16]), st.integers(1, 50),
                      elements={"allow_nan": False, "allow_infinity": False}))
def test_merging_in_one_buffer_equals_sorting_copies_and_concatenating(ref: np.ndarray,
                                                                       cur: np.ndarray) -> None:
    """`Merged.of_arrays` sorts each sample in its half of one buffer; the values (signed
    zeros in their places) and sources are those of the earlier sort-copy-concatenate."""
    if not (np.issubdtype(ref.dtype, np.integer) and np.issubdtype(cur.dtype, np.integer)):
        a, b = np.asarray(ref, dtype=float), np.asarray(cur, dtype=float)
    else:
        a, b = ref, cur
    stacked = np.concatenate([np.sort(a), np.sort(b)])
    order = np.argsort(stacked, kind="stable")
    merged = Merged.of_arrays(ref, cur)
    assert merged.values.dtype == stacked.dtype
    assert merged.values.tobytes() == stacked[order].tobytes()
    assert np.array_equal(merged.from_reference, order < len(ref))
