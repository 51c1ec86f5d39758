"""Typed rendering of computed values into prometheus_client families, one helper per kind.

Every collector builds its families here, from values it snapshotted under its own lock, so
rendering (and the HTTP response after it) never holds a lock. A gauge may pass a
`LabelBudget`: series past the family's cap are counted as dropped, never exported.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from argoscope.exporter.families import Family
from argoscope.exporter.series import LabelBudget

Labels = tuple[str, ...]


class Collectable(Protocol):
    """A part that serves families: `collect()`, and where present `describe()` naming them
    (so a registry refuses a family another part already serves)."""

    def collect(self) -> Iterable[Metric]:
        """Families built fresh for one scrape."""


def gauge(family: Family, values: Iterable[tuple[Labels, float]],
          budget: LabelBudget | None = None) -> GaugeMetricFamily:
    """A gauge family holding `values` in the order given, capped by `budget` if any."""
    metric = family.gauge()
    if budget is None:
        for labels, value in values:
            metric.add_metric(labels, value)
    else:
        for labels, value in values:
            if budget.admit(labels):
                metric.add_metric(labels, value)
    return metric


def counter(family: Family, values: Iterable[tuple[Labels, float]]) -> CounterMetricFamily:
    """A counter family holding `values` (already capped where they were accumulated)."""
    metric = family.counter()
    for labels, value in values:
        metric.add_metric(labels, value)
    return metric


def histogram(family: Family, bucket_names: Sequence[str],
              values: Iterable[tuple[Labels, Sequence[int], float]]) -> HistogramMetricFamily:
    """A histogram family from per-bucket (not cumulative) counts and the sum, per series."""
    metric = family.histogram()
    for labels, counts, total in values:
        cumulative = 0
        buckets: list[tuple[str, float]] = []
        for name, count in zip(bucket_names, counts, strict=True):
            cumulative += count
            buckets.append((name, cumulative))
        metric.add_metric(labels, buckets, total)
    return metric
