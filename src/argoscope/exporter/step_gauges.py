"""The step gauges: live step pods stuck waiting, by reason and by insufficient resource.

The store's waiting pods (with their step, facts being immutable once stored) are copied under
its lock; each family is listed in `STEP_GAUGES` with the function that computes its series
from them, rendered after the lock is released.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from prometheus_client.core import Metric

from argoscope.exporter import families as f
from argoscope.exporter.gauges import Gauge, Series, render_all
from argoscope.exporter.objects import cap_label
from argoscope.exporter.reasons import PodFacts, waiting_label
from argoscope.exporter.records import StepRef
from argoscope.exporter.store import Store
from argoscope.exporter.tracking import TrackedDict

Labels = tuple[str, ...]
Waiting = list[tuple[StepRef, PodFacts]]


def _count(keys: Iterable[Labels]) -> Series:
    counts: dict[Labels, float] = {}
    for key in keys:
        counts[key] = counts.get(key, 0.0) + 1
    return counts.items()


def _waiting(pods: Waiting) -> Series:
    return _count((ref.namespace, ref.pipeline, ref.step, waiting_label(facts.waiting_reason))
                  for ref, facts in pods)


def _insufficient(pods: Waiting) -> Series:
    return _count((ref.namespace, ref.pipeline, ref.step, cap_label(resource))
                  for ref, facts in pods for resource in facts.insufficient)


STEP_GAUGES: tuple[Gauge[Waiting], ...] = (
    Gauge(f.STEPS_WAITING, _waiting),
    Gauge(f.STEPS_WAITING_INSUFFICIENT, _insufficient),
)


class StepGauges:
    """The step gauge families of one store: a collector.

    With a model that tracks its pods and runs (`waiting_pod`), the waiting pods are kept up
    to date from the pods and runs changed since the last scrape (`WaitingIndex`); otherwise
    (or not `incremental`) each scrape passes over every active pod.
    """

    def __init__(self, store: Store, *, incremental: bool = True) -> None:
        self._store = store
        self._incremental = incremental
        self._lock = threading.Lock()
        self._index: WaitingIndex | None = None

    def describe(self) -> Iterable[Metric]:
        """The families `collect` serves, empty (the registry refuses duplicate names)."""
        return [gauge.family.new() for gauge in STEP_GAUGES]

    def collect(self) -> Iterable[Metric]:
        """The step gauges, from the waiting pods copied under the store's lock."""
        store = self._store
        return render_all(STEP_GAUGES, self.waiting(), store.config.max_series_per_family,
                          store.stats.drop, store.tenants)

    def waiting(self) -> Waiting:
        """The store's waiting pods as they are now, in the store's order."""
        store = self._store
        if not self._incremental or not hasattr(store, "waiting_pod"):
            return store.waiting_pods()
        with store.lock, self._lock:
            if self._index is None:
                self._index = WaitingIndex(store)
            return self._index.update()


class WaitingIndex:
    """The waiting pods kept up to date from the active pods and runs changed since the last
    `update` (a run's change may change its pods' steps), in the order `waiting_pods` gives.
    Used under the store's lock."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self._pods: TrackedDict[tuple[str, str], Any] = model.tracked_active_pods
        self._pod_changes = self._pods.watch()
        self._run_changes = model.tracked_runs.watch()
        self._waiting: dict[tuple[str, str], tuple[int, tuple[StepRef, PodFacts]]] = {}
        # Active pods with a waiting reason, by their run (step known or not).
        self._by_run: dict[tuple[str, str], set[tuple[str, str]]] = {}
        self._run_of: dict[tuple[str, str], tuple[str, str]] = {}
        self._served: Waiting | None = None

    def update(self) -> Waiting:
        """Take in the changes; the waiting pods with their steps, in the store's order."""
        pods = self._pod_changes.take()
        for run in self._run_changes.take():
            pods |= self._by_run.get(run, set())
        for key in pods:
            self._pod_changed(key)
        if self._served is None:
            self._served = [entry for _, entry in
                            sorted(self._waiting.values(), key=lambda item: item[0])]
        return self._served

    def _pod_changed(self, key: tuple[str, str]) -> None:
        run = self._run_of.pop(key, None)
        if run is not None:
            keys = self._by_run[run]
            keys.discard(key)
            if not keys:
                del self._by_run[run]
        if self._waiting.pop(key, None) is not None:
            self._served = None
        found = self._model.waiting_pod(key)
        if found is None:
            return
        run, entry = found
        self._run_of[key] = run
        self._by_run.setdefault(run, set()).add(key)
        if entry is not None:
            self._waiting[key] = (self._pods.position(key), entry)
            self._served = None
