"""Column types for drift: Evidently 0.7's own inference, or what the caller declares.

Evidently infers each column's type from the *current* data (`infer_column_type` in
`evidently.core.datasets`): float dtypes are numerical; int dtypes numerical with more than 10
distinct values, else categorical; strings (object or string dtype) text when more than half
the values are distinct, else categorical; bool and category dtypes categorical. Everything
else (uint, nullable Int64/Float64/boolean, timedelta, datetime, mixed objects, lists) is not
tested by `DataDriftPreset`. `column_types=` declares types as Evidently's `DataDefinition`
does: a type with declared columns holds exactly those; the other types are still inferred.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from argoscope.checks.arguments import COLUMN_TYPES, column_type
from argoscope.checks.drift_stattests import CATEGORICAL, NUMERICAL, TEXT
from argoscope.checks.results import CheckInputError

if TYPE_CHECKING:
    import pandas as pd  # imported where used: the fast drift path reads the limit below

UNTESTED = "untested"
INTEGER_CARDINALITY_LIMIT = 10
# The names `column_types=` and `--column-types` accept (`arguments.COLUMN_TYPES`), as kinds.
ALIASES = dict(zip(COLUMN_TYPES, (NUMERICAL, NUMERICAL, CATEGORICAL, CATEGORICAL, TEXT),
                   strict=True))


def infer(current: pd.Series) -> str:
    """Evidently's type for a column, from its current data: num, cat, text or untested."""
    name = current.dtype.name
    if name.startswith("float"):
        return NUMERICAL
    if name.startswith("int"):
        return CATEGORICAL if current.nunique() <= INTEGER_CARDINALITY_LIMIT else NUMERICAL
    if name in ("string", "str"):
        return TEXT if current.nunique() > current.count() * 0.5 else CATEGORICAL
    if name == "object":
        present = current.dropna()
        if present.count() == 0:
            return UNTESTED
        if isinstance(present.iloc[0], str) and isinstance(present.iloc[-1], str):
            return TEXT if current.nunique() > current.count() * 0.5 else CATEGORICAL
        return UNTESTED
    if name in ("bool", "category"):
        return CATEGORICAL
    return UNTESTED


def parse_declared(column_types: Mapping[str, str] | None) -> dict[str, str]:
    """`column_types=` normalised to num/cat/text; a type name that is not exactly one of
    `ALIASES` is an input error with a hint."""
    return {str(column): ALIASES[column_type(given, f"column {column!r}")]
            for column, given in (column_types or {}).items()}


def resolve(current: pd.DataFrame, columns: list[object] | None,
            column_types: Mapping[str, str] | None) -> dict[object, str]:
    """Each column to test with its type. Without `columns`, the columns Evidently's preset
    tests (numerical, categorical, text); a type `column_types` declares columns of holds
    those columns only, the other types are inferred (Evidently's `DataDefinition` rule). A
    column named in `columns` is always tested: one Evidently would not test is an input
    error that says how to declare its type."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    declared = parse_declared(column_types)
    known = {str(c) for c in current.columns}
    for name in declared:
        if name not in known:
            raise CheckInputError(f"column_types names column {name!r}, which is not in the data")
    chosen = list(current.columns) if columns is None else columns
    # Evidently's DataDefinition: a type with declared columns has those columns only; the
    # other types are inferred.
    declared_kinds = set(declared.values())
    kinds: dict[object, str] = {}
    for column in chosen:
        kind = declared.get(str(column)) or infer(current[column])
        if columns is None and str(column) not in declared and kind in declared_kinds:
            continue
        dtype = current[column].dtype
        if kind == NUMERICAL and (not is_numeric_dtype(dtype) or is_bool_dtype(dtype)):
            raise CheckInputError(f"column {column!r} is declared numerical but its dtype is "
                                  f"{dtype}; declare it categorical or convert it")
        if kind == UNTESTED:
            if columns is None:
                continue  # as DataDriftPreset: such columns are left out
            raise CheckInputError(
                f"column {column!r} (dtype {current[column].dtype}) has no drift type "
                f"Evidently infers; declare it, e.g. column_types={{{str(column)!r}: "
                "'numerical'}} or --column-types NAME=numerical")
        kinds[column] = kind
    if not kinds:
        raise CheckInputError("no columns to compare: none has a type Evidently tests "
                              "(declare types with column_types=)")
    return kinds
