"""The model: the store and the collectors that serve what it holds, as one object.

Layers, bottom up (see docs/architecture.md): `records` (what is kept), `store` (objects in,
records kept, when a finished thing counts), `counting` (what it adds to which counter or
histogram: pure rules), `run_gauges` / `step_gauges` (gauges computed from a snapshot of the
store), and plug-ins that observe finished nodes (check documents) with their own families.
Each part is a prometheus_client collector with `describe()`, so a registry refuses a family
served twice; `collectors()` lists them for a registry, `collect()` serves them all at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import Metric

from argoscope.exporter.reasons import PodFacts
from argoscope.exporter.records import LivePod, PodRecord, RunRecord, StepRef
from argoscope.exporter.render import Collectable
from argoscope.exporter.run_gauges import RunGauges
from argoscope.exporter.step_gauges import StepGauges
from argoscope.exporter.store import (
    OVERFLOW_PIPELINE,
    PODS,
    WORKFLOWS,
    ModelConfig,
    NodeObserver,
    Store,
)
from argoscope.exporter.tracking import TrackedDict

__all__ = ["OVERFLOW_PIPELINE", "PODS", "WORKFLOWS", "LivePod", "Model", "ModelConfig",
           "NodeObserver", "StepRef"]

log = logging.getLogger("argoscope.exporter")


class Model(Store):
    """The store plus its collectors: run gauges, counters, step gauges, then observers.

    The store's runs, active pods and deleted runs are kept in `TrackedDict`s, so the gauge
    collectors update their totals from what changed since their last scrape rather than
    passing over every run and pod (docs/design.md, "Invariants: cached exposition").
    """

    def __init__(self, config: ModelConfig | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.tracked_runs: TrackedDict[tuple[str, str], RunRecord] = _track(self, "_runs")
        self.tracked_active_pods: TrackedDict[tuple[str, str], PodRecord] = _track(
            self, "_active_pods")
        self.tracked_deleted_runs: TrackedDict[tuple[str, str], tuple[str, str, float]] = (
            _track(self, "_deleted_recent"))

    def waiting_pod(self, key: tuple[str, str]
                    ) -> tuple[tuple[str, str], tuple[StepRef, PodFacts] | None] | None:
        """For an active pod with a waiting reason: its run's key and, when its step is
        known, what `waiting_pods` lists for it; None for any other pod (under `lock`)."""
        pod = self.tracked_active_pods.get(key)
        if pod is None or not pod.facts.waiting_reason:
            return None
        run = (pod.namespace, pod.workflow)
        ref = self._pod_step(pod)
        return run, (None if ref is None else (ref, pod.facts))

    def collectors(self) -> list[Collectable]:
        """Every part that serves families, in serving order (observers last)."""
        return [*self._parts(), *self.observers]

    def _parts(self, fresh: bool = False) -> list[Collectable]:
        return [RunGauges(self, incremental=not fresh), self.counters,
                StepGauges(self, incremental=not fresh)]

    def collect(self) -> Iterator[Metric]:
        """Every model family, built fresh (a full pass over the runs and pods, not the
        totals a registry's collectors keep); a failing observer leaves out only its own."""
        for part in self._parts(fresh=True):
            yield from part.collect()
        for observer in self.observers:
            try:
                # Built in full, so a failing plug-in leaves out only its own families.
                families = list(observer.collect())
            except Exception:
                log.exception("%s failed to collect; its families are left out",
                              type(observer).__name__)
                self.stats.collect_error(type(observer).__name__)
                continue
            yield from families


def _track(store: Store, name: str) -> TrackedDict[Any, Any]:
    """Put a `TrackedDict` in place of the store's dict `name` (it must be one: a store that
    keeps it otherwise fails here, loudly, rather than serving stale totals)."""
    plain = getattr(store, name, None)
    if not isinstance(plain, dict):
        raise TypeError(f"Store.{name} is not a dict: the model cannot track its changes")
    tracked: TrackedDict[Any, Any] = TrackedDict(plain)
    setattr(store, name, tracked)
    return tracked
