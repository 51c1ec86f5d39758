"""The native drift engine reproduces Evidently 0.7's DataDriftPreset: methods, thresholds,
scores (1e-6 relative), verdicts and drifted counts, on many shapes of data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from argoscope.checks import drift_native
from argoscope.checks.api import drift_result


def _pair(n_ref: int, n_cur: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def frame(n: int, shift: float) -> pd.DataFrame:
        with_gaps = rng.normal(shift, 1, n)
        with_gaps[rng.choice(n, max(1, n // 20), replace=False)] = np.nan
        with_gaps[0] = np.inf
        return pd.DataFrame({
            "normal": rng.normal(0, 1, n),
            "shifted": rng.normal(shift, 1, n),
            "gaps_and_inf": with_gaps,
            "constant": np.full(n, 2.0),
            "few_ints": rng.integers(0, 4 if shift else 3, n),
            "binary": rng.integers(0, 2, n),
            "skewed": rng.exponential(1 + shift, n),
            "category": rng.choice(["a", "b", "c"] if not shift else ["a", "b", "c", "d"], n),
            "two_cats": rng.choice(["yes", "no"], n, p=[0.5, 0.5] if not shift else [0.8, 0.2]),
            "many_cats": rng.choice([f"k{i}" for i in range(40)], n),
        })

    return frame(n_ref, 0.0), frame(n_cur, 0.7)


def _close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)


def _assert_parity(native, reference) -> None:
    assert [f.feature for f in native] == [f.feature for f in reference]
    for ours, theirs in zip(native, reference, strict=True):
        assert ours.method == theirs.method, ours.feature
        assert ours.threshold == pytest.approx(theirs.threshold), ours.feature
        assert _close(ours.score, theirs.score), (ours.feature, ours.score, theirs.score)
        assert ours.drifted == theirs.drifted, ours.feature
    ours, theirs = drift_result("d", native, 0.5, "critical"), drift_result(
        "d", reference, 0.5, "critical")
    assert (ours.status, ours.details) == (theirs.status, theirs.details)


@pytest.mark.parametrize(("n_ref", "n_cur", "expected_methods"), [
    (400, 300, {"ks", "chisquare", "z"}),                   # small reference: p-value tests
    (3000, 2000, {"wasserstein", "jensenshannon"}),        # large reference: distances
    # The 1,000-row boundary with a tiny current: 40 values of 40 categories are text to
    # Evidently's inference, so that column goes through Evidently's text drift.
    (1000, 40, {"ks", "chisquare", "z", "perc_text_content_drift"}),
])
def test_default_methods_match_evidently(evidently_engine, n_ref, n_cur, expected_methods):
    reference, current = _pair(n_ref, n_cur, seed=n_ref)
    native = drift_native.dataset_drift(reference, current)
    _assert_parity(native, evidently_engine.run(reference, current))
    assert {f.method for f in native} == expected_methods
    assert {True, False} == {f.drifted for f in native}


def test_requested_methods_thresholds_and_per_column_overrides(evidently_engine):
    reference, current = _pair(2500, 1500, seed=3)
    columns = ["normal", "shifted", "skewed", "category", "many_cats", "few_ints"]
    options = {"method": "psi", "threshold": 0.2,
               "per_column_method": {"normal": "jensenshannon", "few_ints": "jensenshannon"},
               "per_column_threshold": {"shifted": 0.05, "many_cats": 0.01}}
    native = drift_native.dataset_drift(reference, current, columns, **options)
    _assert_parity(native, evidently_engine.run(reference, current, columns, **options))
    assert {f.method for f in native} == {"psi", "jensenshannon"}
    assert {f.threshold for f in native} == {0.2, 0.05, 0.01}


def test_scikit_learn_dataset_matches_evidently(evidently_engine):
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    columns = list(frame.columns[:12])
    reference = frame[frame["target"] == 1][columns]   # benign cases as the reference ...
    current = frame[frame["target"] == 0][columns]     # ... against malignant ones: drift
    native = drift_native.dataset_drift(reference, current)
    _assert_parity(native, evidently_engine.run(reference, current))
    assert drift_result("d", native, 0.5, "critical").status == "failed"


def test_empty_column_is_bad_input_naming_it():
    reference = pd.DataFrame({"x": [np.nan, np.inf]})
    with pytest.raises(ValueError, match=r"'x'.*reference"):
        drift_native.dataset_drift(reference, pd.DataFrame({"x": [1.0]}))
    with pytest.raises(ValueError, match="'y' is not in the current data"):
        drift_native.dataset_drift(pd.DataFrame({"y": [1.0]}), pd.DataFrame({"x": [1.0]}))


def test_api_runs_evidently_on_request_and_keeps_its_report(evidently_engine, tmp_path):
    from argoscope.checks import Checks

    reference, current = _pair(300, 300, seed=11)
    checks = Checks(step="s", path=tmp_path / "c.json", env={})
    report = tmp_path / "report.json"
    theirs = checks.drift(reference, current, name="via_evidently", engine="evidently",
                          report_path=report)
    ours = checks.drift(reference, current, name="native")
    assert theirs.status == ours.status and theirs.details == ours.details
    _assert_parity(ours.features, theirs.features)
    assert "DriftedColumnsCount" in report.read_text()
