"""Drift tests computed from merged value-count tables, without the rows: exact.

Each function is its `drift_stattests` counterpart rewritten over counts: a table (value ->
count, sorted by value) is the sorted sample run-length encoded, so every statistic of the
sample's order or its category counts is a function of it. `tests/checks/scale` holds each
equal to the native test on the same rows (1e-9 relative).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

import numpy as np
import pandas as pd

from argoscope.checks.drift_stattests import CATEGORICAL, NUMERICAL, _rel_entr_sum
from argoscope.checks.results import CheckInputError
from argoscope.checks.scale.summary import Moments

Table: TypeAlias = pd.Series  # value -> count, sorted by value


def aligned(reference: Table, current: Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both tables' counts over the union of their values, in value order."""
    keys = reference.index.union(current.index)
    return (keys.to_numpy(), reference.reindex(keys, fill_value=0).to_numpy(dtype=float),
            current.reindex(keys, fill_value=0).to_numpy(dtype=float))


def _span(low: object, high: object) -> float | int:
    """`high - low` without wrapping around, as numpy's `_unsigned_subtract`."""
    if isinstance(low, np.integer) and isinstance(high, np.integer):
        return int(high) - int(low)
    return high - low  # type: ignore[operator,no-any-return]


def sturges_edges(n: int, low: object, high: object, dtype: np.dtype) -> np.ndarray:
    """`np.histogram_bin_edges(values, "sturges")` for `n` values from `low` to `high` of
    `dtype`, without the values (numpy's own steps: outer edges, width, linspace)."""
    first, last = dtype.type(low), dtype.type(high)
    width = _span(first, last) / (np.log2(n) + 1.0)
    if first == last:
        first, last = first - 0.5, last + 0.5
    if width:
        if dtype.kind in "iu" and width < 1:
            width = 1
        bins = int(np.ceil(_span(first, last) / width))
    else:
        bins = 1
    bin_type = np.result_type(first, last, np.empty(0, dtype=dtype))
    if np.issubdtype(bin_type, np.integer):
        bin_type = np.result_type(bin_type, float)
    return np.linspace(first, last, bins + 1, endpoint=True, dtype=bin_type)


def histogram(table: Table, edges: np.ndarray) -> np.ndarray:
    """Counts per bin, as `np.histogram(values, edges)[0]` over the expanded values."""
    return np.histogram(table.index.to_numpy(), edges, weights=table.to_numpy(dtype=float))[0]


def shares(reference: Table, current: Table, kind: str, fill_zeroes: bool,
           edges: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Evidently's `get_binned_data` from tables: Sturges bins over both samples for a
    numerical column with more than 20 reference values, else the category shares."""
    n_ref, n_cur = float(reference.sum()), float(current.sum())
    if kind == NUMERICAL and len(reference) > 20:
        if edges is None:
            keys = reference.index.union(current.index)
            edges = sturges_edges(int(n_ref + n_cur), keys.min(), keys.max(),
                                  np.result_type(reference.index.dtype, current.index.dtype))
        ref_pct, cur_pct = histogram(reference, edges) / n_ref, histogram(current, edges) / n_cur
    else:
        _, ref_counts, cur_counts = aligned(reference, current)
        ref_pct, cur_pct = ref_counts / n_ref, cur_counts / n_cur
    return fill(ref_pct, cur_pct) if fill_zeroes else (ref_pct, cur_pct)


def fill(ref_pct: np.ndarray, cur_pct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Evidently's zero filling of binned shares."""
    for pct in (ref_pct, cur_pct):
        smallest = pct[pct != 0].min()
        np.place(pct, pct == 0, smallest / 10**6 if smallest <= 0.0001 else 0.0001)
    return ref_pct, cur_pct


def jensenshannon_of(p: np.ndarray, q: np.ndarray) -> float:
    p, q = p / np.sum(p), q / np.sum(q)
    middle = (p + q) / 2.0
    return float(np.sqrt((_rel_entr_sum(p, middle) + _rel_entr_sum(q, middle)) / 2.0))


def psi_of(ref_pct: np.ndarray, cur_pct: np.ndarray) -> float:
    return float(np.sum((ref_pct - cur_pct) * np.log(ref_pct / cur_pct)))


def kl_of(ref_pct: np.ndarray, cur_pct: np.ndarray) -> float:
    return _rel_entr_sum(ref_pct / np.sum(ref_pct), cur_pct / np.sum(cur_pct))


def hellinger_of(reference: Table, current: Table, kind: str) -> float:
    n_ref, n_cur = float(reference.sum()), float(current.sum())
    keys, ref_counts, cur_counts = aligned(reference, current)
    if kind == CATEGORICAL:
        overlap = np.sum(np.sqrt(ref_counts / n_ref * (cur_counts / n_cur)))
    else:
        bins = np.histogram_bin_edges(keys, bins="sturges")
        h1 = np.histogram(keys, bins=bins, weights=ref_counts, density=True)[0]
        h2 = np.histogram(keys, bins=bins, weights=cur_counts, density=True)[0]
        width = (max(bins) - min(bins)) / (len(bins) - 1)
        overlap = np.sum(np.sqrt(h1 * h2) * width)
    return float(np.sqrt(1 - np.clip(overlap, 0, 1)))


def chisquare_of(reference: Table, current: Table) -> float:
    from scipy.special import chdtrc

    _, ref_counts, cur_counts = aligned(reference, current)
    expected = ref_counts * (cur_counts.sum() / ref_counts.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = np.sum((cur_counts - expected) ** 2 / expected)
    return float(chdtrc(len(cur_counts) - 1, statistic))


def z_of(reference: Table, current: Table) -> float:
    from scipy.special import ndtr

    if len(reference) == 1 and len(current) == 1 and reference.index[0] == current.index[0]:
        return 1.0
    first = sorted(set(reference.index) | set(current.index))[0]
    n1, n2 = float(reference.sum()), float(current.sum())
    p1 = (n1 - float(reference.get(first, 0))) / n1
    p2 = (n2 - float(current.get(first, 0))) / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return float(2 * (1 - ndtr(np.abs(z))))


def g_test_of(reference: Table, current: Table) -> float:
    import scipy.stats

    _, ref_counts, cur_counts = aligned(reference, current)
    try:
        return float(scipy.stats.power_divergence(cur_counts, ref_counts,
                                                  lambda_="log-likelihood")[1])
    except ValueError as exc:
        raise CheckInputError(f"g_test: {exc}") from None


def fisher_of(reference: Table, current: Table) -> float:
    import scipy.stats

    if len(reference) > 2 or len(current) > 2:
        raise CheckInputError("fisher_exact needs binary data, but found more than 2 categories")
    n_ref, n_cur = int(reference.sum()), int(current.sum())
    if n_ref != n_cur:
        raise CheckInputError("fisher_exact needs reference and current data of equal length")
    first = reference.index.union(current.index)[0]
    one_ref, one_cur = int(reference.get(first, 0)), int(current.get(first, 0))
    table = np.array([[one_cur, n_cur - one_cur], [one_ref, n_ref - one_ref]])
    return float(scipy.stats.fisher_exact(table)[1])


def ks_distance(reference: Table, current: Table) -> float:
    """The largest gap between the two empirical CDFs."""
    _, ref_counts, cur_counts = aligned(reference, current)
    gaps = np.cumsum(ref_counts) / ref_counts.sum() - np.cumsum(cur_counts) / cur_counts.sum()
    return float(max(np.max(gaps), np.clip(-np.min(gaps), 0, 1)))


def ks_p_value(distance: float, n_ref: int, n_cur: int) -> float:
    """scipy's asymptotic two-sided `ks_2samp` p-value (its choice above 10,000 values)."""
    import scipy.stats

    m, n = sorted([float(n_ref), float(n_cur)], reverse=True)
    return float(np.clip(scipy.stats.kstwo.sf(distance, np.round(m * n / (m + n))), 0, 1))


def wasserstein_of(reference: Table, current: Table, norm: float) -> float:
    keys, ref_counts, cur_counts = aligned(reference, current)
    ref_cdf = np.cumsum(ref_counts)[:-1] / ref_counts.sum()
    cur_cdf = np.cumsum(cur_counts)[:-1] / cur_counts.sum()
    steps = np.diff(np.asarray(keys, dtype=float))
    return float(np.sum(np.abs(ref_cdf - cur_cdf) * steps) / norm)


def t_test_of(reference: Moments, current: Moments) -> float:
    """scipy's `ttest_ind` (equal variances) from each sample's count, mean and spread."""
    import scipy.stats

    return float(scipy.stats.ttest_ind_from_stats(
        reference.mean, np.sqrt(reference.m2 / (reference.n - 1)), reference.n,
        current.mean, np.sqrt(current.m2 / (current.n - 1)), current.n)[1])


# Exact from the tables alone, at any row count.
FROM_TABLES: dict[str, Callable[[Table, Table, str], float]] = {
    "chisquare": lambda r, c, kind: chisquare_of(r, c),
    "z": lambda r, c, kind: z_of(r, c),
    "jensenshannon": lambda r, c, kind: jensenshannon_of(*shares(r, c, kind, False)),
    "psi": lambda r, c, kind: psi_of(*shares(r, c, kind, True)),
    "kl_div": lambda r, c, kind: kl_of(*shares(r, c, kind, True)),
    "hellinger": hellinger_of,
    "g_test": lambda r, c, kind: g_test_of(r, c),
    "fisher_exact": lambda r, c, kind: fisher_of(r, c),
}
