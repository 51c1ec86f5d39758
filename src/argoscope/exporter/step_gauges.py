"""The step gauges: live step pods stuck waiting, by reason and by insufficient resource.

The store's waiting pods (with their step, facts being immutable once stored) are copied under
its lock; each family is listed in `STEP_GAUGES` with the function that computes its series
from them, rendered after the lock is released.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from prometheus_client.core import Metric

from argoscope.exporter import families as f
from argoscope.exporter.gauges import Gauge, Series, render_all
from argoscope.exporter.objects import cap_label
from argoscope.exporter.reasons import PodFacts, waiting_label
from argoscope.exporter.records import StepRef
from argoscope.exporter.store import Store

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

    The waiting pods are copied once per change of the store (`generation`, where the store
    has one), not once per scrape: nothing here depends on the clock.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._waiting: tuple[int, Waiting] | None = None

    def describe(self) -> Iterable[Metric]:
        """The families `collect` serves, empty (the registry refuses duplicate names)."""
        return [gauge.family.new() for gauge in STEP_GAUGES]

    def collect(self) -> Iterable[Metric]:
        """The step gauges, from the waiting pods copied under the store's lock."""
        store = self._store
        return render_all(STEP_GAUGES, self.waiting(), store.config.max_series_per_family,
                          store.stats.drop, store.tenants)

    def waiting(self) -> Waiting:
        """The store's waiting pods as they are now."""
        store = self._store
        with store.lock:
            generation: int | None = getattr(store, "generation", None)
            with self._lock:
                cached = self._waiting
                if generation is not None and cached is not None and cached[0] == generation:
                    return cached[1]
                pods = store.waiting_pods()
                if generation is not None:
                    self._waiting = (generation, pods)
                return pods
