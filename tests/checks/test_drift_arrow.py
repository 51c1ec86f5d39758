"""The fast drift path (Parquet straight from Arrow) gives the pandas path's result or declines.

- On generated Parquet files (floats with NaN and ±inf, signed integers with and without
  nulls, low-cardinality integers, float32, nullable Int64, categoricals, strings, booleans,
  all-null columns; pandas' metadata or none, several row groups, named indexes), with
  generated options (columns, method, threshold): whenever the fast path answers, its features
  equal the pandas path's to the last bit; whenever the pandas path tests only plain numeric
  columns with the Wasserstein distance, the fast path answers; an error of the pandas path is
  never answered by the fast path.
- Its pieces hold pandas' own rules: a column's values as pandas holds them, the reference's
  std as `np.std` of a Series computes it.
- `argoscope check drift` takes the fast path without importing pandas, and writes the same
  document as the pandas path, and the same scores as an untuned process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from argoscope.checks import drift_arrow
from argoscope.checks._engine import DriftOptions
from argoscope.checks.cli import read_table
from argoscope.checks.drift_native import ENGINE
from argoscope.checks.results import CheckInputError, FeatureResult

ROOT = Path(__file__).resolve().parents[2]
PLAIN = ("float64", "float32", "int64", "int32", "int16", "int8", "int_nulls")
OTHER = ("few_ints", "Int64", "category", "string", "bool", "all_null", "uint8")


def _column(kind: str, n: int, rng: np.random.Generator, shift: float, spoiled: float,
            ) -> pd.Series | pa.Array:
    """One generated column of `n` rows (a pyarrow array where pandas cannot hold it)."""
    if kind in ("float64", "float32"):
        values = rng.normal(shift, 1.0 + shift, n).astype(kind)
        holes = rng.random(n) < spoiled
        values[holes] = rng.choice(np.array([np.nan, np.inf, -np.inf, 0.0, -0.0], dtype=kind),
                                   int(holes.sum()))
        return pd.Series(values)
    if kind in ("int64", "int32", "int16", "int8"):
        top = 120 if kind == "int8" else 10_000
        return pd.Series(rng.integers(-top, top, n) + int(shift * 40)).astype(kind)
    if kind == "int_nulls":  # written by pyarrow: pandas reads it back as float64 with NaN
        values = rng.integers(-(2**62), 2**62, n)
        return pa.array(values, mask=rng.random(n) < max(spoiled, 0.01))
    if kind == "few_ints":
        return pd.Series(rng.integers(0, 4, n))
    if kind == "Int64":
        return pd.Series(pd.array(rng.integers(0, 500, n), dtype="Int64"))
    if kind == "category":
        return pd.Series(pd.Categorical(rng.choice(["a", "b", "c"], n)))
    if kind == "string":
        return pd.Series(rng.choice(["x", "y"], n))
    if kind == "bool":
        return pd.Series(rng.random(n) < 0.5)
    if kind == "all_null":
        return pd.Series(np.full(n, np.nan))
    return pd.Series(rng.integers(0, 200, n).astype("uint8"))


@st.composite
def parquet_pairs(draw: st.DrawFn) -> dict:
    """A generated reference and current file's recipe, and the options of a drift call."""
    mixed = draw(st.integers(0, 3)) == 0  # a quarter of the pairs hold other columns too
    kinds = draw(st.lists(st.sampled_from(PLAIN + OTHER if mixed else PLAIN), min_size=1,
                          max_size=4))
    small = draw(st.integers(0, 9)) == 0  # at most 1,000 rows: Evidently picks other tests
    rows = [draw(st.integers(20, 1000) if small else st.sampled_from([1001, 1300, 1700, 2600]))
            for _ in "rc"]
    options: dict = {"method": None, "threshold": None, "columns": None}
    choice = draw(st.integers(0, 7))  # 3 in 8 calls give options
    if choice == 1:
        options["method"] = draw(st.sampled_from(["wasserstein", "ks", "psi"]))
    elif choice == 2:
        options["threshold"] = draw(st.sampled_from([0.05, 0.2, 0.0, 3.0, -1.0]))
    elif choice == 3:
        names = [f"c{i}" for i in range(len(kinds))] + ["missing"]
        options["columns"] = draw(st.lists(st.sampled_from(names), max_size=3))
    # The reference's column may be of another plain type than the current's (float64
    # against int64, int8 against float32): pandas widens them as it merges.
    ref_kinds = [draw(st.sampled_from(PLAIN)) if kind in PLAIN and draw(st.integers(0, 3)) == 0
                 else kind for kind in kinds]
    return {"kinds": kinds, "ref_kinds": ref_kinds, "rows": rows,
            "seed": draw(st.integers(0, 2**32 - 1)),
            "spoiled": draw(st.sampled_from([0.0, 0.0, 0.01, 0.01, 0.2, 1.0])),
            "writer": draw(st.sampled_from(["pandas", "pandas-index", "arrow", "groups"])),
            "options": options}


def _write(recipe: dict, folder: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(recipe["seed"])
    paths = []
    for which, (n, shift) in enumerate(zip(recipe["rows"], (0.0, 0.3), strict=True)):
        kinds = recipe.get("ref_kinds", recipe["kinds"]) if which == 0 else recipe["kinds"]
        columns = {f"c{i}": _column(kind, n, rng, shift, recipe["spoiled"])
                   for i, kind in enumerate(kinds)}
        path = folder / f"{'rc'[which]}.parquet"
        writer = recipe["writer"]
        if writer == "arrow" or any(isinstance(c, pa.Array) for c in columns.values()):
            arrays = {k: v if isinstance(v, pa.Array) else pa.Array.from_pandas(v)
                      for k, v in columns.items()}
            pq.write_table(pa.table(arrays), path, row_group_size=700)
        else:
            frame = pd.DataFrame(columns)
            if writer == "pandas-index":
                frame.index = pd.Index([f"r{i}" for i in range(n)], name="row")
            frame.to_parquet(path, row_group_size=400 if writer == "groups" else None)
        paths.append(path)
    return paths[0], paths[1]


def _pandas_path(reference: Path, current: Path, options: dict
                 ) -> list[FeatureResult] | CheckInputError:
    """What `argoscope check drift` computes without the fast path (or its input error)."""
    try:
        return ENGINE.run(read_table(str(reference)), read_table(str(current)),
                          DriftOptions(options["columns"], options["method"],
                                       options["threshold"]))
    except CheckInputError as exc:
        return exc


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recipe=parquet_pairs())
def test_the_fast_path_gives_the_pandas_paths_features_or_declines(recipe: dict,
                                                                   tmp_path_factory) -> None:
    folder = tmp_path_factory.mktemp("pair")
    reference, current = _write(recipe, folder)
    options = recipe["options"]
    expected = _pandas_path(reference, current, options)
    fast = drift_arrow.drift_parquet(reference, current, options["columns"],
                                     method=options["method"], threshold=options["threshold"],
                                     drift_share=0.5)
    event("fast path" if fast is not None else "declined")
    if fast is not None:
        assert not isinstance(expected, CheckInputError), expected
        assert fast == expected  # features, methods, thresholds, verdicts; scores bit for bit
    tested = {f"c{i}": kind for i, kind in enumerate(recipe["kinds"])}
    if isinstance(expected, list) and options["columns"] is None \
            and all(kind in PLAIN for kind in tested.values()) \
            and all(kind in PLAIN for kind in recipe["ref_kinds"]) \
            and all(f.method == "wasserstein" for f in expected):
        assert fast is not None, "the pandas path tested plain numeric columns only"


def test_a_plain_numeric_pair_takes_the_fast_path(tmp_path: Path) -> None:
    recipe = {"kinds": list(PLAIN), "rows": [1500, 1200], "seed": 7, "spoiled": 0.05,
              "writer": "groups", "options": {"method": None, "threshold": None,
                                              "columns": None}}
    reference, current = _write(recipe, tmp_path)
    fast = drift_arrow.drift_parquet(reference, current, None, method=None, threshold=None,
                                     drift_share=0.5)
    assert fast is not None
    assert fast == _pandas_path(reference, current, recipe["options"])
    assert [f.feature for f in fast] == [f"c{i}" for i in range(len(PLAIN))]


def test_named_columns_are_answered_beside_columns_it_does_not_read(tmp_path: Path) -> None:
    recipe = {"kinds": ["string", "float64", "category", "int64"], "rows": [1400, 1300],
              "seed": 11, "spoiled": 0.01, "writer": "pandas", "options": {}}
    reference, current = _write(recipe, tmp_path)
    options = {"columns": ["c3", "c1"], "method": None, "threshold": None}
    fast = drift_arrow.drift_parquet(reference, current, ["c3", "c1"], method=None,
                                     threshold=None, drift_share=0.5)
    assert fast is not None
    assert fast == _pandas_path(reference, current, options)
    assert [f.feature for f in fast] == ["c3", "c1"]
    # Without --columns the string and categorical columns are tested: the pandas path's.
    assert drift_arrow.drift_parquet(reference, current, None, method=None, threshold=None,
                                     drift_share=0.5) is None


@settings(max_examples=60, deadline=None)
@given(values=st.one_of(
    hnp.arrays(st.sampled_from([np.float64, np.float32]), st.integers(1, 300),
               elements=st.floats(-(2.0**60), 2.0**60, width=32)),
    hnp.arrays(st.sampled_from([np.int64, np.int32, np.int8]), st.integers(1, 300))))
def test_the_std_is_pandas_own(values: np.ndarray) -> None:
    assert drift_arrow.pandas_std(values) == float(np.std(pd.Series(values)))


@settings(max_examples=40, deadline=None)
@given(data=st.data(), kind=st.sampled_from([pa.float64(), pa.float32(), pa.int64(),
                                             pa.int16(), pa.int8()]))
def test_a_column_reads_as_pandas_holds_it(data: st.DataObject, kind: pa.DataType) -> None:
    """Nulls, slices (offsets into a chunk's buffers) and several chunks, read from the
    buffers, give pandas' own values and dtype."""
    chunks = []
    for _ in range(data.draw(st.integers(1, 3))):
        values = data.draw(st.lists(st.none() | st.integers(-100, 100), max_size=40))
        chunk = pa.array(values, type=kind)
        start = data.draw(st.integers(0, len(values)))
        chunks.append(chunk.slice(start, data.draw(st.integers(0, len(values) - start))))
    column = pa.chunked_array(chunks, type=kind)
    ours, theirs = drift_arrow._values(column), column.to_pandas().to_numpy()
    assert ours.dtype == theirs.dtype or (len(theirs) == 0 and len(ours) == 0)
    assert np.array_equal(ours, theirs, equal_nan=True)


def _run_cli(code: str, folder: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-c", code, "check", "drift", "--reference",
                           "r.parquet", "--current", "c.parquet", "--out", "-"],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=120)


def test_the_command_takes_it_without_pandas_and_writes_the_pandas_paths_document(
        tmp_path: Path) -> None:
    recipe = {"kinds": ["float64", "int64", "float32"], "rows": [2000, 1800], "seed": 3,
              "spoiled": 0.02, "writer": "pandas", "options": {}}
    _write(recipe, tmp_path)
    fast = _run_cli("import sys; from argoscope.cli import main; code = main(sys.argv[1:]); "
                    "print('pandas' in sys.modules, file=sys.stderr); sys.exit(code)", tmp_path)
    pandas_path = _run_cli("import sys; from argoscope.checks import cli; "
                           "cli._fast_drift = lambda *a, **k: None; "
                           "from argoscope.cli import main; sys.exit(main(sys.argv[1:]))",
                           tmp_path)
    assert fast.returncode == pandas_path.returncode == 1, (fast.stderr, pandas_path.stderr)
    assert fast.stderr.splitlines()[-1] == "False"  # pandas never imported
    ours, theirs = json.loads(fast.stdout), json.loads(pandas_path.stdout)
    assert ours["results"][0]["features"] == theirs["results"][0]["features"]
    assert ours["results"][0]["status"] == theirs["results"][0]["status"] == "failed"
    # The command tunes its process (process_tuning); this process is not tuned: same scores.
    untuned = drift_arrow.drift_parquet(tmp_path / "r.parquet", tmp_path / "c.parquet", None,
                                        method=None, threshold=None, drift_share=0.5)
    assert untuned is not None
    assert ours["results"][0]["features"] == [f.to_dict() for f in untuned]


@pytest.mark.parametrize("args", [["--columns", "nope"], ["--threshold", "0"],
                                  ["--method", "wasserstien"], ["--drift-share", "2"]])
def test_bad_input_is_declined_so_the_pandas_path_words_it(tmp_path: Path, args: list[str]) -> None:
    recipe = {"kinds": ["float64", "float64"], "rows": [1100, 1100], "seed": 5, "spoiled": 0.0,
              "writer": "pandas", "options": {}}
    reference, current = _write(recipe, tmp_path)
    assert drift_arrow.drift_parquet(reference, current, ["nope"] if "nope" in args else None,
                                     method=args[1] if args[0] == "--method" else None,
                                     threshold=0.0 if args[0] == "--threshold" else None,
                                     drift_share=2.0 if args[0] == "--drift-share" else 0.5,
                                     ) is None


def test_with_bottleneck_installed_the_pandas_path_answers(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """pandas computes the std with bottleneck when it is installed: another last bit."""
    recipe = {"kinds": ["float64"], "rows": [1100, 1100], "seed": 2, "spoiled": 0.0,
              "writer": "pandas", "options": {}}
    reference, current = _write(recipe, tmp_path)
    assert drift_arrow.drift_parquet(reference, current, None, method=None, threshold=None,
                                     drift_share=0.5) is not None
    found = drift_arrow.importlib.util.find_spec
    monkeypatch.setattr(drift_arrow.importlib.util, "find_spec",
                        lambda name, *a: object() if name == "bottleneck" else found(name, *a))
    assert drift_arrow.drift_parquet(reference, current, None, method=None, threshold=None,
                                     drift_share=0.5) is None


@pytest.mark.parametrize("metadata", [
    b'["a list"]', b'{"columns": ["c0"]}', b'{"column_indexes": {"a": 1}}',
    b'{"index_columns": "c0"}', b'not json'])
def test_pandas_metadata_of_another_shape_is_declined_not_a_crash(tmp_path: Path,
                                                                   metadata: bytes) -> None:
    # Another tool's (or a hostile) `pandas` entry in the footer: this path declines, so the
    # pandas path answers or words the error; no exception escapes, and none is hidden.
    rng = np.random.default_rng(3)
    paths = []
    for name in ("reference", "current"):
        table = pa.table({"c0": rng.normal(size=1500)})
        table = table.replace_schema_metadata({b"pandas": metadata})
        paths.append(tmp_path / f"{name}.parquet")
        pq.write_table(table, paths[-1])
    assert drift_arrow.drift_parquet(*paths, None, method=None, threshold=None,
                                     drift_share=0.5) is None


def test_a_bug_in_the_fast_path_is_raised_not_hidden_behind_the_pandas_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recipe = {"kinds": list(PLAIN), "rows": [1500, 1200], "seed": 7, "spoiled": 0.0,
              "writer": "groups", "options": {"method": None, "threshold": None,
                                              "columns": None}}
    reference, current = _write(recipe, tmp_path)

    def broken(*_: object) -> float:
        raise KeyError("a bug")

    monkeypatch.setattr(drift_arrow, "normed_wasserstein", broken)
    with pytest.raises(KeyError, match="a bug"):
        drift_arrow.drift_parquet(reference, current, None, method=None, threshold=None,
                                  drift_share=0.5)
