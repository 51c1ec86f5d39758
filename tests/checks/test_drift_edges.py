"""Where the last bit decides a verdict, and where the data is degenerate.

- `empirical_mmd`, `wasserstein` and `hellinger` are computed in Evidently's own order of
  operations, so scores equal Evidently's bit for bit (generated samples with ties, integers,
  tiny and large spreads), and a threshold equal to Evidently's score gives its verdict.
- Degenerate input (one value per side, constant columns, extreme magnitudes, mixed objects)
  is a clear input error naming the column and the test, or the score Evidently gives: never
  a library exception.
"""

from __future__ import annotations

import warnings
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from argoscope.checks import drift_native
from argoscope.checks.drift_stattests import CATEGORICAL, NUMERICAL, TESTS
from argoscope.checks.results import CheckInputError
from tests.support.untimed import UNTIMED_CHECKS

FEW = settings(max_examples=30, deadline=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture, *UNTIMED_CHECKS])


@st.composite
def samples(draw: st.DrawFn, low: int = 2, high: int = 60) -> tuple[pd.Series, pd.Series]:
    """Two numerical samples: integers with ties or floats on a drawn scale and shift."""
    n_ref, n_cur = draw(st.integers(low, high)), draw(st.integers(low, high))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    if draw(st.booleans()):
        top = draw(st.integers(1, 6))
        return (pd.Series(rng.integers(0, top + 1, n_ref)),
                pd.Series(rng.integers(0, top + 1, n_cur) + draw(st.integers(0, 1))))
    scale = draw(st.sampled_from([1e-9, 1e-3, 1.0, 1e3, 1e9]))
    return (pd.Series(rng.normal(0, scale, n_ref)),
            pd.Series(rng.normal(draw(st.sampled_from([0.0, 0.3])) * scale, scale, n_cur)))


def _evidently(method: str) -> Any:
    from evidently.legacy.calculations.stattests.registry import get_stattest

    return get_stattest(pd.Series([0.0]), pd.Series([0.0]), "num", method).func


@FEW
@given(pair=samples(low=5, high=300), method=st.sampled_from(["wasserstein", "hellinger"]))
def test_distances_equal_evidentlys_bit_for_bit_and_so_do_edge_verdicts(
        pair: tuple[pd.Series, pd.Series], method: str, evidently_engine: ModuleType) -> None:
    from evidently.legacy.core import ColumnType

    reference, current = pair
    score, _ = _evidently(method)(reference.copy(), current.copy(), ColumnType.Numerical, 0.1)
    ours = drift_native.column_drift(reference, current, "x", method=method, kind=NUMERICAL,
                                     threshold=max(float(score), 1e-12))
    assert ours.score == score  # exactly: the threshold equals the score below
    _, theirs = _evidently(method)(reference.copy(), current.copy(), ColumnType.Numerical,
                                   max(float(score), 1e-12))
    assert ours.drifted == theirs


@FEW
@given(codes=st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=4, max_size=80),
       split=st.integers(1, 3))
def test_categorical_hellinger_sums_in_evidentlys_key_order(
        codes: list[str], split: int, evidently_engine: ModuleType) -> None:
    from evidently.legacy.core import ColumnType

    cut = max(1, len(codes) // (split + 1))
    reference, current = pd.Series(codes[:cut]), pd.Series(codes[cut:])
    score, _ = _evidently("hellinger")(reference.copy(), current.copy(),
                                       ColumnType.Categorical, 0.1)
    ours = drift_native.column_drift(reference, current, "c", method="hellinger",
                                     kind=CATEGORICAL)
    assert ours.score == score


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, *UNTIMED_CHECKS])
@given(pair=samples(low=2, high=25), seed=st.integers(0, 1000))
def test_empirical_mmd_p_values_equal_evidentlys_under_one_seed(
        pair: tuple[pd.Series, pd.Series], seed: int, evidently_engine: ModuleType) -> None:
    from evidently.legacy.core import ColumnType

    reference, current = pair
    np.random.seed(seed)
    theirs, drifted = _evidently("empirical_mmd")(reference, current, ColumnType.Numerical, 0.1)
    np.random.seed(seed)
    ours = drift_native.column_drift(reference, current, "x", method="empirical_mmd",
                                     kind=NUMERICAL)
    assert (ours.score, ours.drifted) == (theirs, drifted)


def test_empirical_mmd_on_one_value_per_side_is_an_input_error(
        evidently_engine: ModuleType) -> None:
    from evidently.legacy.core import ColumnType

    one = pd.Series([1.0])
    with pytest.raises(ZeroDivisionError):  # Evidently: a division by zero
        _evidently("empirical_mmd")(one, pd.Series([2.0]), ColumnType.Numerical, 0.1)
    with pytest.raises(CheckInputError, match=r"'x'.*at least two values per sample"):
        drift_native.column_drift(one, pd.Series([2.0]), "x", method="empirical_mmd",
                                  kind=NUMERICAL)


DEGENERATE: dict[str, tuple[list[Any], list[Any]]] = {
    "constant": ([3.0] * 30, [3.0] * 30),
    "one value each": ([1.0], [2.0]),
    "two values": ([1.0, 1.0], [1.0, 2.0]),
    "huge range": ([0.0, 1e308, -1e308] * 5, [1.0, 2.0, 3.0] * 5),
    "tiny spread": ([1e16, 1e16 + 2, 1e16 + 4] * 10, [1e16] * 30),
    "subnormal": ([5e-324, 0.0] * 10, [0.0] * 20),
}
MIXED = (["a", 1, 2.5, None, "b"] * 6, ["a", (1, 2), "c", 3] * 6)


@pytest.mark.parametrize("method", [m for m, t in TESTS.items() if NUMERICAL in t.kinds])
def test_degenerate_numerical_data_is_a_clear_input_error_or_a_score(method: str) -> None:
    for name, (ref, cur) in DEGENERATE.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            np.random.seed(0)
            try:
                feature = drift_native.column_drift(pd.Series(ref), pd.Series(cur), "x",
                                                    method=method, kind=NUMERICAL)
            except CheckInputError as error:
                assert "'x'" in str(error), (name, error)
                continue
        assert isinstance(feature.score, float) and isinstance(feature.drifted, bool), name


@pytest.mark.parametrize("method", [m for m, t in TESTS.items() if CATEGORICAL in t.kinds])
def test_degenerate_categorical_data_is_a_clear_input_error_or_a_score(method: str) -> None:
    cases = {"mixed objects": MIXED, "one category": (["a"] * 10, ["a"] * 10),
             "disjoint": (["a"] * 10, ["b"] * 10), "one value each": (["a"], ["b"])}
    for name, (ref, cur) in cases.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                feature = drift_native.column_drift(pd.Series(ref, dtype=object),
                                                    pd.Series(cur, dtype=object), "c",
                                                    method=method, kind=CATEGORICAL)
            except CheckInputError as error:
                assert "'c'" in str(error), (name, error)
                continue
        assert isinstance(feature.score, float), name
