"""The native expectation engine: GE's common expectation types, vectorised with pandas.

Semantics follow Great Expectations 1.x: column-map expectations skip missing values
(`unexpected_percent` is of the non-missing values, except for not-null), `mostly` is the
share of considered values that must pass, and no considered values means success. A string
`row_condition` in the safe comparison grammar (`conditions`) selects rows with
`DataFrame.query`, as GE's pandas engine does for the `pandas` parser (and for none); what
GE reports as an error (min above max, comparing strings with numbers, the mean of strings)
raises `ExpectationError`, reported as an `error` result.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from argoscope.checks._engine import Outcome
from argoscope.checks.conditions import is_safe
from argoscope.checks.results import CheckInputError
from argoscope.checks.suites import Expectation


class ExpectationError(Exception):
    """The expectation could not be evaluated on this data: its result is an `error`."""


def _mostly_success(considered: int, unexpected: int, mostly: float) -> bool:
    if considered == 0:
        return True
    return bool((considered - unexpected) / considered >= mostly)


def _map(frame: pd.DataFrame, exp: Expectation,
         is_expected: Callable[[pd.Series], pd.Series]) -> Outcome:
    column = _column(frame, exp)
    missing = column.isna()
    present = column[~missing]
    try:
        unexpected = int((~is_expected(present).astype(bool)).sum())
    except TypeError as exc:  # GE's metric raises the same for, e.g., strings against numbers
        raise ExpectationError(f"column {exp.column!r}: {exc}") from None
    considered = len(present)
    percent = 100.0 * unexpected / considered if considered else None  # GE: undefined
    mostly = float(exp.kwargs.get("mostly", 1.0))
    return Outcome(_mostly_success(considered, unexpected, mostly), float(len(column)),
                   float(missing.sum()), float(unexpected), percent)


def _column(frame: pd.DataFrame, exp: Expectation) -> pd.Series:
    name = exp.column
    if name is None:
        raise CheckInputError(f"{exp.type}: needs a 'column'")
    if name not in frame.columns:
        raise CheckInputError(f"{exp.type}: column {name!r} is not in the data")
    return frame[name]


def _bound(kwargs: dict[str, Any], name: str) -> Any:
    """A bound as GE's field holds it: a string that is not a number is a date (YYYY-MM-DD) or
    a datetime, as pydantic parses it; comparing it with other values then fails as in GE."""
    value = kwargs.get(name)
    if isinstance(value, str):
        for parse in (dt.date.fromisoformat, dt.datetime.fromisoformat):
            try:
                return parse(value)
            except ValueError:
                continue
    return value


def _bounds(value: float | int, kwargs: dict[str, Any]) -> bool:
    low, high = _bound(kwargs, "min_value"), _bound(kwargs, "max_value")
    try:
        if low is not None and (value <= low if kwargs.get("strict_min") else value < low):
            return False
        return not (high is not None
                    and (value >= high if kwargs.get("strict_max") else value > high))
    except TypeError as exc:  # e.g. a mean against a date: GE's comparison fails alike
        raise ExpectationError(f"cannot compare {value!r} with the bounds ({exc})") from None


def _between_mask(kwargs: dict[str, Any]) -> Callable[[pd.Series], pd.Series]:
    def mask(values: pd.Series) -> pd.Series:
        ok = pd.Series(True, index=values.index)
        low, high = _bound(kwargs, "min_value"), _bound(kwargs, "max_value")
        if low is not None:
            ok &= values > low if kwargs.get("strict_min") else values >= low
        if high is not None:
            ok &= values < high if kwargs.get("strict_max") else values <= high
        return ok
    return mask


def not_null(frame: pd.DataFrame, exp: Expectation) -> Outcome:
    column = _column(frame, exp)
    unexpected = int(column.isna().sum())
    total = len(column)
    mostly = float(exp.kwargs.get("mostly", 1.0))
    percent = 100.0 * unexpected / total if total else 0.0
    # Missing values are what this expectation is about, so none are excluded.
    return Outcome(_mostly_success(total, unexpected, mostly), float(total), None,
                   float(unexpected), percent)


def between(frame: pd.DataFrame, exp: Expectation) -> Outcome:
    low, high = _bound(exp.kwargs, "min_value"), _bound(exp.kwargs, "max_value")
    if low is None and high is None:
        raise CheckInputError(f"{exp.type}: needs min_value or max_value")
    try:
        above = low is not None and high is not None and low > high
    except TypeError:  # bounds of different kinds: GE's metric fails the same way
        raise ExpectationError(f"min_value {low!r} and max_value {high!r} cannot be "
                               "compared") from None
    if above:
        raise ExpectationError(f"min_value ({low}) is greater than max_value ({high})")
    return _map(frame, exp, _between_mask(exp.kwargs))


def in_set(frame: pd.DataFrame, exp: Expectation) -> Outcome:
    value_set = exp.kwargs.get("value_set")
    if not isinstance(value_set, (list, tuple, set)):
        raise CheckInputError(f"{exp.type}: value_set must be a list")
    return _map(frame, exp, lambda values: values.isin(list(value_set)))


def unique(frame: pd.DataFrame, exp: Expectation) -> Outcome:
    # Every member of a duplicated group is unexpected, as in GE.
    return _map(frame, exp, lambda values: ~values.duplicated(keep=False))


def match_regex(frame: pd.DataFrame, exp: Expectation) -> Outcome:
    pattern = exp.kwargs.get("regex")
    if not isinstance(pattern, str):
        raise CheckInputError(f"{exp.type}: needs a 'regex' string")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise CheckInputError(f"{exp.type}: invalid regex ({exc})") from None
    return _map(frame, exp, lambda values: values.astype(str).str.contains(pattern, regex=True))


def of_type(frame: pd.DataFrame, exp: Expectation) -> Outcome:
    column = _column(frame, exp)
    wanted = str(exp.kwargs.get("type_"))
    observed = column.dtype.type.__name__
    try:
        same = np.dtype(wanted) == column.dtype
    except TypeError:
        same = False
    return Outcome(bool(same or observed == wanted))


def row_count(frame: pd.DataFrame, exp: Expectation) -> Outcome:
    count = len(frame)
    return Outcome(_bounds(count, exp.kwargs), observed_value=float(count))


def column_set(frame: pd.DataFrame, exp: Expectation) -> Outcome:
    # GE treats a null set as empty: it fails an exact match and passes a subset test.
    wanted = exp.kwargs.get("column_set") or []
    if not isinstance(wanted, (list, tuple, set)):
        raise CheckInputError(f"{exp.type}: column_set must be a list")
    # Labels compare as they are (an integer label 0 is not the name "0"), and an explicit
    # `exact_match: null` is falsy, so a subset test: both as GE's pandas metric does.
    present = set(frame.columns)
    try:
        wanted_set = set(wanted)
    except TypeError as exc:
        raise CheckInputError(f"{exp.type}: column_set must hold column names ({exc})") from None
    exact = exp.kwargs.get("exact_match", True)
    ok = present == wanted_set if exact else wanted_set <= present
    mismatched = len(present ^ wanted_set)  # GE reports extra and missing columns alike
    return Outcome(ok, observed_value=float(mismatched))


def _statistic(frame: pd.DataFrame, exp: Expectation, stat: str) -> Outcome:
    # GE's pandas metrics: the mean or median of the non-null values, whatever the dtype
    # (an object column of booleans has a mean); what pandas refuses is an error.
    present = _column(frame, exp).dropna()
    try:
        value = float(present.mean() if stat == "mean" else present.median())
    except (TypeError, ValueError) as exc:
        raise ExpectationError(f"column {exp.column!r} has no {stat} ({exc})") from None
    if np.isnan(value):
        return Outcome(False, observed_value=None)
    return Outcome(_bounds(value, exp.kwargs), observed_value=value)


def mean(frame: pd.DataFrame, exp: Expectation) -> Outcome:
    return _statistic(frame, exp, "mean")


def median(frame: pd.DataFrame, exp: Expectation) -> Outcome:
    return _statistic(frame, exp, "median")


NATIVE: dict[str, Callable[[pd.DataFrame, Expectation], Outcome]] = {
    "expect_column_values_to_not_be_null": not_null,
    "expect_column_values_to_be_between": between,
    "expect_column_values_to_be_in_set": in_set,
    "expect_column_values_to_be_unique": unique,
    "expect_column_values_to_be_of_type": of_type,
    "expect_column_values_to_match_regex": match_regex,
    "expect_table_row_count_to_be_between": row_count,
    "expect_table_columns_to_match_set": column_set,
    "expect_column_mean_to_be_between": mean,
    "expect_column_median_to_be_between": median,
}


# Parsers whose string condition GE's pandas engine hands to `DataFrame.query` unchanged.
QUERY_PARSERS = (None, "pandas", "spark")


def unsupported_reason(exp: Expectation, frame: pd.DataFrame) -> str:
    """Why the native engine cannot reproduce GE for this expectation here; '' when it can."""
    if exp.type not in NATIVE:
        return f"{exp.type} (not native)"
    condition = exp.kwargs.get("row_condition")
    if condition and (not isinstance(condition, str)
                      or exp.kwargs.get("condition_parser") not in QUERY_PARSERS):
        # GE's own condition grammar and Condition objects: GE applies them.
        return f"{exp.type} (row_condition for condition_parser " \
               f"{exp.kwargs.get('condition_parser')!r})"
    if isinstance(condition, str) and condition and not is_safe(condition):
        # Outside the safe grammar: only a trusted suite gets this far, and GE runs it.
        return f"{exp.type} (a trusted row_condition outside the comparison grammar)"
    if exp.type == "expect_column_values_to_be_of_type":
        # GE checks object columns value by value with Python types: leave those to GE.
        column = exp.column
        if column is None or column not in frame.columns or frame[column].dtype == object:
            return f"{exp.type} (on an object column)"
    return ""


def supports(exp: Expectation, frame: pd.DataFrame) -> bool:
    """True when the native engine reproduces GE for this expectation on this frame."""
    return not unsupported_reason(exp, frame)


def _rows(frame: pd.DataFrame, exp: Expectation) -> pd.DataFrame:
    condition = exp.kwargs.get("row_condition")
    if not condition:
        return frame
    if not is_safe(condition):  # checked at the boundary; never run code here, whatever calls
        raise CheckInputError(f"row_condition {condition!r} is outside the comparison grammar")
    try:
        return frame.query(condition)
    except Exception as exc:  # a condition pandas cannot evaluate: GE errors the same way
        raise ExpectationError(f"row_condition {condition!r}: {exc}") from None


def run(frame: pd.DataFrame, exp: Expectation) -> Outcome:
    """Evaluate one supported expectation on `frame` (the rows its `row_condition` selects).

    Raises ExpectationError when GE would report the expectation as an error.
    """
    return NATIVE[exp.type](_rows(frame, exp), exp)


class NativeExpectations:
    """The native engine behind the expectation seam (`argoscope.checks._engine`)."""

    name = "native"

    def lacks(self, frame: pd.DataFrame, expectations: Sequence[Expectation]) -> list[str]:
        """Why this engine cannot reproduce GE for some of `expectations`; [] when it can."""
        return [reason for reason in (unsupported_reason(exp, frame) for exp in expectations)
                if reason]

    def run(self, frame: pd.DataFrame, expectations: Sequence[Expectation]
            ) -> list[tuple[Outcome, str]]:
        """One (outcome, error) per expectation; what GE reports as an error is an error."""
        found: list[tuple[Outcome, str]] = []
        for exp in expectations:
            try:
                found.append((run(frame, exp), ""))
            except ExpectationError as exc:
                found.append((Outcome(False), str(exc)))
        return found


ENGINE = NativeExpectations()
