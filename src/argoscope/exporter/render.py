"""Typed rendering of computed values into prometheus_client families, one helper per kind.

Every collector builds its families here, from values it snapshotted under its own lock, so
rendering (and the HTTP response after it) never holds a lock. A gauge may pass a
`LabelBudget`: series past the family's cap are counted as dropped, never exported.

The families returned keep their series as typed rows (`rows`: labels and value) and build
prometheus_client samples only when something reads `samples`: the server's exposition cache
(`exposition.py`) renders from the rows and re-renders only the series whose value changed,
while `generate_latest` and every other reader of `samples` see ordinary families.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.samples import Sample

from argoscope.exporter.families import Family
from argoscope.exporter.series import LabelBudget

Labels = tuple[str, ...]
# A gauge or counter row: (labels, value); a histogram row: (labels, per-bucket counts, sum).
Row = tuple[Any, ...]


class Collectable(Protocol):
    """A part that serves families: `collect()`, and where present `describe()` naming them
    (so a registry refuses a family another part already serves)."""

    def collect(self) -> Iterable[Metric]:
        """Families built fresh for one scrape."""


class _Rows:
    """A family holding typed rows; its samples are built from them on first read."""

    rows: list[Row]
    bucket_names: Sequence[str] = ()

    def _init_rows(self, rows: list[Row]) -> None:
        self.__dict__["_pending"] = True
        self.rows = rows

    @property
    def samples(self) -> list[Sample]:
        """The prometheus_client samples, built from `rows` the first time they are read."""
        state = self.__dict__
        if state.get("_pending"):
            state["_pending"] = False
            for row in self.rows:
                self._add_row(row)
        return state["_samples"]  # type: ignore[no-any-return]

    @samples.setter
    def samples(self, value: list[Sample]) -> None:
        # Set by Metric.__init__ and by whoever replaces the samples (the server's fallback
        # for a label that cannot be encoded): the rows no longer describe them.
        self.__dict__["_samples"] = value
        self.__dict__["_pending"] = False
        if value:
            self.__dict__["rows_stale"] = True

    def _add_row(self, row: Row) -> None:
        raise NotImplementedError


class TypedGauge(_Rows, GaugeMetricFamily):
    """A gauge family built from (labels, value) rows."""

    def _add_row(self, row: Row) -> None:
        self.add_metric(row[0], row[1])


class TypedCounter(_Rows, CounterMetricFamily):
    """A counter family built from (labels, value) rows."""

    def _add_row(self, row: Row) -> None:
        self.add_metric(row[0], row[1])


class TypedHistogram(_Rows, HistogramMetricFamily):
    """A histogram family built from (labels, per-bucket counts, sum) rows."""

    def _add_row(self, row: Row) -> None:
        labels, counts, total = row
        self.add_metric(labels, cumulative(self.bucket_names, counts), total)


def cumulative(bucket_names: Sequence[str], counts: Sequence[int]) -> list[tuple[str, float]]:
    """The (le, cumulative count) buckets of per-bucket counts."""
    running = 0
    buckets: list[tuple[str, float]] = []
    for name, count in zip(bucket_names, counts, strict=True):
        running += count
        buckets.append((name, running))
    return buckets


def gauge(family: Family, values: Iterable[tuple[Labels, float]],
          budget: LabelBudget | None = None) -> GaugeMetricFamily:
    """A gauge family holding `values` in the order given, capped by `budget` if any."""
    family._expect("gauge")
    metric = TypedGauge(family.name, family.help, labels=family.labels)
    if budget is None:
        rows: list[Row] = list(values)
    else:
        admit = budget.admit
        rows = [row for row in values if admit(row[0])]
    metric._init_rows(rows)
    return metric


def counter(family: Family, values: Iterable[tuple[Labels, float]]) -> CounterMetricFamily:
    """A counter family holding `values` (already capped where they were accumulated)."""
    family._expect("counter")
    metric = TypedCounter(family.name, family.help, labels=family.labels)
    metric._init_rows(list(values))
    return metric


def histogram(family: Family, bucket_names: Sequence[str],
              values: Iterable[tuple[Labels, Sequence[int], float]]) -> HistogramMetricFamily:
    """A histogram family from per-bucket (not cumulative) counts and the sum, per series."""
    family._expect("histogram")
    metric = TypedHistogram(family.name, family.help, labels=family.labels)
    metric.bucket_names = tuple(bucket_names)
    rows: list[Row] = [(labels, tuple(counts), total) for labels, counts, total in values]
    for _, counts, _ in rows:
        if len(counts) != len(metric.bucket_names):  # as add_metric would have refused
            raise ValueError(f"{family.name}: {len(counts)} bucket counts for "
                             f"{len(metric.bucket_names)} buckets")
    metric._init_rows(rows)
    return metric
