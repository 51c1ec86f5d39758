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
    """The store plus its collectors: run gauges, counters, step gauges, then observers."""

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


