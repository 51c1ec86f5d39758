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

from argoscope.exporter.records import LivePod, StepRef
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

__all__ = ["OVERFLOW_PIPELINE", "PODS", "WORKFLOWS", "LivePod", "Model", "ModelConfig",
           "NodeObserver", "StepRef"]

log = logging.getLogger("argoscope.exporter")


class Model(Store):
    """The store plus its collectors: run gauges, counters, step gauges, then observers.

    `generation` counts the changes of the store: every input (`apply`, `resync`, `settle`)
    and every `prune` that forgot something moves it on, after the change and under the
    store's lock, so a collector that read it with what it copied (under the same lock)
    knows whether that copy is still the store's (docs/design.md, "Invariants: cached
    exposition").
    """

    generation = 0

    def apply(self, *args: Any, **kwargs: Any) -> None:
        """`Store.apply`, then the store's generation moves on."""
        with self.lock:
            try:
                super().apply(*args, **kwargs)
            finally:
                self.generation += 1

    def resync(self, *args: Any, **kwargs: Any) -> None:
        """`Store.resync` (each object applied under the lock on its own), then the
        generation moves on for the objects it forgot."""
        try:
            super().resync(*args, **kwargs)
        finally:
            with self.lock:
                self.generation += 1

    def settle(self) -> None:
        """`Store.settle`, then the generation moves on."""
        with self.lock:
            try:
                super().settle()
            finally:
                self.generation += 1

    def prune(self) -> None:
        """`Store.prune`; the generation moves on only if it forgot something."""
        with self.lock:
            before = (len(self.deleted_runs), self.pod_count())
            try:
                super().prune()
            finally:
                if (len(self.deleted_runs), self.pod_count()) != before:
                    self.generation += 1

    def collectors(self) -> list[Collectable]:
        """Every part that serves families, in serving order (observers last)."""
        return [*self._parts(), *self.observers]

    def _parts(self) -> list[Collectable]:
        return [RunGauges(self), self.counters, StepGauges(self)]

    def collect(self) -> Iterator[Metric]:
        """Every model family, built fresh; a failing observer leaves out only its own."""
        for part in self._parts():
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


