"""Expectations are never silently wrong: what Great Expectations rejects or reports as an error,
argoscope rejects or reports as an error too, on every engine; GE runs side by side as the
reference wherever it is one."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from argoscope.checks import expect_native
from argoscope.checks.expect import validate
from argoscope.checks.expect_types import CONDITION_PARSERS, GE_TYPES, NATIVE_ARGS
from argoscope.checks.results import CheckInputError

ENGINES = ("native", "auto", "ge")


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "x": [float(i) for i in range(10)],
        "y": ["abc"] + ["d"] * 9,
        "mixed": [1, "a"] * 5,
        "flags": [True, None, False, None] + [None] * 6,
    })


def _one(frame: pd.DataFrame, expectation: dict, engine: str):
    (result,) = validate(frame, [expectation], engine=engine)  # type: ignore[arg-type]
    return result


def test_argument_lists_and_types_are_ges_own(ge_engine) -> None:
    from great_expectations.expectations.registry import (
        get_expectation_impl,
        list_registered_expectation_implementations,
    )

    assert frozenset(list_registered_expectation_implementations()) == GE_TYPES
    for kind, args in NATIVE_ARGS.items():
        assert frozenset(get_expectation_impl(kind).__fields__) == args, kind
    assert set(expect_native.NATIVE) == set(NATIVE_ARGS)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_misspelled_argument_is_an_error_naming_it(ge_engine, engine: str) -> None:
    wrong = {"type": "expect_column_values_to_be_between",
             "kwargs": {"column": "x", "min_value": 0, "max_vlue": 1}}
    with pytest.raises(CheckInputError, match="'max_vlue' \\(did you mean 'max_value'\\?\\)"):
        validate(_frame(), [wrong], engine=engine)  # type: ignore[arg-type]


def test_a_misspelled_argument_of_a_ge_only_type_is_an_error_naming_it(ge_engine) -> None:
    wrong = {"type": "expect_column_max_to_be_between",
             "kwargs": {"column": "x", "max_valeu": 3}}
    with pytest.raises(CheckInputError, match="max_valeu"):
        validate(_frame(), [wrong])


@pytest.mark.parametrize(("condition", "parser"), [
    ('y == "abc"', "pandas"),
    ('y == "abc"', None),
    ("x > 4 and y == 'd'", "pandas"),
    ('col("y") == "abc"', "great_expectations"),
])
def test_row_condition_selects_rows_as_ge_does(ge_engine, condition: str, parser) -> None:
    kwargs = {"column": "x", "min_value": 0, "max_value": 0, "row_condition": condition}
    if parser is not None:
        kwargs["condition_parser"] = parser
    expectations = [
        {"type": "expect_column_values_to_be_between", "kwargs": kwargs},
        {"type": "expect_table_row_count_to_be_between",
         "kwargs": {**{k: v for k, v in kwargs.items() if "condition" in k}, "min_value": 2}},
        {"type": "expect_column_mean_to_be_between",
         "kwargs": {**kwargs, "max_value": 5}},
    ]
    ours = validate(_frame(), expectations)
    theirs = validate(_frame(), expectations, engine="ge")
    assert [(r.status, r.value, r.details) for r in ours] == \
        [(r.status, r.value, r.details) for r in theirs]
    assert ours[0].details["element_count"] < 10  # the condition really filtered rows
    if parser != "great_expectations":  # the native engine applies it itself
        native = validate(_frame(), expectations, engine="native")
        assert [(r.status, r.value, r.details) for r in native] == \
            [(r.status, r.value, r.details) for r in theirs]


@pytest.mark.parametrize("engine", ENGINES)
def test_an_unknown_condition_parser_is_an_error(ge_engine, engine: str) -> None:
    wrong = {"type": "expect_column_values_to_not_be_null",
             "kwargs": {"column": "x", "row_condition": "x > 1", "condition_parser": "sql"}}
    with pytest.raises(CheckInputError, match="'sql'"):
        validate(_frame(), [wrong], engine=engine)  # type: ignore[arg-type]
    assert "pandas" in CONDITION_PARSERS


@pytest.mark.parametrize("engine", ENGINES)
def test_min_above_max_is_an_error_not_a_failure(ge_engine, engine: str) -> None:
    between = {"type": "expect_column_values_to_be_between",
               "kwargs": {"column": "x", "min_value": 5, "max_value": 1}}
    assert _one(_frame(), between, engine).status == "error"
    row_count = {"type": "expect_table_row_count_to_be_between",
                 "kwargs": {"min_value": 5, "max_value": 1}}
    with pytest.raises(CheckInputError, match="min_value"):
        validate(_frame(), [row_count], engine=engine)  # type: ignore[arg-type]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("column", ["y", "mixed"])
def test_comparing_strings_with_numbers_is_an_error(ge_engine, engine: str, column: str) -> None:
    between = {"type": "expect_column_values_to_be_between",
               "kwargs": {"column": column, "min_value": 0, "max_value": 3}}
    result = _one(_frame(), between, engine)
    assert result.status == "error", result
    assert result.blocking


@pytest.mark.parametrize(("exact", "status"), [(True, "failed"), (None, "failed"),
                                               (False, "passed")])
def test_column_set_null_behaves_as_ge(ge_engine, exact, status: str) -> None:
    kwargs: dict = {"column_set": None}
    if exact is not None:
        kwargs["exact_match"] = exact
    expectation = {"type": "expect_table_columns_to_match_set", "kwargs": kwargs}
    results = {engine: _one(_frame(), expectation, engine) for engine in ENGINES}
    assert {r.status for r in results.values()} == {status}
    assert len({r.value for r in results.values()}) == 1


@pytest.mark.parametrize("kind", ["mean", "median"])
def test_mean_of_an_object_column_of_booleans_is_computed_as_ge(ge_engine, kind: str) -> None:
    expectation = {"type": f"expect_column_{kind}_to_be_between",
                   "kwargs": {"column": "flags", "min_value": 0.4, "max_value": 0.6}}
    results = [_one(_frame(), expectation, engine) for engine in ENGINES]
    assert [(r.status, r.value) for r in results] == [("passed", 0.5)] * 3


@pytest.mark.parametrize("engine", ENGINES)
def test_mean_of_strings_is_an_error(ge_engine, engine: str) -> None:
    expectation = {"type": "expect_column_mean_to_be_between",
                   "kwargs": {"column": "y", "min_value": 0}}
    assert _one(_frame(), expectation, engine).status == "error"


def test_ge_engine_reads_nested_exception_info(ge_engine) -> None:
    raw = type("Raw", (), {"success": False, "result": {}, "exception_info": {
        "MetricConfigurationID(metric_name='column_values.between.condition')": {
            "raised_exception": True, "exception_message": "'>=' not supported",
            "exception_traceback": "..."}}})()
    outcome, error = ge_engine._outcome(raw)
    assert error == "'>=' not supported" and not outcome.success


@pytest.mark.parametrize("engine", ENGINES)
def test_an_unknown_expectation_type_names_it_and_what_is_supported(engine: str) -> None:
    wrong = {"type": "expect_column_values_to_be_positive", "kwargs": {"column": "x"}}
    with pytest.raises(CheckInputError) as caught:
        validate(_frame(), [wrong], engine=engine)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "\n" not in message
    assert "'expect_column_values_to_be_positive'" in message
    assert "expect_column_values_to_be_between" in message  # native
    assert "expect_column_max_to_be_between" in message     # through GE


def test_native_engine_says_why_it_cannot_run_a_ge_grammar_condition() -> None:
    expectation = {"type": "expect_column_values_to_not_be_null",
                   "kwargs": {"column": "x", "row_condition": 'col("y") == "abc"',
                              "condition_parser": "great_expectations"}}
    with pytest.raises(CheckInputError, match="condition_parser 'great_expectations'"):
        validate(_frame(), [expectation], engine="native")


@pytest.mark.parametrize("engine", ENGINES)
def test_bounds_ge_rejects_are_input_errors(ge_engine, engine: str) -> None:
    for kind, kwargs in (("expect_column_values_to_be_between",
                          {"column": "x", "min_value": "a", "max_value": 3}),
                         ("expect_table_row_count_to_be_between", {"min_value": "ten"})):
        with pytest.raises(CheckInputError, match="min_value must be a number"):
            validate(_frame(), [{"type": kind, "kwargs": kwargs}],
                     engine=engine)  # type: ignore[arg-type]


@pytest.mark.parametrize("engine", ["native", "auto"])
def test_bounds_that_cannot_be_compared_are_an_error_result(engine: str) -> None:
    between = {"type": "expect_column_values_to_be_between",
               "kwargs": {"column": "x", "min_value": "2026-01-01", "max_value": 3}}
    assert _one(_frame(), between, engine).status == "error"


@pytest.mark.parametrize(("mostly", "accepted"), [(1.5, False), (-0.1, False), ("x", False),
                                                  (True, True), ("0.5", True), (0, True)])
def test_mostly_is_validated_and_coerced_as_ge_does(ge_engine, mostly, accepted: bool) -> None:
    expectation = {"type": "expect_column_values_to_be_between",
                   "kwargs": {"column": "x", "min_value": "1", "max_value": 8, "mostly": mostly}}
    if not accepted:
        for engine in ENGINES:
            with pytest.raises(CheckInputError, match="mostly"):
                validate(_frame(), [expectation], engine=engine)  # type: ignore[arg-type]
        return
    results = [_one(_frame(), expectation, engine) for engine in ENGINES]
    assert len({(r.status, r.value, r.threshold) for r in results}) == 1, results


@pytest.mark.parametrize(("column", "bound"), [("dates", "2025-01-01"), ("texts", "2025-01-01"),
                                               ("dates", dt.datetime(2025, 1, 1)),
                                               ("dates", 3)])
def test_date_bounds_are_read_as_ge_reads_them(ge_engine, column: str, bound) -> None:
    frame = pd.DataFrame({"dates": pd.to_datetime(["2026-01-01"] * 4), "texts": ["2026-01-01"] * 4})
    expectation = {"type": "expect_column_values_to_be_between",
                   "kwargs": {"column": column, "min_value": bound}}
    statuses = {engine: _one(frame, expectation, engine).status for engine in ENGINES}
    assert len(set(statuses.values())) == 1, statuses
