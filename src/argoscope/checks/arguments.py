"""Every argument of the public check calls and CLI options, checked at the boundary.

One rule per kind of argument, so the Python API and `argoscope check` refuse the same
mistakes with the same words before anything runs:

- names from a fixed set (severity, operator, engine, drift method, column type) match
  exactly; a near miss is an input error with a "did you mean" hint, never a silent default;
- numbers are finite and within the range their meaning allows (`drift_share` in (0, 1],
  a p-value threshold in (0, 1], a distance threshold above 0 and at most the distance's
  maximum);
- column names that a call names (`columns`, `per_column_*`, `column_types`) exist in the data;
- frames are DataFrames (pandas', or another engine's with named columns); a Series is
  named as such.

Imports nothing heavy: pandas is imported only when a frame is checked.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from argoscope.checks.results import CheckInputError
from argoscope.checks.schema import SEVERITIES, Severity

# The names `column_types=` and `--column-types` accept: Evidently's long and short forms.
COLUMN_TYPES = ("numerical", "num", "categorical", "cat", "text")
# Largest value each bounded distance can take, so a threshold above it could never drift.
DISTANCE_MAX: Mapping[str, float] = {
    "hellinger": 1.0, "jensenshannon": math.sqrt(math.log(2))}


def did_you_mean(word: object, known: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest of `known` to `word`, else ''."""
    close = difflib.get_close_matches(str(word), list(known), n=1, cutoff=0.6)
    if not close:  # case slips ("Critical") and prefixes ("crit") are near misses too
        lowered = str(word).lower()
        close = [k for k in known if k.lower() == lowered
                 or (lowered and k.lower().startswith(lowered))][:1]
    return f" (did you mean {close[0]!r}?)" if close else ""


def choice(what: str, value: object, known: Collection[str], where: str = "") -> str:
    """`value` when it is exactly one of `known`; else an input error with a hint."""
    if isinstance(value, str) and value in known:
        return value
    raise CheckInputError(f"{where + ': ' if where else ''}unknown {what} {value!r}"
                          f"{did_you_mean(value, known)}; known: {', '.join(known)}")


def severity(value: object) -> Severity:
    """A check's severity, exactly `critical` or `warning`."""
    chosen = choice("severity", value, SEVERITIES)
    return "critical" if chosen == "critical" else "warning"


def number(what: str, value: object) -> float:
    """`value` as a finite float; a bool, a string or NaN/inf is an input error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):  # numpy scalars pass
        raise CheckInputError(f"{what} must be a number, not {type(value).__name__} {value!r}")
    result = float(value)
    if not math.isfinite(result):
        raise CheckInputError(f"{what} must be a finite number, not {value!r}")
    return result


def drift_share(value: object) -> float:
    """The share of drifted columns that fails a drift check: in (0, 1]; 0 would fail every
    check, above 1 none could ever fail."""
    share = number("drift_share", value)
    if not 0 < share <= 1:
        raise CheckInputError(f"drift_share must be in (0, 1], not {value!r}")
    return share


def threshold(method: str | None, value: object, where: str = "threshold") -> float:
    """A drift threshold as `method` defines it: a p-value test's in (0, 1], a distance's
    above 0 (and at most the distance's maximum when it has one). Without a method (the
    test is chosen per column) any value above 0 is taken here; the engine checks it
    against the test it picks."""
    from argoscope.checks.drift_stattests import TESTS

    limit = number(where, value)
    test = TESTS.get(method) if method is not None else None
    if test is not None and test.p_value:
        if not 0 < limit <= 1:
            raise CheckInputError(f"{where}: {method} compares a p-value, so its threshold "
                                  f"must be in (0, 1], not {value!r}")
        return limit
    top = DISTANCE_MAX.get(method or "")
    if limit <= 0 or (top is not None and limit > top):
        span = f"(0, {top:.6g}]" if top is not None else "above 0"
        raise CheckInputError(f"{where}: {method or 'a drift'} threshold must be {span}, "
                              f"not {value!r}")
    return limit


def drift_method(value: object, where: str = "") -> str:
    """A drift test Evidently registers (numerical, categorical or text-content), exactly."""
    from argoscope.checks.drift_stattests import TESTS, TEXT_TESTS

    return choice("drift method", value, [*TESTS, *TEXT_TESTS], where)


def column_type(value: object, where: str) -> str:
    """A declared column type: numerical, categorical or text (or Evidently's num/cat)."""
    return choice("column type", value, COLUMN_TYPES, where)


def frame(value: object, what: str) -> None:
    """`value` must be a DataFrame: pandas', or another engine's frame with named `columns`
    (Spark, Dask); a Series (or anything else) is named."""
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return
    if isinstance(value, pd.Series) or not hasattr(value, "columns") \
            or type(value).__name__ == "Series":
        hint = " (wrap it: series.to_frame())" if isinstance(value, pd.Series) else ""
        raise CheckInputError(f"{what} must be a pandas DataFrame, not "
                              f"{type(value).__name__}{hint}")


def columns_exist(names: Iterable[object], frames: Sequence[tuple[str, Any]], what: str) -> None:
    """Every column `what` names is in each of `frames` ((label, frame) pairs)."""
    for name in names:
        for label, data in frames:
            labels = {str(column) for column in data.columns}
            if name not in data.columns and str(name) not in labels:
                raise CheckInputError(f"{what} names column {name!r}, which is not in the "
                                      f"{label} data{did_you_mean(name, sorted(labels))}")


def name(value: object, what: str) -> str:
    """A check name: a non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise CheckInputError(f"{what} must be a non-empty string, not {value!r}")
    return value


def mapping(value: object, what: str) -> Mapping[Any, Any]:
    """A `per_column_*` or `column_types` argument: a mapping (or None, read as empty)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise CheckInputError(f"{what} must be a mapping of column to value, "
                              f"not {type(value).__name__}")
    return value


def drift_call(reference: object, current: object, *, engine: object,
               engines: Collection[str], columns: object, method: object, threshold_: object,
               per_column_method: object, per_column_threshold: object,
               drift_share_: object, column_types: object) -> None:
    """Every argument of a drift check (`Checks.drift`, `argoscope check drift`); `engines`
    are the known engine names (`_engine.DRIFT_ENGINES`)."""
    frame(reference, "reference")
    frame(current, "current")
    choice("drift engine", engine, engines)
    both = (("reference", reference), ("current", current))
    if columns is not None:
        if isinstance(columns, str) or not isinstance(columns, Iterable):
            raise CheckInputError(f"columns must be a list of column names, not {columns!r}")
        columns_exist(list(columns), both, "columns")
    if method is not None:
        drift_method(method)
    if threshold_ is not None:
        threshold(method if isinstance(method, str) else None, threshold_)
    methods = mapping(per_column_method, "per_column_method")
    columns_exist(methods, both, "per_column_method")
    for column, chosen in methods.items():
        drift_method(chosen, f"per_column_method[{column!r}]")
    limits = mapping(per_column_threshold, "per_column_threshold")
    columns_exist(limits, both, "per_column_threshold")
    for column, limit in limits.items():
        threshold(methods.get(column, method if isinstance(method, str) else None), limit,
                  f"per_column_threshold[{column!r}]")
    drift_share(drift_share_)
    types = mapping(column_types, "column_types")
    columns_exist(types, (("current", current),), "column_types")
    for column, kind in types.items():
        column_type(kind, f"column {column!r}")
