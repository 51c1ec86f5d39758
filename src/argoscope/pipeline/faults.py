"""Faults the ingestion step can inject, so the demo (and tests) can show what breaks.

- covariate shift: chosen features of the incoming (current) batch move by a number of their
  standard deviations, as when an upstream sensor or unit changes;
- nulls: a fraction of chosen features' values in the current batch go missing;
- label noise: a fraction of the training labels are flipped;
- a crash: `transient` fails only the first attempt (Argo's retry recovers it),
  `permanent` fails every attempt (retries run out).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

CRASH_MODES = ("none", "transient", "permanent")


class InjectedCrash(Exception):
    """The crash the `crash` fault asked for."""


@dataclass(frozen=True)
class Faults:
    """The faults of one run; the defaults inject nothing."""

    shift_features: tuple[str, ...] = ()
    shift_scale: float = 0.0
    null_features: tuple[str, ...] = ()
    null_fraction: float = 0.0
    label_noise: float = 0.0
    crash: str = "none"

    def __post_init__(self) -> None:
        if self.crash not in CRASH_MODES:
            raise ValueError(f"crash: must be one of {', '.join(CRASH_MODES)}, not {self.crash!r}")
        for name in ("null_fraction", "label_noise"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name.replace('_', '-')}: must be between 0 and 1, not {value}")

    def describe(self) -> dict[str, Any]:
        """The faults as plain JSON, for the run's metadata."""
        return asdict(self)


def patterns(text: str) -> tuple[str, ...]:
    """A comma-separated list of feature names or shell patterns (`mean *`); blanks dropped."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def select(columns: Sequence[str], wanted: Sequence[str], what: str) -> list[str]:
    """The columns matching any of `wanted`; a pattern that matches nothing is an error."""
    chosen: list[str] = []
    for pattern in wanted:
        matched = [column for column in columns if fnmatch.fnmatchcase(column, pattern)]
        if not matched:
            raise ValueError(f"{what}: {pattern!r} matches no feature "
                             f"(features: {', '.join(columns)})")
        chosen.extend(column for column in matched if column not in chosen)
    return chosen


def check_crash(crash: str, attempt: int) -> None:
    """Raise the injected crash: on the first attempt when transient, on all when permanent."""
    if crash == "permanent" or (crash == "transient" and attempt == 0):
        raise InjectedCrash(f"injected {crash} crash on attempt {attempt}: data source unavailable")


def apply_to_current(current: pd.DataFrame, reference: pd.DataFrame, faults: Faults,
                     features: Sequence[str], rng: np.random.Generator) -> pd.DataFrame:
    """The incoming batch with covariate shift and nulls applied (measured on the reference)."""
    current = current.copy()
    for column in select(features, faults.shift_features, "shift-features"):
        current[column] = current[column] + faults.shift_scale * float(reference[column].std())
    if faults.null_fraction > 0:
        for column in select(features, faults.null_features or ("*",), "null-features"):
            mask = rng.random(len(current)) < faults.null_fraction
            current.loc[mask, column] = float("nan")
    return current


def flip_labels(labels: pd.Series, fraction: float, rng: np.random.Generator) -> pd.Series:
    """`fraction` of the labels replaced by a different class, chosen at random."""
    if fraction <= 0:
        return labels
    labels = labels.copy()
    classes = sorted(labels.unique())
    flip = rng.random(len(labels)) < fraction
    for index in labels.index[flip]:
        others = [c for c in classes if c != labels.at[index]]
        labels.at[index] = others[int(rng.integers(len(others)))]
    return labels
