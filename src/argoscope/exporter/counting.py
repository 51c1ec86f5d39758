"""The counting rules: what each finished run and step attempt adds to which family.

Each counter or histogram family is listed here once, next to the pure function that computes
what one finished record adds to it (labels and an amount, or an observed value). When a record
counts at all (first seen finished, not replayed history) is the store's business; what it
counts is this module's. Adding a step family is one `Rule` in `ATTEMPT_RULES` (plus its
definition in `families.py`, the documented contract).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from prometheus_client.core import Metric

from argoscope.exporter import families as f
from argoscope.exporter import render
from argoscope.exporter.objects import cap_label, text
from argoscope.exporter.records import FinishedAttempt, FinishedRun
from argoscope.exporter.series import CounterTable, DropHook, HistogramTable, TenantBudget
from argoscope.exporter.views import NOT_RUN, STEP_FAILED

__all__ = ["ATTEMPT_RULES", "NOT_RUN", "RUN_RULES", "STEP_FAILED", "Counters", "Rule"]

Labels = tuple[str, ...]
Record = TypeVar("Record", FinishedRun, FinishedAttempt)
# Where a rule puts what one record adds: (labels, amount) for a counter, (labels, observed
# value) for a histogram. Rules emit rather than return, so the ingest path builds no
# intermediate tuples (a rule runs for every finished attempt).
Add = Callable[[Labels, float], None]



@dataclass(frozen=True, slots=True)
class Rule(Generic[Record]):
    """A counter or histogram family and the function computing what a record adds to it.

    `compute(record, add)` depends on the record alone: it calls `add` zero or more times and
    keeps no state (so the same record always adds the same).
    """

    family: f.Family
    compute: Callable[[Record, Add], None]


# --- runs -----------------------------------------------------------------------------------

def _run_finished(run: FinishedRun, add: Add) -> None:
    add((run.namespace, run.pipeline, run.phase), 1.0)


def _run_duration(run: FinishedRun, add: Add) -> None:
    if run.started is not None and run.finished is not None:
        add((run.namespace, run.pipeline, run.phase), max(0.0, run.finished - run.started))


RUN_RULES: tuple[Rule[FinishedRun], ...] = (
    Rule(f.WORKFLOW_RUNS, _run_finished),
    Rule(f.WORKFLOW_DURATION, _run_duration),
)


# --- step attempts --------------------------------------------------------------------------

def _attempt_finished(a: FinishedAttempt, add: Add) -> None:
    add((*a.labels, a.step.template, a.phase), 1.0)


def _attempt_retry(a: FinishedAttempt, add: Add) -> None:
    if a.is_retry:
        add(a.labels, 1.0)


def _attempt_duration(a: FinishedAttempt, add: Add) -> None:
    if a.phase not in NOT_RUN and a.started is not None and a.finished is not None:
        add((*a.labels, a.phase), max(0.0, a.finished - a.started))


def _attempt_failure(a: FinishedAttempt, add: Add) -> None:
    if a.phase in STEP_FAILED:
        add((*a.labels, a.reason), 1.0)


def _attempt_pending(a: FinishedAttempt, add: Add) -> None:
    # From the node's start to its main container running: queueing, scheduling, image pull.
    if (a.phase not in NOT_RUN and a.node_type == "Pod" and a.pod is not None
            and a.pod.main_started and a.started):
        add(a.labels, max(0.0, a.pod.main_started - a.started))


def _attempt_resources(a: FinishedAttempt, add: Add) -> None:
    if a.phase in NOT_RUN:
        return
    for resource, seconds in a.resources.items():
        try:
            amount = float(seconds)
        except (TypeError, ValueError):
            continue  # one odd entry never hides the others
        add((*a.labels, cap_label(text(resource))), amount)


ATTEMPT_RULES: tuple[Rule[FinishedAttempt], ...] = (
    Rule(f.STEP_RUNS, _attempt_finished),
    Rule(f.STEP_RETRIES, _attempt_retry),
    Rule(f.STEP_DURATION, _attempt_duration),
    Rule(f.STEP_FAILURES, _attempt_failure),
    Rule(f.STEP_PENDING, _attempt_pending),
    Rule(f.STEP_RESOURCE_SECONDS, _attempt_resources),
)


# --- the collector --------------------------------------------------------------------------

class Counters:
    """The accumulated counters and histograms of every rule: a collector.

    Counters outlive the objects they count (a deleted run stays counted), so unlike gauges
    they are accumulated, in tables capped at `max_series` each. `count_*` are called under
    `lock` (the store's); `collect` copies the tables under it and renders after.
    """

    def __init__(self, lock: threading.RLock, max_series: int, on_drop: DropHook, *,
                 tenants: TenantBudget | None = None) -> None:
        self._lock = lock
        self._tenants = tenants
        self._counters: list[CounterTable] = []
        self._histograms: list[HistogramTable] = []
        # id(table) -> (its version, the family rendered from it) at the last scrape.
        self._served: dict[int, tuple[int, Metric]] = {}
        self._run_rules = [(rule.compute, self._table(rule, max_series, on_drop))
                           for rule in RUN_RULES]
        self._attempt_rules = [(rule.compute, self._table(rule, max_series, on_drop))
                               for rule in ATTEMPT_RULES]

    def _table(self, rule: Rule[FinishedRun] | Rule[FinishedAttempt], max_series: int,
               on_drop: DropHook) -> Add:
        """The rule's table (served counters first, then histograms, each in rule order),
        as the function that adds one amount to it."""
        table: CounterTable | HistogramTable
        add: Add
        if rule.family.kind == "counter":
            table = CounterTable(rule.family, max_series, on_drop, self._tenants)
            self._counters.append(table)
            add = table.inc
        elif rule.family.kind == "histogram":
            table = HistogramTable(rule.family, max_series, on_drop, self._tenants)
            self._histograms.append(table)
            add = table.observe
        else:
            raise TypeError(f"{rule.family.name} is a {rule.family.kind}: rules count or observe")
        if self._tenants is not None:
            self._tenants.register(table, self._lock)
        return add

    def count_run(self, run: FinishedRun) -> None:
        """Apply every run rule to a run first seen finished."""
        for compute, add in self._run_rules:
            compute(run, add)

    def count_attempt(self, attempt: FinishedAttempt) -> None:
        """Apply every step rule to an attempt first seen finished."""
        for compute, add in self._attempt_rules:
            compute(attempt, add)

    def forget_rendered(self) -> None:
        """Drop the families kept from the last scrape: the next `collect` renders every
        table afresh (a full rendering to hold the cached one against)."""
        with self._lock:
            self._served.clear()

    def describe(self) -> Iterable[Metric]:
        """The families `collect` serves, empty (the registry refuses duplicate names)."""
        tables: list[CounterTable | HistogramTable] = [*self._counters, *self._histograms]
        return [table.family.new() for table in tables]

    def collect(self) -> Iterable[Metric]:
        """Every counter and histogram family: copied under the lock, rendered after it.

        A table unchanged since the last scrape (its `version`) serves the family rendered
        then, the very object, which the exposition cache answers without reading it.
        """
        copies: list[tuple[CounterTable | HistogramTable, int, Metric | None, Any]] = []
        tables: list[CounterTable | HistogramTable] = [*self._counters, *self._histograms]
        with self._lock:
            for table in tables:
                served = self._served.get(id(table))
                if served is not None and served[0] == table.version:
                    copies.append((table, table.version, served[1], None))
                else:
                    copies.append((table, table.version, None, table.snapshot()))
        # Rendered one family at a time as the scrape asks (a generator): a streaming render
        # holds one family's samples at once, not all of them.
        for table, version, unchanged, values in copies:
            if unchanged is not None:
                yield unchanged
                continue
            metric: Metric
            if isinstance(table, HistogramTable):
                metric = render.histogram(table.family, table.bucket_names, values)
            else:
                metric = render.counter(table.family, values)
            self._served[id(table)] = (version, metric)
            yield metric

