"""Bounded tables of counter and histogram values, keyed by label tuples.

Counters and histograms outlive the objects they count (a deleted run still counted), so they
are accumulated here rather than recomputed; every table is capped, and a series refused by a
cap is counted in `argoscope_exporter_series_dropped_total`, never silently lost.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field

from argoscope.exporter.families import Family

Labels = tuple[str, ...]
DropHook = Callable[[str], None]


@dataclass(slots=True)
class _Histogram:
    counts: list[int]
    total: float = 0.0


class CounterTable:
    """Monotonic values per label tuple, capped in the number of label tuples."""

    def __init__(self, family: Family, max_series: int, on_drop: DropHook) -> None:
        self.family = family
        self._max_series = max_series
        self._on_drop = on_drop
        self._values: dict[Labels, float] = {}

    def inc(self, labels: Labels, amount: float = 1.0) -> None:
        """Add `amount` to the series `labels` (created if the cap allows)."""
        if labels in self._values:
            self._values[labels] += amount
        elif len(self._values) < self._max_series:
            self._values[labels] = amount
        else:
            self._on_drop(self.family.name)

    def snapshot(self) -> list[tuple[Labels, float]]:
        """Every series and its value, copied (taken under the owner's lock, rendered after)."""
        return list(self._values.items())


class HistogramTable:
    """Histograms per label tuple with the family's fixed buckets, capped like counters."""

    def __init__(self, family: Family, max_series: int, on_drop: DropHook) -> None:
        self.family = family
        self._bounds = family.buckets
        self._max_series = max_series
        self._on_drop = on_drop
        self._values: dict[Labels, _Histogram] = {}
        # The `le` label of each bucket, as the exposition writes it.
        self.bucket_names = [_float_text(bound) for bound in self._bounds] + ["+Inf"]

    def observe(self, labels: Labels, value: float) -> None:
        """Record one observation."""
        histogram = self._values.get(labels)
        if histogram is None:
            if len(self._values) >= self._max_series:
                self._on_drop(self.family.name)
                return
            histogram = self._values[labels] = _Histogram([0] * (len(self._bounds) + 1))
        histogram.counts[bisect.bisect_left(self._bounds, value)] += 1
        histogram.total += value

    def snapshot(self) -> list[tuple[Labels, list[int], float]]:
        """Every series' per-bucket counts and sum, copied (taken under the owner's lock)."""
        return [(labels, list(h.counts), h.total) for labels, h in self._values.items()]


@dataclass(slots=True)
class LabelBudget:
    """Caps the distinct label tuples a computed (gauge) family may emit in one scrape."""

    family: Family
    max_series: int
    on_drop: DropHook
    seen: set[Labels] = field(default_factory=set)

    def admit(self, labels: Labels) -> bool:
        """True if the series may be emitted; counts a drop otherwise."""
        if labels in self.seen:
            return True
        if len(self.seen) < self.max_series:
            self.seen.add(labels)
            return True
        self.on_drop(self.family.name)
        return False


def _float_text(value: float) -> str:
    return repr(float(value))
