"""A gauge family next to the function computing its series from a snapshot.

Gauges are recomputed from what the store holds at each scrape (nothing accumulates). Each
concern (runs, waiting steps) takes one snapshot of the store under its lock, in one pass, and
lists its gauges as `Gauge`s over that snapshot; they are rendered after the lock is released.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from prometheus_client.core import Metric

from argoscope.exporter import families as f
from argoscope.exporter import render
from argoscope.exporter.series import DropHook, LabelBudget, TenantBudget

Snapshot = TypeVar("Snapshot")
Series = Iterable[tuple[tuple[str, ...], float]]


@dataclass(frozen=True, slots=True)
class Gauge(Generic[Snapshot]):
    """A gauge family and the function computing its series from a concern's snapshot.

    `capped`: series past `max_series_per_family` are dropped and counted; False for families
    bounded by their own rule (recent runs have their own cap).
    """

    family: f.Family
    compute: Callable[[Snapshot], Series]
    capped: bool = True


def render_all(gauges: Iterable[Gauge[Snapshot]], snapshot: Snapshot, max_series: int,
               on_drop: DropHook, tenants: TenantBudget | None = None) -> list[Metric]:
    """Every gauge of a table, rendered from one snapshot (outside any lock); capped gauges
    keep the family's cap, and with `tenants` each namespace's budget too."""
    return [render.gauge(gauge.family, gauge.compute(snapshot),
                         LabelBudget(gauge.family, max_series, on_drop, tenants)
                         if gauge.capped else None)
            for gauge in gauges]
