"""Apache DataSketches' KLL quantile sketch, kept serialised so states pickle between processes.

The rank error of a KLL sketch is what `normalized_rank_error(False)` reports: with 99%
confidence, every rank (CDF value) read from it is within that much of the true rank. It
depends only on `k` (the sketch's size), not on how many values went in.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DEFAULT_K = 1000


def _kll() -> Any:
    try:
        from datasketches import kll_doubles_sketch
    except ImportError:  # pragma: no cover - the extra installs it
        from argoscope.checks.results import CheckInputError

        raise CheckInputError("checks at scale need Apache DataSketches: pip install "
                              "'argoscope[spark]' or 'argoscope[dask]'") from None
    return kll_doubles_sketch


def of(values: np.ndarray, k: int) -> bytes:
    """A sketch of `values` (finite floats), serialised."""
    built = _kll()(k)
    built.update(np.ascontiguousarray(values, dtype=float))
    return bytes(built.serialize())


def load(data: bytes) -> Any:
    """The sketch object behind `data`."""
    return _kll().deserialize(data)


def merge(a: bytes | None, b: bytes | None) -> bytes | None:
    """Both sketches as one."""
    if a is None:
        return b
    if b is None:
        return a
    merged = load(a)
    merged.merge(load(b))
    return bytes(merged.serialize())


def rank_error(data: bytes) -> float:
    """The sketch's rank error (0 when it still holds every value: then it is exact)."""
    built = load(data)
    return float(built.normalized_rank_error(False)) if built.is_estimation_mode() else 0.0
