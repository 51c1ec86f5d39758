"""Drift on Spark and Dask gives the native engine's document (1e-9 relative), exact where the
statistic is a function of counts or of the value tables, and bounded where it is sketched."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from argoscope.checks import drift_native
from argoscope.checks._engine import DriftOptions
from argoscope.checks.api import Checks, drift_result
from argoscope.checks.results import document
from argoscope.checks.scale.drift import ScaleDrift, ScaleLimits
from tests.checks.scale.conftest import write_parquet
from tests.checks.scale.support import drift_pair, exactness, same, without_exactness


def _documents(engine: tuple[str, Any], folder: Path, reference: pd.DataFrame,
               current: pd.DataFrame, limits: ScaleLimits | None = None,
               **options: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    name, read = engine
    write_parquet(reference, folder / "reference", 5)
    write_parquet(current, folder / "current", 3)
    reference = pd.read_parquet(folder / "reference")  # what pandas reads is the baseline
    current = pd.read_parquet(folder / "current")
    native = drift_native.dataset_drift(reference, current, **options)
    scaled = ScaleDrift(name, limits).run(read(folder / "reference"), read(folder / "current"),
                                          DriftOptions(**options))
    return (document([drift_result("d", native, 0.5, "critical")]),
            document([drift_result("d", scaled, 0.5, "critical")]))


@pytest.mark.parametrize(("n_ref", "n_cur"), [(600, 500), (3000, 2000)])
def test_default_methods_give_the_native_document_exactly(engine, tmp_path, n_ref, n_cur):
    reference, current = drift_pair(n_ref, n_cur, seed=n_ref)
    native, scaled = _documents(engine, tmp_path, reference, current)
    same(native, without_exactness(scaled))
    flags = exactness(scaled)
    assert flags and all(flags)
    assert {True, False} == {f["drifted"] for f in scaled["results"][0]["features"]}


def test_counted_path_matches_the_rows_for_every_exact_method(engine, tmp_path):
    """Beyond `expand_rows` the tests run on counts alone, still equal to the native ones."""
    reference, current = drift_pair(12_000, 11_000, seed=7)
    limits = ScaleLimits(expand_rows=0)
    for run, methods in enumerate([
        {"normal": "ks", "shifted": "wasserstein", "many_ints": "psi", "skewed": "kl_div",
         "few_ints": "jensenshannon", "category": "hellinger", "two_cats": "z",
         "flag": "chisquare"},
        {"normal": "t_test", "shifted": "hellinger", "many_ints": "jensenshannon",
         "skewed": "psi", "few_ints": "kl_div", "category": "chisquare",
         "two_cats": "jensenshannon", "flag": "psi"},
    ]):
        native, scaled = _documents(engine, tmp_path / str(run), reference, current, limits,
                                    columns=list(methods), per_column_method=methods)
        same(native, without_exactness(scaled))
        assert all(exactness(scaled))
        assert [f["method"] for f in scaled["results"][0]["features"]] == list(methods.values())


def test_beyond_the_budget_sketches_carry_a_bound_that_holds(engine, tmp_path):
    rng = np.random.default_rng(3)
    reference = pd.DataFrame({"x": rng.normal(0, 1, 40_000), "y": rng.normal(0, 1, 40_000)})
    current = pd.DataFrame({"x": rng.normal(0.05, 1, 30_000), "y": rng.normal(1, 1, 30_000)})
    limits = ScaleLimits(exact_budget=1000, sketch_k=200)
    for method in ("ks", "wasserstein"):
        native, scaled = _documents(engine, tmp_path / method, reference, current, limits,
                                    method=method)
        for exact, approx in zip(native["results"][0]["features"],
                                 scaled["results"][0]["features"], strict=True):
            assert approx["exact"] is False and approx["error_bound"] >= 0
            assert abs(approx["score"] - exact["score"]) <= approx["error_bound"]
            # Drift is called only when the whole interval is on the drifted side.
            if approx["drifted"]:
                assert exact["drifted"]
        assert [f["drifted"] for f in scaled["results"][0]["features"]] == [False, True]
    # The binned tests stay exact beyond the budget: their histograms are counted.
    native, scaled = _documents(engine, tmp_path / "psi", reference, current, limits,
                                method="psi")
    same(native, without_exactness(scaled))
    assert all(exactness(scaled))


def test_what_cannot_run_at_scale_is_refused_not_approximated(engine, tmp_path):
    reference, current = drift_pair(300, 300, seed=1)
    write_parquet(reference, tmp_path / "r", 2)
    write_parquet(current, tmp_path / "c", 2)
    name, read = engine
    with Checks(path=tmp_path / "out.json") as checks:
        result = checks.drift(read(tmp_path / "r"), read(tmp_path / "c"), columns=["category"],
                              method="TVD", severity="warning")
    assert result.status == "error" and "row order" in result.message
    small = ScaleDrift(name, ScaleLimits(exact_budget=50, expand_rows=0))
    with pytest.raises(Exception, match="exact budget"):
        small.run(read(tmp_path / "r"), read(tmp_path / "c"),
                  DriftOptions(columns=["normal"], method="anderson"))


def test_the_api_routes_a_distributed_frame_to_its_engine(engine, tmp_path):
    reference, current = drift_pair(800, 700, seed=5)
    write_parquet(reference, tmp_path / "r", 3)
    write_parquet(current, tmp_path / "c", 2)
    name, read = engine
    checks = Checks(path=tmp_path / "out.json")
    routed = checks.drift(read(tmp_path / "r"), read(tmp_path / "c"), severity="warning")
    native = checks.drift(pd.read_parquet(tmp_path / "r"), pd.read_parquet(tmp_path / "c"),
                          severity="warning")
    same(native.to_dict(), without_exactness(routed.to_dict()))
    assert all(f.exact for f in routed.features)
    wrong = checks.drift(read(tmp_path / "r"), read(tmp_path / "c"), engine="evidently")
    assert wrong.status == "error" and f"engine={name!r}" in wrong.message
    assert not math.isnan(routed.value or 0.0)
