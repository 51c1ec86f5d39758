"""The distributions a drift check captures for its step report: shared bins, shares, exact
summaries, bounded cost."""

from __future__ import annotations

import numpy as np
import pandas as pd

from argoscope.checks import distributions


def test_numerical_columns_share_bins_spanning_both_samples() -> None:
    reference = pd.Series([0.0, 1.0, 2.0, np.nan, np.inf])
    current = pd.Series([5.0, 6.0, 10.0])
    found = distributions.numerical("x", reference, current, bins=5)
    assert found.edges[0] == 0.0 and found.edges[-1] == 10.0
    assert found.reference == [2 / 3, 1 / 3, 0.0, 0.0, 0.0]  # shares of the finite values
    assert abs(sum(found.current) - 1.0) < 1e-12
    assert found.reference_summary.count == 3 and found.reference_summary.missing == 2
    assert found.current_summary.maximum == 10.0 and found.sampled is None


def test_large_samples_bin_an_evenly_spaced_sample_but_summaries_use_every_row() -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(0, 1, 4 * distributions.BIN_SAMPLE)
    found = distributions.numerical("x", pd.Series(values), pd.Series(values + 1))
    assert found.sampled is not None and found.sampled <= distributions.BIN_SAMPLE
    assert found.reference_summary.count == values.size
    assert found.reference_summary.mean == values.mean()
    exact, _ = np.histogram(values, bins=found.edges)
    assert np.allclose(found.reference, exact / values.size, atol=0.005)


def test_categorical_columns_keep_the_most_frequent_and_fold_the_rest() -> None:
    reference = pd.Series([f"c{i % 30}" for i in range(300)] + [None])
    current = pd.Series([f"c{i % 5}" for i in range(300)])
    found = distributions.categorical("c", reference, current, top=4)
    assert found.labels[:4] == ["c0", "c1", "c2", "c3"] and found.labels[-1] == distributions.OTHER
    assert abs(sum(found.reference) - 1.0) < 1e-12 and abs(sum(found.current) - 1.0) < 1e-12
    assert found.reference_summary.missing == 1


def test_distributions_follow_the_drift_engines_column_kinds() -> None:
    frame = pd.DataFrame({"n": [1.0, 2.0, 3.0], "b": [True, False, True], "s": ["a", "b", "a"]})
    kinds = {d.feature: d.kind for d in distributions.distributions(frame, frame, ["n", "b", "s", "gone"])}
    assert kinds == {"n": "numerical", "b": "categorical", "s": "categorical"}
