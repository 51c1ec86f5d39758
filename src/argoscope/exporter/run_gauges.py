"""The run gauges: Workflow objects by phase, last success, offloaded runs and recent runs.

One pass over the store's runs, under its lock, copies what these families need into a
`RunSnapshot`; each family is listed in `RUN_GAUGES` with the function that computes its
series from it, rendered after the lock is released.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client.core import Metric

from argoscope.exporter import families as f
from argoscope.exporter.gauges import Gauge, Series, render_all
from argoscope.exporter.objects import cap_label
from argoscope.exporter.store import RUN_FINISHED, Store

Labels = tuple[str, ...]
# (namespace, pipeline, workflow label, phase, live, started) of a run shown as recent.
Recent = tuple[str, str, str, str, bool, float | None]


@dataclass(frozen=True, slots=True)
class RunSnapshot:
    """What the run gauges show, copied from the store at one moment."""

    now: float
    workflows: dict[Labels, float]
    offloaded: dict[Labels, float]
    last_success: dict[Labels, float]
    recent: list[Recent]  # live runs first, then the most recently finished, capped


def _run_info(snapshot: RunSnapshot) -> Series:
    return [((namespace, pipeline, name, phase), 1.0)
            for namespace, pipeline, name, phase, _, _ in snapshot.recent]


def _run_age(snapshot: RunSnapshot) -> Series:
    return [((namespace, pipeline, name), max(0.0, snapshot.now - started))
            for namespace, pipeline, name, _, live, started in snapshot.recent
            if live and started is not None]


RUN_GAUGES: tuple[Gauge[RunSnapshot], ...] = (
    Gauge(f.WORKFLOWS, lambda s: s.workflows.items()),
    Gauge(f.WORKFLOWS_OFFLOADED, lambda s: s.offloaded.items()),
    Gauge(f.WORKFLOW_LAST_SUCCESS, lambda s: s.last_success.items()),
    # Bounded by the recent-runs cap (`--recent-runs-max`), which counts its own drops.
    Gauge(f.WORKFLOW_RUN_INFO, _run_info, capped=False),
    Gauge(f.WORKFLOW_RUN_AGE, _run_age, capped=False),
)


@dataclass(frozen=True, slots=True)
class RunTotals:
    """What the run gauges need that does not depend on the clock, from one pass over the
    store's runs: recomputed only when the store has changed (its `generation`)."""

    workflows: dict[Labels, float]
    offloaded: dict[Labels, float]
    live: list[Recent]  # live runs, in the store's order
    # Finished runs (the store's, then deleted ones), newest first; ties in that order.
    finished: list[Recent]
    finished_at: list[float]  # their finish times, negated (ascending, for bisect)


class RunGauges:
    """The run gauge families of one store: a collector.

    The pass over every run is made once per change of the store (`generation`, where the
    store has one), not once per scrape: what depends on the clock (which finished runs are
    recent, run ages) is taken from its result at each scrape.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._totals: tuple[int, RunTotals] | None = None

    def describe(self) -> Iterable[Metric]:
        """The families `collect` serves, empty (the registry refuses duplicate names)."""
        return [gauge.family.new() for gauge in RUN_GAUGES]

    def collect(self) -> Iterable[Metric]:
        """The run gauges, from a snapshot taken under the store's lock."""
        store = self._store
        store.prune()
        # Series of pipelines past the retention window go before this scrape.
        store.tenants.sweep()
        snapshot = self.snapshot()
        return render_all(RUN_GAUGES, snapshot, store.config.max_series_per_family,
                          store.stats.drop, store.tenants)

    def snapshot(self) -> RunSnapshot:
        """The runs as the gauges show them now: the totals of the store's current
        generation, the recent runs cut at the clock's window and capped."""
        store = self._store
        now = store.clock()
        horizon = now - store.config.recent_runs_retention_seconds
        with store.lock:
            totals = self._current_totals()
            last_success = dict(store.last_success)
        # Finished runs within the window: a prefix of the newest-first list.
        recent_finished = bisect.bisect_right(totals.finished_at, -horizon)
        limit = store.config.recent_runs_max
        extra = len(totals.live) + recent_finished - limit
        if extra > 0:
            store.stats.drop(f.WORKFLOW_RUN_INFO.name, extra)
        recent = totals.live[:limit]
        if len(recent) < limit:
            recent = recent + totals.finished[:min(recent_finished, limit - len(recent))]
        return RunSnapshot(now, totals.workflows, totals.offloaded, last_success, recent)

    def _current_totals(self) -> RunTotals:
        """The totals of the store as it is now (called under its lock)."""
        generation: int | None = getattr(self._store, "generation", None)
        with self._lock:
            cached = self._totals
            if generation is not None and cached is not None and cached[0] == generation:
                return cached[1]
            totals = self._pass()
            if generation is not None:
                self._totals = (generation, totals)
            return totals

    def _pass(self) -> RunTotals:
        """One pass over the store's runs (under its lock)."""
        store = self._store
        workflows: dict[Labels, float] = {}
        offloaded: dict[Labels, float] = {}
        live: list[Recent] = []
        finished: list[tuple[float, Recent]] = []
        for run in store.runs.values():
            labels = (run.namespace, run.pipeline, run.phase)
            workflows[labels] = workflows.get(labels, 0.0) + 1
            if run.offloaded:
                key = (run.namespace, run.pipeline)
                offloaded[key] = offloaded.get(key, 0.0) + 1
            if run.phase not in RUN_FINISHED:
                live.append((run.namespace, run.pipeline, run.label, run.phase, True,
                             run.started))
            elif run.finished is not None:
                finished.append((run.finished, (run.namespace, run.pipeline, run.label,
                                                run.phase, False, run.started)))
        for (namespace, name), (pipeline, phase, at) in store.deleted_runs.items():
            finished.append((at, (namespace, pipeline, cap_label(name), phase, False, None)))
        # Stable: runs finished at the same moment keep the store's order, deleted ones last.
        finished.sort(key=lambda item: -item[0])
        return RunTotals(workflows, offloaded, live, [row for _, row in finished],
                         [-at for at, _ in finished])
