"""The core's states do not depend on how the rows were partitioned: merging the summaries of
any split of a column, in any tree, gives the summary of the whole column (generated splits,
values with missing and infinite entries, budgets that overflow)."""

from __future__ import annotations

import math
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from argoscope.checks.scale import sketch
from argoscope.checks.scale.counted import sturges_edges
from argoscope.checks.scale.route import engine_of, pick
from argoscope.checks.scale.summary import merge, sorted_table, summarize

ROOT = Path(__file__).resolve().parents[3]

values = st.lists(st.one_of(st.integers(-5, 5).map(float),
                            st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
                            st.just(math.nan), st.just(math.inf)), min_size=1, max_size=60)


def _tree_merge(parts: list, budget: int, left_first: bool):
    if len(parts) == 1:
        return parts[0]
    middle = len(parts) // 2 if left_first else 1
    return merge(_tree_merge(parts[:middle], budget, left_first),
                 _tree_merge(parts[middle:], budget, left_first), budget)


@settings(max_examples=60, deadline=None)
@given(values, st.lists(st.integers(1, 59), max_size=5), st.integers(1, 12), st.booleans())
def test_any_split_merged_in_any_tree_is_the_whole(column, cuts, budget, left_first):
    series = pd.Series(column, dtype=float)
    bounds = sorted({0, len(series), *[c for c in cuts if c < len(series)]})
    parts = [summarize(series.iloc[a:b], True, budget, 200) for a, b in pairwise(bounds)]
    merged = _tree_merge(parts, budget, left_first)
    whole = summarize(series, True, budget, 200)
    assert (merged.rows, merged.non_null, merged.usable) == (whole.rows, whole.non_null,
                                                             whole.usable)
    assert merged.moments.n == whole.moments.n
    assert math.isclose(merged.moments.mean, whole.moments.mean, rel_tol=1e-9, abs_tol=1e-6)
    assert math.isclose(merged.moments.m2, whole.moments.m2, rel_tol=1e-9, abs_tol=1e-3)
    assert (merged.minimum, merged.maximum) == (whole.minimum, whole.maximum)
    # A part never has more distinct values than the whole: over the budget in one iff the other.
    assert (merged.table is None) == (whole.table is None)
    if whole.table is not None:
        assert sorted_table(merged).to_dict() == sorted_table(whole).to_dict()
    if whole.sketch is not None:
        assert sketch.load(merged.sketch).n == whole.usable


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-2**40, 2**40), min_size=1, max_size=300), st.booleans())
def test_sturges_edges_from_count_min_and_max_are_numpys(numbers, as_float):
    data = np.array(numbers, dtype=float if as_float else np.int64)
    expected = np.histogram_bin_edges(data, "sturges")
    found = sturges_edges(len(data), data.min(), data.max(), data.dtype)
    assert found.dtype == expected.dtype and np.array_equal(found, expected)


def test_routing_reads_types_without_importing_the_engines():
    frame = pd.DataFrame({"a": [1]})
    assert engine_of(frame) is None and pick("native", (frame, frame), "native") == "native"
    code = ("import sys, pandas as pd\n"
            "from argoscope.checks.expect import validate\n"
            "from argoscope.checks.api import Checks\n"
            "validate(pd.DataFrame({'a': [1]}), [{'type': 'expect_column_values_to_not_be_null',"
            " 'kwargs': {'column': 'a'}}])\n"
            "print([m for m in ('pyspark', 'dask', 'distributed', 'datasketches')"
            " if m in sys.modules])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT / "src")}, timeout=120, check=True)
    assert proc.stdout.strip() == "[]"
