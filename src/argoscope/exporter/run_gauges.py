"""The run gauges: Workflow objects by phase, last success, offloaded runs and recent runs.

One pass over the store's runs, under its lock, copies what these families need into a
`RunSnapshot`; each family is listed in `RUN_GAUGES` with the function that computes its
series from it, rendered after the lock is released.
"""

from __future__ import annotations

import bisect
import itertools
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client.core import Metric

from argoscope.exporter import families as f
from argoscope.exporter.gauges import Gauge, Series, render_all
from argoscope.exporter.objects import cap_label
from argoscope.exporter.records import RunRecord
from argoscope.exporter.store import RUN_FINISHED, Store
from argoscope.exporter.tracking import TrackedDict

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
    """The run gauge families of one store: a collector.

    With a model that tracks its runs (`tracked_runs`, `tracked_deleted_runs`), the totals are
    kept up to date from the runs changed since the last scrape (`RunIndex`); otherwise (or
    not `incremental`) each scrape passes over every run. What depends on the clock (which
    finished runs are recent, run ages) is taken at each scrape either way.
    """

    def __init__(self, store: Store, *, incremental: bool = True) -> None:
        self._store = store
        self._incremental = incremental
        self._lock = threading.Lock()
        self._index: RunIndex | None = None

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
        """The runs as the gauges show them now, the recent ones cut at the clock's window
        and capped."""
        store = self._store
        now = store.clock()
        horizon = now - store.config.recent_runs_retention_seconds
        limit = store.config.recent_runs_max
        runs = getattr(store, "tracked_runs", None)
        deleted = getattr(store, "tracked_deleted_runs", None)
        with store.lock:
            if (self._incremental and isinstance(runs, TrackedDict)
                    and isinstance(deleted, TrackedDict)):
                with self._lock:
                    if self._index is None:
                        self._index = RunIndex(runs, deleted)
                    index = self._index
                    index.update()
                    workflows, offloaded = index.workflows(), index.offloaded()
                    live, candidates = index.live(limit), index.live_count()
                    recent_finished = index.finished_since(horizon)
                    finished = index.finished(min(recent_finished, max(0, limit - len(live))))
            else:
                workflows, offloaded, all_live, in_window = _pass(store, horizon)
                live, candidates = all_live[:limit], len(all_live)
                recent_finished = len(in_window)
                finished = [row for _, row in in_window[:max(0, limit - len(live))]]
            last_success = dict(store.last_success)
        extra = candidates + recent_finished - limit
        if extra > 0:
            store.stats.drop(f.WORKFLOW_RUN_INFO.name, extra)
        recent = live + finished[:max(0, min(recent_finished, limit - len(live)))]
        return RunSnapshot(now, workflows, offloaded, last_success, recent)


def _live_row(run: RunRecord) -> Recent:
    return (run.namespace, run.pipeline, run.label, run.phase, True, run.started)


def _finished_row(run: RunRecord) -> Recent:
    return (run.namespace, run.pipeline, run.label, run.phase, False, run.started)


def _deleted_row(key: tuple[str, str], entry: tuple[str, str, float]) -> Recent:
    return (key[0], entry[0], cap_label(key[1]), entry[1], False, None)


def _pass(store: Store, horizon: float) -> tuple[dict[Labels, float], dict[Labels, float],
                                                list[Recent], list[tuple[float, Recent]]]:
    """One pass over every run (under the store's lock): the totals, the live runs in the
    store's order, and the runs finished at or after `horizon` newest first (ties: the
    store's order, then deleted runs in theirs)."""
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
            live.append(_live_row(run))
        elif run.finished is not None and run.finished >= horizon:
            finished.append((run.finished, _finished_row(run)))
    for key, entry in store.deleted_runs.items():
        if entry[2] >= horizon:
            finished.append((entry[2], _deleted_row(key, entry)))
    finished.sort(key=lambda item: -item[0])  # stable: ties keep the order above
    return workflows, offloaded, live, finished


class _Groups:
    """Counts of runs per label tuple, in the order a pass over the runs would first meet
    each tuple (the smallest position of its runs)."""

    def __init__(self) -> None:
        self._members: dict[Labels, dict[tuple[str, str], int]] = {}
        self._first: dict[Labels, int] = {}
        self._served: dict[Labels, float] | None = None

    def add(self, labels: Labels, key: tuple[str, str], position: int) -> None:
        members = self._members.setdefault(labels, {})
        members[key] = position
        first = self._first.get(labels)
        if first is None or position < first:
            self._first[labels] = position
        self._served = None

    def remove(self, labels: Labels, key: tuple[str, str]) -> None:
        members = self._members[labels]
        position = members.pop(key)
        if not members:
            del self._members[labels], self._first[labels]
        elif self._first[labels] == position:
            self._first[labels] = min(members.values())
        self._served = None

    def counts(self) -> dict[Labels, float]:
        """Each label tuple's count, in pass order (kept until something changes)."""
        if self._served is None:
            self._served = {labels: float(len(self._members[labels]))
                            for labels in sorted(self._first, key=self._first.__getitem__)}
        return self._served


# What one run adds: its workflows labels, its offloaded key (or None), whether it is live,
# and its finished entry (or None).
_Contribution = tuple[Labels, Labels | None, bool, tuple[float, int, int, tuple[str, str]] | None]


class RunIndex:
    """The run totals kept up to date from the runs (and deleted runs) changed since the last
    `update`, in the very order a pass over the store would give (docs/design.md,
    "Invariants: cached exposition"). Used under the store's lock."""

    def __init__(self, runs: TrackedDict[tuple[str, str], RunRecord],
                 deleted: TrackedDict[tuple[str, str], tuple[str, str, float]]) -> None:
        self._runs, self._deleted = runs, deleted
        self._run_changes, self._deleted_changes = runs.watch(), deleted.watch()
        self._workflows, self._offloaded = _Groups(), _Groups()
        self._contributions: dict[tuple[str, str], _Contribution] = {}
        # Live runs by position (kept sorted; `_live_sorted` is False after an insert out of
        # order), and finished entries (-finished, 0 run | 1 deleted, position, key) sorted.
        self._live: dict[tuple[str, str], tuple[int, Recent]] = {}
        self._live_sorted = True
        self._finished: list[tuple[float, int, int, tuple[str, str]]] = []
        self._rows: dict[tuple[int, tuple[str, str]], Recent] = {}
        self._deleted_entries: dict[tuple[str, str], tuple[float, int, int, tuple[str, str]]] = {}

    def update(self) -> None:
        """Take in every run and deleted run changed since the last update."""
        changed, gone = self._run_changes.take(), self._deleted_changes.take()
        # Many changes at once (the first scrape, a re-list): sort once, not entry by entry.
        bulk = len(changed) + len(gone) > 64 + len(self._finished) // 8
        for key in changed:
            self._run_changed(key, bulk)
        for key in gone:
            self._deleted_changed(key, bulk)
        if bulk:
            self._finished.sort()
        if not self._live_sorted:
            self._live = dict(sorted(self._live.items(), key=lambda item: item[1][0]))
            self._live_sorted = True

    def _run_changed(self, key: tuple[str, str], bulk: bool) -> None:
        old = self._contributions.pop(key, None)
        run = self._runs.get(key)
        if old is not None:
            self._workflows.remove(old[0], key)
            if old[1] is not None:
                self._offloaded.remove(old[1], key)
            if old[2] and (run is None or run.phase in RUN_FINISHED
                           or self._live[key][0] != self._runs.position(key)):
                del self._live[key]  # no longer live, or set again (a new position)
            if old[3] is not None:
                self._drop_finished(old[3])
        if run is None:
            return
        position = self._runs.position(key)
        labels = (run.namespace, run.pipeline, run.phase)
        self._workflows.add(labels, key, position)
        offloaded = (run.namespace, run.pipeline) if run.offloaded else None
        if offloaded is not None:
            self._offloaded.add(offloaded, key, position)
        live = run.phase not in RUN_FINISHED
        entry = None
        if live:
            if key not in self._live and self._live and position < next(
                    reversed(self._live.values()))[0]:
                self._live_sorted = False  # live again at its old position: sort before use
            self._live[key] = (position, _live_row(run))  # in place when it stayed live
        elif run.finished is not None:
            entry = (-run.finished, 0, position, key)
            self._rows[(0, key)] = _finished_row(run)
            self._add_finished(entry, bulk)
        self._contributions[key] = (labels, offloaded, live, entry)

    def _deleted_changed(self, key: tuple[str, str], bulk: bool) -> None:
        old = self._deleted_entries.pop(key, None)
        if old is not None:
            self._drop_finished(old)
        value = self._deleted.get(key)
        if value is None:
            return
        entry = (-value[2], 1, self._deleted.position(key), key)
        self._rows[(1, key)] = _deleted_row(key, value)
        self._deleted_entries[key] = entry
        self._add_finished(entry, bulk)

    def _add_finished(self, entry: tuple[float, int, int, tuple[str, str]], bulk: bool) -> None:
        if bulk:
            self._finished.append(entry)
        else:
            bisect.insort(self._finished, entry)

    def _drop_finished(self, entry: tuple[float, int, int, tuple[str, str]]) -> None:
        at = bisect.bisect_left(self._finished, entry)
        if at < len(self._finished) and self._finished[at] == entry:
            del self._finished[at]
        else:  # in a bulk update, not sorted yet
            self._finished.remove(entry)
        self._rows.pop((entry[1], entry[3]), None)

    def workflows(self) -> dict[Labels, float]:
        """Runs per (namespace, pipeline, phase), in pass order."""
        return self._workflows.counts()

    def offloaded(self) -> dict[Labels, float]:
        """Offloaded runs per (namespace, pipeline), in pass order."""
        return self._offloaded.counts()

    def live_count(self) -> int:
        """Live runs."""
        return len(self._live)

    def live(self, limit: int) -> list[Recent]:
        """The first `limit` live runs, in the store's order."""
        return [row for _, row in itertools.islice(self._live.values(), limit)]

    def finished_since(self, horizon: float) -> int:
        """Finished runs (deleted ones included) that finished at or after `horizon`."""
        return bisect.bisect_right(self._finished, (-horizon, 2))

    def finished(self, count: int) -> list[Recent]:
        """The `count` most recently finished runs, newest first."""
        return [self._rows[(entry[1], entry[3])] for entry in self._finished[:count]]
