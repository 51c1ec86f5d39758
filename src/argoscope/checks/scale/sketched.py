"""Order statistics from KLL sketches, each with the bound on how far it can be from the exact.

Both CDFs are read at a grid of points: the quantiles of both sketches at `GRID` evenly spaced
ranks. Every CDF value read is within the sketch's rank error `e` of the exact one (KLL's 99%
guarantee), and between grid points each CDF moves by at most 1/GRID plus that error, so:

- KS distance: |D - D_exact| <= e_ref + e_cur + 2/GRID (the bound DataSketches' own KS test
  adds to its threshold, plus the grid step); the p-value's bound is the p-value's range over
  that interval of distances;
- Wasserstein distance (normed): |W - W_exact| <= (e_ref + e_cur + 2/GRID) * (max - min) / norm,
  with min, max and the norm (the reference's standard deviation) exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from argoscope.checks.scale import sketch
from argoscope.checks.scale.counted import ks_p_value

GRID = 2000


@dataclass(frozen=True, slots=True)
class Estimate:
    """A statistic read from sketches: its value and how far the exact one can be."""

    value: float
    bound: float
    exact: bool = False  # the sketches still held every value (then the bound is 0)


def _cdfs(reference: bytes, current: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    ref, cur = sketch.load(reference), sketch.load(current)
    ranks = np.linspace(0.0, 1.0, GRID + 1)
    points = np.unique(np.concatenate([ref.get_quantiles(ranks), cur.get_quantiles(ranks)]))
    ref_cdf = np.asarray(ref.get_cdf(points, True)[:-1])
    cur_cdf = np.asarray(cur.get_cdf(points, True)[:-1])
    error = sketch.rank_error(reference) + sketch.rank_error(current)
    return points, ref_cdf, cur_cdf, error + (2.0 / GRID if error else 0.0)


def ks_distance(reference: bytes, current: bytes) -> Estimate:
    """The KS distance between the two sketched samples."""
    _, ref_cdf, cur_cdf, bound = _cdfs(reference, current)
    return Estimate(float(np.max(np.abs(ref_cdf - cur_cdf))), bound, bound == 0)


def ks_p_value_estimate(reference: bytes, current: bytes, n_ref: int, n_cur: int
                        ) -> tuple[Estimate, float]:
    """The KS p-value with its bound, and the largest p-value the bound allows (the verdict
    calls drift only when even that one is below the threshold)."""
    distance = ks_distance(reference, current)
    p = ks_p_value(distance.value, n_ref, n_cur)
    highest = ks_p_value(max(distance.value - distance.bound, 0.0), n_ref, n_cur)
    lowest = ks_p_value(min(distance.value + distance.bound, 1.0), n_ref, n_cur)
    return Estimate(p, max(highest - p, p - lowest), distance.exact), highest


def wasserstein(reference: bytes, current: bytes, low: float, high: float,
                norm: float) -> Estimate:
    """The normed Wasserstein distance between the two sketched samples."""
    points, ref_cdf, cur_cdf, bound = _cdfs(reference, current)
    distance = float(np.sum(np.abs(ref_cdf[:-1] - cur_cdf[:-1]) * np.diff(points)) / norm)
    return Estimate(distance, bound * (float(high) - float(low)) / norm, bound == 0)
