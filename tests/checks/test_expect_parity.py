"""Native expectations reproduce Great Expectations: same verdicts, counts and percentages."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from argoscope.checks import expect_native
from argoscope.checks.expect import to_result, unique_names, validate
from argoscope.checks.suites import load_suite


def _frames() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(7)
    n = 400
    values = rng.normal(50, 15, n)
    values[rng.choice(n, 20, replace=False)] = np.nan
    values[:3] = [np.inf, -np.inf, 1000.0]
    codes = rng.choice(["A1", "B2", "C3", "zz"], n).astype(object)
    codes[rng.choice(n, 15, replace=False)] = None
    return {
        "mixed": pd.DataFrame({
            "x": values, "code": codes, "id": np.arange(n) % 390,
            "constant": np.full(n, 3.0), "count": rng.integers(0, 10, n),
        }),
        "tiny": pd.DataFrame({"x": [1.0], "code": ["A1"], "id": [1], "constant": [3.0],
                              "count": [2]}),
        "all_missing": pd.DataFrame({"x": [np.nan] * 5, "code": [None] * 5, "id": range(5),
                                     "constant": [3.0] * 5, "count": [1] * 5}),
    }


SUITE = {"name": "parity", "expectations": [
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "x"}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "code", "mostly": 0.9}},
    {"type": "expect_column_values_to_be_between",
     "kwargs": {"column": "x", "min_value": 10, "max_value": 90, "mostly": 0.95}},
    {"type": "expect_column_values_to_be_between",
     "kwargs": {"column": "x", "min_value": 0, "strict_min": True}},
    {"type": "expect_column_values_to_be_between",
     "kwargs": {"column": "count", "max_value": 8, "strict_max": True, "mostly": 0.5}},
    {"type": "expect_column_values_to_be_in_set",
     "kwargs": {"column": "code", "value_set": ["A1", "B2", "C3"]}},
    {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}},
    {"type": "expect_column_values_to_be_of_type", "kwargs": {"column": "x", "type_": "float64"}},
    {"type": "expect_column_values_to_be_of_type", "kwargs": {"column": "count", "type_": "int32"}},
    {"type": "expect_column_values_to_match_regex",
     "kwargs": {"column": "code", "regex": "^[A-Z][0-9]$", "mostly": 0.7}},
    {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 2, "max_value": 500}},
    {"type": "expect_table_columns_to_match_set",
     "kwargs": {"column_set": ["x", "code", "id", "constant", "count"]}},
    {"type": "expect_table_columns_to_match_set",
     "kwargs": {"column_set": ["x", "other"], "exact_match": False}},
    {"type": "expect_column_mean_to_be_between",
     "kwargs": {"column": "constant", "min_value": 2.5, "max_value": 3.5}},
    {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "x", "min_value": 0}},
    {"type": "expect_column_median_to_be_between",
     "kwargs": {"column": "count", "min_value": 3, "max_value": 6}},
]}


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)


def _assert_same(native, reference) -> None:
    assert len(native) == len(reference)
    for ours, theirs in zip(native, reference, strict=True):
        where = ours.check
        assert ours.check == theirs.check
        assert theirs.status != "error", (where, theirs.message)
        assert ours.status == theirs.status, where
        assert ours.details.keys() == theirs.details.keys(), where
        for key in ours.details:
            assert _close(ours.details[key], theirs.details[key]), (where, key)
        assert _close(ours.value, theirs.value), (where, ours.value, theirs.value)


@pytest.mark.parametrize("shape", ["mixed", "tiny", "all_missing"])
def test_native_matches_ge_on_generated_shapes(ge_engine, shape: str) -> None:
    frame = _frames()[shape]
    suite = load_suite(SUITE)
    native = validate(frame, SUITE, engine="native")
    reference = unique_names([to_result(e, o, err) for e, (o, err) in
                 zip(suite.expectations, ge_engine.run(frame, list(suite.expectations)),
                     strict=True)])
    _assert_same(native, reference)
    if shape == "mixed":  # the data was built so both outcomes occur
        assert {r.status for r in native} == {"passed", "failed"}


def test_native_matches_ge_on_a_scikit_learn_dataset(ge_engine) -> None:
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame
    suite = {"name": "wine", "expectations": [
        {"type": "expect_column_values_to_be_between",
         "kwargs": {"column": "alcohol", "min_value": 11.5, "max_value": 14.5, "mostly": 0.97}},
        {"type": "expect_column_values_to_be_in_set",
         "kwargs": {"column": "target", "value_set": [0, 1]}},
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "proline"}},
        {"type": "expect_column_mean_to_be_between",
         "kwargs": {"column": "magnesium", "min_value": 90, "max_value": 110}},
        {"type": "expect_column_median_to_be_between",
         "kwargs": {"column": "hue", "min_value": 1.0}},
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 100}},
    ]}
    loaded = load_suite(suite)
    native = validate(frame, suite, engine="native")
    reference = unique_names([to_result(e, o, err) for e, (o, err) in
                 zip(loaded.expectations, ge_engine.run(frame, list(loaded.expectations)),
                     strict=True)])
    _assert_same(native, reference)
    assert [r.status for r in native].count("failed") >= 2


def test_suite_with_a_type_native_lacks_runs_through_ge(ge_engine) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]})
    suite = [{"type": "expect_column_max_to_be_between",
              "kwargs": {"column": "x", "max_value": 3}}]
    assert not expect_native.supports(load_suite(suite).expectations[0], frame)
    (result,) = validate(frame, suite)  # auto: GE
    assert result.status == "failed" and result.value == 4.0
    with pytest.raises(ValueError, match="native engine lacks"):
        validate(frame, suite, engine="native")


def test_ge_raw_values_never_reach_the_result(ge_engine) -> None:
    secret = "patient-4711-secret"
    frame = pd.DataFrame({"name": [secret, "ok", "ok"]})
    suite = [{"type": "expect_column_values_to_be_in_set",
              "kwargs": {"column": "name", "value_set": ["ok"]}}]
    (result,) = validate(frame, suite, engine="ge")
    assert result.status == "failed" and result.details["unexpected_count"] == 1
    assert secret not in repr(result.to_dict())
