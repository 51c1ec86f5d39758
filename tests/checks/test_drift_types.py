"""Column types and edge cases: the native engine tests the columns Evidently 0.7 tests, typed
as Evidently infers them (or as declared), and agrees with Evidently where it used not to."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from argoscope.checks import drift_columns, drift_native
from argoscope.checks.results import CheckInputError


def _column(dtype: str, n: int, rng: np.random.Generator, shift: float) -> object:
    if dtype in ("float64", "float32", "float16"):
        return rng.normal(shift, 1, n).astype(dtype)
    if dtype == "int_few":
        return rng.integers(0, 4 + int(shift * 2), n)
    if dtype == "int_many":
        return rng.integers(0, 60, n) + int(shift * 10)
    if dtype == "uint8":
        return rng.integers(0, 200, n).astype("uint8")
    if dtype == "Int64":
        return pd.array(rng.integers(0, 50, n), dtype="Int64")
    if dtype == "Float64":
        return pd.array(rng.normal(shift, 1, n), dtype="Float64")
    if dtype == "boolean":
        return pd.array(rng.random(n) < 0.5 + shift / 4, dtype="boolean")
    if dtype == "bool":
        return rng.random(n) < 0.5 + shift / 4
    if dtype == "timedelta":
        return pd.to_timedelta(rng.integers(0, 1000, n), unit="s")
    if dtype == "datetime":
        return pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 1000, n), unit="h")
    if dtype == "str_few":
        return rng.choice(["red", "green", "blue"] + (["black"] if shift else []), n)
    if dtype == "str_many":
        return np.array([f"word{v} item{v * 7 % 13}" for v in rng.integers(0, 10 * n, n)],
                        dtype=object)
    if dtype == "mixed":
        values = rng.choice(["a", "b"], n).astype(object)
        values[0] = 1
        return values
    if dtype == "category":
        return pd.Categorical(rng.choice(["x", "y", "z"], n), categories=["x", "y", "z", "w"])
    raise AssertionError(dtype)


DTYPES = ["float64", "float32", "float16", "int_few", "int_many", "uint8", "Int64", "Float64",
          "boolean", "bool", "timedelta", "datetime", "str_few", "str_many", "mixed",
          "category"]


def _close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)


def _same(native, reference) -> None:
    assert [f.feature for f in native] == [f.feature for f in reference]
    for ours, theirs in zip(native, reference, strict=True):
        assert (ours.method, ours.drifted) == (theirs.method, theirs.drifted), (ours, theirs)
        assert ours.threshold == pytest.approx(theirs.threshold)
        assert _close(ours.score, theirs.score), (ours, theirs)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dtypes=st.lists(st.sampled_from([d for d in DTYPES if d != "str_many"]), min_size=1,
                       max_size=5),
       large=st.booleans(), seed=st.integers(0, 2**16))
def test_default_column_types_are_evidentlys_own(evidently_engine, dtypes, large, seed) -> None:
    rng = np.random.default_rng(seed)
    n_ref, n_cur = (1200, 1100) if large else (300, 200)
    names = ["anchor", *[f"{d}_{i}" for i, d in enumerate(dtypes)]]

    def frame(n: int, shift: float) -> pd.DataFrame:
        return pd.DataFrame({name: _column("float64" if name == "anchor" else name.rsplit(
            "_", 1)[0], n, rng, shift) for name in names})

    reference, current = frame(n_ref, 0.0), frame(n_cur, 0.3)
    native = drift_native.dataset_drift(reference, current)
    _same(native, evidently_engine.run(reference, current))
    tested = {f.feature for f in native}
    for name in names:  # each dtype is tested exactly when Evidently's inference types it
        kind = drift_columns.infer(current[name])
        assert (name in tested) == (kind != drift_columns.UNTESTED), (name, kind)


def test_inferred_types_per_dtype() -> None:
    rng = np.random.default_rng(0)
    kinds = {d: drift_columns.infer(pd.Series(_column(d, 200, rng, 0.0))) for d in DTYPES}
    assert kinds == {
        "float64": "num", "float32": "num", "float16": "num", "int_few": "cat",
        "int_many": "num", "uint8": "untested", "Int64": "untested", "Float64": "untested",
        "boolean": "untested", "bool": "cat", "timedelta": "untested", "datetime": "untested",
        "str_few": "cat", "str_many": "text", "mixed": "untested", "category": "cat"}


def test_many_valued_strings_get_evidentlys_text_drift(evidently_engine) -> None:
    rng = np.random.default_rng(5)
    reference = pd.DataFrame({"x": rng.normal(0, 1, 120), "note": _column("str_many", 120, rng, 0)})
    current = pd.DataFrame({"x": rng.normal(0, 1, 100), "note": _column("str_many", 100, rng, 0)})
    native = drift_native.dataset_drift(reference, current)
    assert [f.method for f in native] == ["ks", "perc_text_content_drift"]
    _same(native, evidently_engine.run(reference, current))


@pytest.mark.parametrize("engine", ["native", "evidently"])
def test_declared_types_override_the_inference(evidently_engine, engine: str) -> None:
    rng = np.random.default_rng(2)
    reference = pd.DataFrame({"few": rng.integers(0, 4, 400), "small": _column("uint8", 400, rng, 0),
                              "label": rng.choice(["a", "b", "c"], 400)})
    current = pd.DataFrame({"few": rng.integers(0, 5, 300), "small": _column("uint8", 300, rng, 0),
                            "label": rng.choice(["a", "b", "c"], 300)})
    types = {"few": "numerical", "small": "num"}
    run = drift_native.dataset_drift if engine == "native" else evidently_engine.run
    declared = run(reference, current, column_types=types)
    assert [(f.feature, f.method) for f in declared] == [
        ("few", "chisquare"), ("small", "ks"), ("label", "chisquare")]
    inferred = run(reference, current)
    assert [f.feature for f in inferred] == ["few", "label"]  # uint8: untested by default
    if engine == "native":
        _same(declared, evidently_engine.run(reference, current, column_types=types))
    with pytest.raises(CheckInputError, match=r"'small'.*column_types"):
        run(reference, current, columns=["few", "small"])
    with pytest.raises(CheckInputError, match="'ordinal'"):
        run(reference, current, column_types={"few": "ordinal"})
    with pytest.raises(CheckInputError, match="'fewer'"):
        run(reference, current, column_types={"fewer": "numerical"})


@pytest.mark.parametrize("n", [300, 1500])
def test_unused_declared_categories_do_not_hide_drift(evidently_engine, n: int) -> None:
    rng = np.random.default_rng(1)
    categories = ["a", "b", "c", "unused"]
    reference = pd.DataFrame({"c": pd.Categorical(rng.choice(["a", "b", "c"], n, p=[.6, .3, .1]),
                                                  categories=categories)})
    current = pd.DataFrame({"c": pd.Categorical(rng.choice(["a", "b", "c"], n, p=[.1, .3, .6]),
                                                categories=categories)})
    native = drift_native.dataset_drift(reference, current)
    _same(native, evidently_engine.run(reference, current))
    assert native[0].drifted and not math.isnan(native[0].score)


@pytest.mark.parametrize("kind", ["object", "category"])
def test_infinities_in_object_and_category_columns_are_dropped(evidently_engine,
                                                              kind: str) -> None:
    rng = np.random.default_rng(3)

    def frame(n: int, p: list[float]) -> pd.DataFrame:
        values = rng.choice(["a", "b", "c"], n, p=p).astype(object)
        values[1:4] = [np.inf, -np.inf, np.inf]
        column = pd.Categorical(values) if kind == "category" else values
        return pd.DataFrame({"c": column})

    reference, current = frame(300, [.5, .3, .2]), frame(250, [.4, .3, .3])
    native = drift_native.dataset_drift(reference, current)
    _same(native, evidently_engine.run(reference, current))


def test_int64_above_2_to_the_53_keeps_its_distinct_values(evidently_engine) -> None:
    base = 2**60
    rng = np.random.default_rng(4)
    # 15 distinct integers (5 clusters of 3 neighbours) that are only 5 values as float64.
    values = (base + np.repeat(np.arange(5, dtype=np.int64) * 2**52, 3)
              + np.tile(np.arange(3, dtype=np.int64), 5))
    reference = pd.DataFrame({"big": rng.choice(values, 1500)})
    current = pd.DataFrame({"big": rng.choice(values, 1200)})
    assert pd.Series(values).nunique() == 15
    assert pd.Series(values.astype(float)).nunique() == 5
    native = drift_native.dataset_drift(reference, current)
    theirs = evidently_engine.run(reference, current)
    assert [f.method for f in native] == [f.method for f in theirs] == ["wasserstein"]
    _same(native, theirs)


def test_float16_scores_match_evidently(evidently_engine) -> None:
    rng = np.random.default_rng(6)
    reference = pd.DataFrame({"h": rng.normal(0, 3, 3000).astype("float16")})
    current = pd.DataFrame({"h": rng.normal(0.4, 3, 2000).astype("float16")})
    _same(drift_native.dataset_drift(reference, current),
          evidently_engine.run(reference, current))


@pytest.mark.parametrize("labels", [[0, 1], ["first\nline", "tab\tbed"]])
def test_evidently_engine_takes_integer_and_newline_labels(evidently_engine, labels,
                                                           tmp_path) -> None:
    rng = np.random.default_rng(7)
    reference = pd.DataFrame({labels[0]: rng.normal(0, 1, 300), labels[1]: rng.normal(0, 1, 300)})
    current = pd.DataFrame({labels[0]: rng.normal(1, 1, 200), labels[1]: rng.normal(0, 1, 200)})
    report = tmp_path / "report.json"
    theirs = evidently_engine.run(reference, current, report_path=report)
    native = drift_native.dataset_drift(reference, current)
    assert [f.feature for f in theirs] == [str(label) for label in labels]
    _same(native, theirs)
    assert json.loads(report.read_text())["metrics"]


DECLARED = [("Int64", "numerical"), ("Float64", "numerical"), ("boolean", "categorical"),
            ("uint8", "numerical"), ("Int64", "categorical"), ("mixed", "categorical"),
            ("datetime", "categorical"), ("str_many", "categorical"), ("float64", "categorical"),
            ("int_few", "numerical")]


@pytest.mark.parametrize("large", [False, True])
@pytest.mark.parametrize(("dtype", "kind"), DECLARED, ids=[f"{d}-{k}" for d, k in DECLARED])
def test_declared_types_over_dtypes_match_evidently(evidently_engine, dtype: str, kind: str,
                                                    large: bool) -> None:
    rng = np.random.default_rng(1)
    n_ref, n_cur = (1500, 1200) if large else (300, 200)
    reference = pd.DataFrame({"v": _column(dtype, n_ref, rng, 0.0)})
    current = pd.DataFrame({"v": _column(dtype, n_cur, rng, 0.4)})
    if dtype in ("Int64", "Float64"):
        reference.loc[3, "v"] = pd.NA
    types = {"v": kind}
    _same(drift_native.dataset_drift(reference, current, column_types=types),
          evidently_engine.run(reference, current, column_types=types))


@pytest.mark.parametrize("engine", ["native", "evidently"])
def test_a_non_numeric_dtype_declared_numerical_is_an_input_error(evidently_engine,
                                                                  engine: str) -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"t": _column("timedelta", 100, rng, 0.0)})
    run = drift_native.dataset_drift if engine == "native" else evidently_engine.run
    with pytest.raises(CheckInputError, match=r"'t' is declared numerical.*timedelta"):
        run(frame, frame, column_types={"t": "numerical"})


@pytest.mark.parametrize("declared", [
    {"n": "numerical"}, {"c": "categorical"}, {"n": "numerical", "i": "categorical"},
    {"x": "categorical"}, {"i": "num", "x": "cat"}])
def test_partly_declared_types_test_the_columns_evidentlys_data_definition_tests(
        evidently_engine, declared: dict[str, str]) -> None:
    # Evidently itself, given a DataDefinition that names some columns: a type with declared
    # columns holds exactly those; the other types are inferred. The native engine agrees.
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"n": rng.integers(0, 200, 300).astype("uint8"),
                          "x": rng.normal(0, 1, 300), "c": rng.choice(["a", "b"], 300),
                          "i": rng.integers(0, 3, 300)})
    lists: dict[str, list[str]] = {}
    for column, kind in declared.items():
        name = {"num": "numerical", "cat": "categorical"}.get(kind, kind)
        lists.setdefault(f"{name}_columns", []).append(column)
    definition = DataDefinition(**lists)
    snapshot = Report([DataDriftPreset()]).run(Dataset.from_pandas(frame, definition),
                                               Dataset.from_pandas(frame, definition))
    tested = {m["config"]["column"] for m in snapshot.dict()["metrics"]
              if m["config"]["type"].endswith(":ValueDrift")}
    native = drift_native.dataset_drift(frame, frame, column_types=declared)
    assert {f.feature for f in native} == tested
