"""The run gauges: Workflow objects by phase, last success, offloaded runs and recent runs.

One pass over the store's runs, under its lock, copies what these families need into a
`RunSnapshot`; each family is listed in `RUN_GAUGES` with the function that computes its
series from it, rendered after the lock is released.
"""

from __future__ import annotations

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


class RunGauges:
    """The run gauge families of one store: a collector."""

    def __init__(self, store: Store) -> None:
        self._store = store

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
        """One pass over the store's runs under its lock; sorting and capping after it."""
        store = self._store
        now = store.clock()
        horizon = now - store.config.recent_runs_retention_seconds
        workflows: dict[Labels, float] = {}
        offloaded: dict[Labels, float] = {}
        # (live, order, recent row): sorted below, outside the lock.
        recent: list[tuple[bool, float, Recent]] = []
        with store.lock:
            for run in store.runs.values():
                labels = (run.namespace, run.pipeline, run.phase)
                workflows[labels] = workflows.get(labels, 0.0) + 1
                if run.offloaded:
                    key = (run.namespace, run.pipeline)
                    offloaded[key] = offloaded.get(key, 0.0) + 1
                live = run.phase not in RUN_FINISHED
                if live or (run.finished is not None and run.finished >= horizon):
                    order = run.finished if run.finished is not None else now
                    recent.append((live, order, (run.namespace, run.pipeline, run.label,
                                                 run.phase, live, run.started)))
            deleted = list(store.deleted_runs.items())
            last_success = dict(store.last_success)
        for (namespace, name), (pipeline, phase, finished) in deleted:
            if finished >= horizon:
                recent.append((False, finished, (namespace, pipeline, cap_label(name), phase,
                                                 False, None)))
        recent.sort(key=lambda r: (not r[0], -r[1]))
        limit = store.config.recent_runs_max
        for _ in recent[limit:]:
            store.stats.drop(f.WORKFLOW_RUN_INFO.name)
        return RunSnapshot(now, workflows, offloaded, last_success,
                           [row for _, _, row in recent[:limit]])
