"""Expectations on Spark and Dask give the native engine's document (1e-9 relative), exact;
a median beyond the exact budget carries its sketch's error bound."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from argoscope.checks.expect import validate
from argoscope.checks.results import CheckInputError, document
from argoscope.checks.scale.drift import ScaleLimits
from argoscope.checks.scale.expect import ScaleExpectations
from argoscope.checks.suites import load_suite
from tests.checks.scale.conftest import write_parquet
from tests.checks.scale.support import exactness, same, without_exactness

SUITE = {"name": "scale", "expectations": [
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "age", "mostly": 0.9}},
    {"type": "expect_column_values_to_be_between",
     "kwargs": {"column": "age", "min_value": 18, "max_value": 70}},
    {"type": "expect_column_values_to_be_in_set",
     "kwargs": {"column": "plan", "value_set": ["a", "b"]}},
    {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}},
    {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "plan"}},
    {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "plan", "regex": "^[ab]$"}},
    {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 100}},
    {"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": ["id", "age", "plan"]}},
    {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "age", "min_value": 40}},
    {"type": "expect_column_median_to_be_between",
     "kwargs": {"column": "age", "min_value": 30, "max_value": 50}},
    {"type": "expect_column_values_to_be_of_type", "kwargs": {"column": "id", "type_": "int64"}},
    {"type": "expect_column_values_to_be_between",
     "kwargs": {"column": "age", "max_value": 60, "row_condition": "plan == 'a'"}},
]}


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.normal(42, 12, n).round(1)
    age[rng.choice(n, n // 15, replace=False)] = np.nan
    ids = np.arange(n)
    ids[-3:] = ids[:3]  # three values twice: six unexpected
    return pd.DataFrame({"id": ids, "age": age, "plan": rng.choice(["a", "b", "c"], n)})


def test_a_twelve_expectation_suite_gives_the_native_document(engine, tmp_path):
    _, read = engine
    folder = write_parquet(_frame(2000, 1), tmp_path / "data", 6)
    native = document(validate(pd.read_parquet(folder), SUITE, "native"))
    scaled = document(validate(read(folder), SUITE))  # the engine follows the frame's type
    same(native, without_exactness(scaled))
    assert len(exactness(scaled)) == 12 and all(exactness(scaled))
    statuses = [r["status"] for r in scaled["results"]]
    assert "passed" in statuses and "failed" in statuses
    unique_ids = scaled["results"][3]
    assert unique_ids["details"]["unexpected_count"] == 6


def test_a_median_beyond_the_budget_is_bounded_and_holds_the_exact_one(engine, tmp_path):
    name, read = engine
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"x": rng.normal(10, 3, 30_000)})
    folder = write_parquet(frame, tmp_path / "data", 4)
    suite = load_suite({"expectations": [
        {"type": "expect_column_median_to_be_between",
         "kwargs": {"column": "x", "min_value": 9, "max_value": 11}},
        {"type": "expect_column_median_to_be_between",
         "kwargs": {"column": "x", "min_value": 12}}]})
    engine_ = ScaleExpectations(name, ScaleLimits(exact_budget=500, sketch_k=200))
    outcomes = engine_.run(read(folder), suite.expectations)
    exact = float(frame["x"].median())
    for (outcome, error), success in zip(outcomes, [True, False], strict=True):
        assert not error and outcome.exact is False and outcome.error_bound
        assert abs(outcome.observed_value - exact) <= outcome.error_bound
        assert outcome.success is success


def test_a_type_the_engine_lacks_is_an_input_error_naming_it(engine, tmp_path):
    name, read = engine
    folder = write_parquet(_frame(50, 3), tmp_path / "data", 2)
    with pytest.raises(CheckInputError, match=f"expect_column_values_to_be_increasing "
                                              rf"\(not on {name}"):
        validate(read(folder), [{"type": "expect_column_values_to_be_increasing",
                                 "kwargs": {"column": "id"}}])
    with pytest.raises(CheckInputError, match=f"engine='{name}'"):
        validate(read(folder), SUITE, "native")
