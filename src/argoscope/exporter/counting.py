"""The counting rules: what each finished run and step attempt adds to which family.

Each counter or histogram family is listed here once, next to the pure function that computes
what one finished record adds to it (labels and an amount, or an observed value). When a record
counts at all (first seen finished, not replayed history) is the store's business; what it
counts is this module's. Adding a step family is one `Rule` in `ATTEMPT_RULES` (plus its
definition in `families.py`, the documented contract).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from prometheus_client.core import Metric

from argoscope.exporter import families as f
from argoscope.exporter import render
from argoscope.exporter.objects import cap_label, text
from argoscope.exporter.reasons import failure_reason
from argoscope.exporter.records import FinishedAttempt, FinishedRun
from argoscope.exporter.series import CounterTable, DropHook, HistogramTable

Labels = tuple[str, ...]
Record = TypeVar("Record", FinishedRun, FinishedAttempt)
# What one record adds: (labels, amount) for a counter, (labels, observed value) for a histogram.
Amounts = Sequence[tuple[Labels, float]]

STEP_FAILED = frozenset({"Failed", "Error"})
NOT_RUN = frozenset({"Skipped", "Omitted"})
_NONE: Amounts = ()


@dataclass(frozen=True, slots=True)
class Rule(Generic[Record]):
    """A counter or histogram family and the pure function computing what a record adds."""

    family: f.Family
    compute: Callable[[Record], Amounts]


# --- runs -----------------------------------------------------------------------------------

def _run_finished(run: FinishedRun) -> Amounts:
    return (((run.namespace, run.pipeline, run.phase), 1.0),)


def _run_duration(run: FinishedRun) -> Amounts:
    if run.started is None or run.finished is None:
        return _NONE
    return (((run.namespace, run.pipeline, run.phase), max(0.0, run.finished - run.started)),)


RUN_RULES: tuple[Rule[FinishedRun], ...] = (
    Rule(f.WORKFLOW_RUNS, _run_finished),
    Rule(f.WORKFLOW_DURATION, _run_duration),
)


# --- step attempts --------------------------------------------------------------------------

def _step(a: FinishedAttempt) -> Labels:
    return (a.step.namespace, a.step.pipeline, a.step.step)


def _attempt_finished(a: FinishedAttempt) -> Amounts:
    return (((*_step(a), a.step.template, a.phase), 1.0),)


def _attempt_retry(a: FinishedAttempt) -> Amounts:
    return ((_step(a), 1.0),) if a.is_retry else _NONE


def _attempt_duration(a: FinishedAttempt) -> Amounts:
    if a.phase in NOT_RUN or a.started is None or a.finished is None:
        return _NONE
    return (((*_step(a), a.phase), max(0.0, a.finished - a.started)),)


def _attempt_failure(a: FinishedAttempt) -> Amounts:
    if a.phase not in STEP_FAILED:
        return _NONE
    return (((*_step(a), failure_reason(a.phase, a.message, a.pod, a.last_waiting)), 1.0),)


def _attempt_pending(a: FinishedAttempt) -> Amounts:
    # From the node's start to its main container running: queueing, scheduling, image pull.
    if (a.phase in NOT_RUN or a.node_type != "Pod" or a.pod is None
            or not a.pod.main_started or not a.started):
        return _NONE
    return ((_step(a), max(0.0, a.pod.main_started - a.started)),)


def _attempt_resources(a: FinishedAttempt) -> Amounts:
    if a.phase in NOT_RUN:
        return _NONE
    amounts: list[tuple[Labels, float]] = []
    for resource, seconds in a.resources.items():
        try:
            amount = float(seconds)
        except (TypeError, ValueError):
            continue  # one odd entry never hides the others
        amounts.append(((*_step(a), cap_label(text(resource))), amount))
    return amounts


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

    def __init__(self, lock: threading.RLock, max_series: int, on_drop: DropHook) -> None:
        self._lock = lock
        self._counters: list[CounterTable] = []
        self._histograms: list[HistogramTable] = []
        self._run_rules = [(rule.compute, self._table(rule, max_series, on_drop))
                           for rule in RUN_RULES]
        self._attempt_rules = [(rule.compute, self._table(rule, max_series, on_drop))
                               for rule in ATTEMPT_RULES]

    def _table(self, rule: Rule[FinishedRun] | Rule[FinishedAttempt], max_series: int,
               on_drop: DropHook) -> Callable[[Labels, float], None]:
        """The rule's table (served counters first, then histograms, each in rule order),
        as the function that adds one amount to it."""
        if rule.family.kind == "counter":
            counter = CounterTable(rule.family, max_series, on_drop)
            self._counters.append(counter)
            return counter.inc
        if rule.family.kind == "histogram":
            histogram = HistogramTable(rule.family, max_series, on_drop)
            self._histograms.append(histogram)
            return histogram.observe
        raise TypeError(f"{rule.family.name} is a {rule.family.kind}: rules count or observe")

    def count_run(self, run: FinishedRun) -> None:
        """Apply every run rule to a run first seen finished."""
        for compute, add in self._run_rules:
            for labels, amount in compute(run):
                add(labels, amount)

    def count_attempt(self, attempt: FinishedAttempt) -> None:
        """Apply every step rule to an attempt first seen finished."""
        for compute, add in self._attempt_rules:
            for labels, amount in compute(attempt):
                add(labels, amount)

    def describe(self) -> Iterable[Metric]:
        """The families `collect` serves, empty (the registry refuses duplicate names)."""
        tables: list[CounterTable | HistogramTable] = [*self._counters, *self._histograms]
        return [table.family.new() for table in tables]

    def collect(self) -> Iterable[Metric]:
        """Every counter and histogram family: copied under the lock, rendered after it."""
        with self._lock:
            counters = [(table.family, table.snapshot()) for table in self._counters]
            histograms = [(table.family, table.bucket_names, table.snapshot())
                          for table in self._histograms]
        return [*(render.counter(family, values) for family, values in counters),
                *(render.histogram(family, names, values)
                  for family, names, values in histograms)]

