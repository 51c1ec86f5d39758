"""Comparing documents from the in-memory engines with documents from Spark and Dask."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

EXACTNESS = ("exact", "error_bound")


def without_exactness(entry: Any) -> Any:
    """The document with `exact` and `error_bound` taken out, everywhere."""
    if isinstance(entry, dict):
        return {k: without_exactness(v) for k, v in entry.items() if k not in EXACTNESS}
    if isinstance(entry, list):
        return [without_exactness(v) for v in entry]
    return entry


def same(native: Any, scaled: Any, path: str = "") -> None:
    """Equal documents, numbers within 1e-9 relative."""
    if isinstance(native, dict):
        assert isinstance(scaled, dict) and native.keys() == scaled.keys(), path
        for key in native:
            same(native[key], scaled[key], f"{path}.{key}")
    elif isinstance(native, list):
        assert isinstance(scaled, list) and len(native) == len(scaled), path
        for index, (a, b) in enumerate(zip(native, scaled, strict=True)):
            same(a, b, f"{path}[{index}]")
    elif isinstance(native, float) and not isinstance(native, bool):
        assert isinstance(scaled, (int, float)), path
        assert math.isclose(native, scaled, rel_tol=1e-9, abs_tol=1e-12), (path, native, scaled)
    else:
        assert native == scaled, (path, native, scaled)


def exactness(entry: Any) -> list[bool]:
    """Every `exact` flag in a document, in order."""
    if isinstance(entry, dict):
        return ([entry["exact"]] if "exact" in entry else []) + \
            [flag for value in entry.values() for flag in exactness(value)]
    if isinstance(entry, list):
        return [flag for value in entry for flag in exactness(value)]
    return []


def drift_pair(n_ref: int, n_cur: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two samples with every column shape the default method choice tells apart."""
    rng = np.random.default_rng(seed)

    def frame(n: int, shift: float) -> pd.DataFrame:
        gaps = rng.normal(shift, 1, n)
        gaps[rng.choice(n, max(1, n // 20), replace=False)] = np.nan
        gaps[0] = np.inf
        return pd.DataFrame({
            "normal": rng.normal(0, 1, n),
            "shifted": rng.normal(shift, 1, n),
            "gaps_and_inf": gaps,
            "constant": np.full(n, 2.0),
            "few_ints": rng.integers(0, 4 if shift else 3, n),
            "binary": rng.integers(0, 2, n),
            "many_ints": rng.integers(0, 60, n),
            "skewed": rng.exponential(1 + shift, n).round(2),
            "category": rng.choice(["a", "b", "c"] if not shift else ["a", "b", "c", "d"], n),
            "two_cats": rng.choice(["yes", "no"], n, p=[0.5, 0.5] if not shift else [0.8, 0.2]),
            "flag": rng.random(n) < (0.5 + shift / 4),
            "odd name.with dots": rng.gamma(2 + shift, 1, n),  # Spark must quote it
        })

    return frame(n_ref, 0.0), frame(n_cur, 0.7)
