"""Check results from step outputs: the `argoscope-checks` parameter of each finished node.

Steps that use `argoscope.checks` declare the document as an output parameter; Argo copies it
into the Workflow's status, where this observer reads it and serves the check families. A
malformed or oversized document is counted in `argoscope_exporter_objects_skipped_total` and
logged once, never fatal; features beyond the per-check cap are counted as dropped series.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client.core import Metric

from argoscope.checks.schema import PARAMETER, SCHEMA, STATUSES
from argoscope.exporter import families as f
from argoscope.exporter import render, series
from argoscope.exporter.objects import cap_label, decode_json, parse_time
from argoscope.exporter.records import StepRef
from argoscope.exporter.series import TenantBudget
from argoscope.exporter.stats import ExporterStats

# The `resource` label of skipped-object counts for check documents: the parameter's name.
RESOURCE = PARAMETER
DEFAULT_MAX_BYTES = 256 * 1024
DEFAULT_MAX_FEATURES = 50
# Each namespace's share of the default global cap (series.py sizes them together).
DEFAULT_MAX_SERIES_PER_NAMESPACE = series.DEFAULT_MAX_SERIES_PER_NAMESPACE
DEFAULT_RETENTION_SECONDS = 3 * 86_400.0
# A document is a flat summary (depth 4 with features); anything deeper is not one. orjson
# stops at 1024 levels on its own, so nesting can never exhaust the stack.
MAX_DEPTH = 16

Labels = tuple[str, ...]


class MalformedDocument(ValueError):
    """A document that does not follow the argoscope.checks/v1 schema."""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float: no usable value
        return None
    return number if math.isfinite(number) else None


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of decoded JSON, walking no deeper than `limit + 1` levels."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, level = pending.pop()
        if level > deepest:
            deepest = level
            if deepest > limit:
                return deepest
        if isinstance(item, dict):
            pending.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            pending.extend((child, level + 1) for child in item)
    return deepest


def find_document(node: Mapping[str, Any]) -> str | None:
    """The raw `argoscope-checks` output parameter of a node, if it has one."""
    outputs = node.get("outputs")
    parameters = outputs.get("parameters") if isinstance(outputs, Mapping) else None
    if not isinstance(parameters, list):
        return None
    for parameter in parameters:
        if isinstance(parameter, Mapping) and parameter.get("name") == PARAMETER:
            value = parameter.get("value")
            return value if isinstance(value, str) else None
    return None


def parse_document(raw: str, max_bytes: int) -> list[Mapping[str, Any]]:
    """The results of a document; MalformedDocument says what is wrong."""
    if len(raw.encode("utf-8", "replace")) > max_bytes:
        raise MalformedDocument(f"document larger than {max_bytes} bytes")
    try:
        # Nesting past the recursion limit is a ValueError here, never a RecursionError.
        body = decode_json(raw)
    except ValueError as exc:
        raise MalformedDocument(f"not JSON ({exc})") from None
    if _depth(body, MAX_DEPTH) > MAX_DEPTH:
        raise MalformedDocument(f"nested deeper than {MAX_DEPTH} levels")
    if not isinstance(body, dict) or body.get("schema") != SCHEMA:
        raise MalformedDocument(f"schema is not {SCHEMA}")
    results = body.get("results")
    if not isinstance(results, list):
        raise MalformedDocument("'results' is not a list")
    for index, result in enumerate(results):
        if not isinstance(result, dict):
            raise MalformedDocument(f"results[{index}] is not an object")
        if not isinstance(result.get("check"), str) or not result["check"]:
            raise MalformedDocument(f"results[{index}] has no check name")
        if result.get("status") not in STATUSES:
            raise MalformedDocument(f"results[{index}] has an unknown status")
    return results


class CheckDocuments:
    """A NodeObserver serving the `argoscope_check_*` and feature-drift families.

    Budgets: check series (one per namespace, pipeline, step, check, kind) are capped in all
    (`max_series`) and per namespace (`max_series_per_namespace`), and so are feature series,
    so one namespace cannot crowd out another's gates; with `tenants`, only the model's
    bounded number of namespaces hold check series. A check not refreshed within
    `retention_seconds` is released with its features and result counts, freeing its slot.
    A check whose last writer run was deleted keeps its series, but its slot is the first
    given to a new check when its namespace's budget (or the global cap) is full: a deleted
    run frees its check slots, and a namespace that creates and deletes runs with ever new
    pipelines recycles its own budget instead of holding it for the retention window.
    """

    resource = RESOURCE

    def __init__(self, stats: ExporterStats, *, max_series: int = 10_000,
                 max_series_per_namespace: int = DEFAULT_MAX_SERIES_PER_NAMESPACE,
                 retention_seconds: float = DEFAULT_RETENTION_SECONDS,
                 max_bytes: int = DEFAULT_MAX_BYTES,
                 max_features_per_check: int = DEFAULT_MAX_FEATURES,
                 clock: Callable[[], float] = time.time,
                 tenants: TenantBudget | None = None) -> None:
        self._stats = stats
        self._tenants = tenants
        self._lock = threading.Lock()
        self._clock = clock
        self._max_series = max_series
        self._max_per_namespace = max_series_per_namespace
        self._retention = retention_seconds
        self._max_bytes = max_bytes
        self._max_features = max_features_per_check
        # Per check: (status, value, threshold), its result counts by status, when it was last
        # refreshed, and the latest scores of its features.
        self._latest: dict[Labels, tuple[float, float | None, float | None]] = {}
        self._results: dict[Labels, dict[str, float]] = {}
        self._refreshed: dict[Labels, float] = {}
        self._features: dict[Labels, dict[str, float]] = {}
        # Which attempt's result each check shows: (finished, workflow, node id). The latest
        # by finish time, not by arrival, so the order events arrive in does not matter.
        self._shown: dict[Labels, tuple[float, str, str]] = {}
        self._checks_per_namespace: dict[str, int] = {}
        self._features_per_namespace: dict[str, int] = {}
        self._feature_series = 0
        self._next_release = 0.0
        # The run that last wrote each check, the checks each run wrote last, and per
        # namespace the checks whose writer was deleted (oldest first): slots to recycle.
        self._writer: dict[Labels, tuple[str, str]] = {}
        self._by_run: dict[tuple[str, str], set[Labels]] = {}
        self._orphans: dict[str, dict[Labels, None]] = {}

    def on_node_finished(self, step: StepRef, node: Mapping[str, Any], count: bool) -> None:
        """Read the node's document; count results only when `count` (not for replays)."""
        raw = find_document(node)
        if raw is None:
            return
        where = f"{step.namespace}/{step.workflow} node {step.node_id}"
        try:
            results = parse_document(raw, self._max_bytes)
        except MalformedDocument as exc:
            self._stats.skip(RESOURCE, "malformed", f"{where}: {exc}")
            return
        try:
            finished = parse_time(node.get("finishedAt")) or 0.0
        except ValueError:  # an odd time orders first: any timed result is later
            finished = 0.0
        order = (finished, step.workflow, step.node_id)
        with self._lock:
            for result in results:
                try:
                    self._record(step, result, count, order)
                except Exception as error:  # one result never stops the rest of its document
                    self._stats.fault(RESOURCE, error, where)

    def on_run_deleted(self, namespace: str, workflow: str) -> None:
        """The run is gone: the checks it wrote last become the first slots to recycle."""
        with self._lock:
            orphans = self._orphans.setdefault(namespace, {})
            for labels in self._by_run.pop((namespace, workflow), ()):
                orphans[labels] = None
            if not orphans:
                del self._orphans[namespace]

    def _admit(self, key: Labels, namespace: str) -> bool:
        """Whether a new check series fits the global and the namespace's budget, recycling
        the slot of a check whose run was deleted when one is full."""
        if len(self._latest) >= self._max_series and not self._recycle(None):
            self._stats.drop(f.CHECK_STATUS.name)
            return False
        if self._checks_per_namespace.get(namespace, 0) >= self._max_per_namespace:
            self._recycle(namespace)
        held = self._checks_per_namespace.get(namespace, 0)
        if self._tenants is not None:
            if not self._tenants.admit(namespace, held, limit=self._max_per_namespace,
                                       budget="check_series"):
                return False
        elif held >= self._max_per_namespace:
            self._stats.over_namespace_budget(namespace, "check_series")
            return False
        self._checks_per_namespace[namespace] = held + 1
        return True

    def _recycle(self, namespace: str | None) -> bool:
        """Forget the oldest check of `namespace` (any, with None) whose run was deleted."""
        for candidate in ([namespace] if namespace is not None else list(self._orphans)):
            orphans = self._orphans.get(candidate) if candidate is not None else None
            if orphans:
                self._forget(next(iter(orphans)))
                return True
        return False

    def _forget(self, labels: Labels) -> None:
        """Release one check series, its results, features and slots."""
        namespace = labels[0]
        self._refreshed.pop(labels, None)
        del self._latest[labels]
        self._shown.pop(labels, None)
        self._results.pop(labels, None)
        self._checks_per_namespace[namespace] -= 1
        if not self._checks_per_namespace[namespace]:
            del self._checks_per_namespace[namespace]
        scores = self._features.pop(labels, None)
        if scores:
            self._feature_series -= len(scores)
            self._features_per_namespace[namespace] -= len(scores)
        writer = self._writer.pop(labels, None)
        if writer is not None:
            written = self._by_run.get(writer)
            if written is not None:
                written.discard(labels)
                if not written:
                    del self._by_run[writer]
        orphans = self._orphans.get(namespace)
        if orphans is not None:
            orphans.pop(labels, None)
            if not orphans:
                del self._orphans[namespace]
        if self._tenants is not None:
            self._tenants.released(namespace)

    def _record(self, step: StepRef, result: Mapping[str, Any], count: bool,
                order: tuple[float, str, str]) -> None:
        check = cap_label(str(result["check"]))
        kind = cap_label(str(result.get("kind") or "check"))
        status = str(result["status"])
        labels = (step.namespace, step.pipeline, step.step, check, kind)
        if labels not in self._latest and not self._admit(labels, step.namespace):
            return
        self._written_by(labels, (step.namespace, step.workflow))
        measured = self._measure(result.get("value"), step)
        limit = self._measure(result.get("threshold"), step)
        counts = self._results.setdefault(labels, {})
        if count:
            counts[status] = counts.get(status, 0.0) + 1
        features = result.get("features")
        shown = self._shown.get(labels)
        if shown is not None and order < shown:
            # An earlier attempt's result, arriving late: counted, not shown (its odd numbers
            # are counted all the same, so counts never depend on the order either).
            for feature in features if isinstance(features, list) else ():
                if isinstance(feature, Mapping) and isinstance(feature.get("feature"), str):
                    self._measure(feature.get("score"), None)
            return
        self._shown[labels] = order
        ok = 1.0 if status in ("passed", "warning") else 0.0
        self._latest[labels] = (ok, measured, limit)
        self._refreshed[labels] = self._clock()
        if isinstance(features, list):
            self._record_features(labels, features)

    def _measure(self, value: Any, step: StepRef | None) -> float | None:
        """A number as a gauge value; None when absent or not a number. A number no gauge can
        hold (beyond a float's range, NaN, infinite) is counted as skipped `out_of_range`."""
        number = _number(value)
        if number is None and isinstance(value, (int, float)) and not isinstance(value, bool):
            where = f"{step.namespace}/{step.workflow} node {step.node_id}" if step else "feature"
            self._stats.skip(RESOURCE, "out_of_range", f"{where}: a value beyond a float's range")
        return number

    def _written_by(self, labels: Labels, run: tuple[str, str]) -> None:
        """`run` wrote the check last: its slot is held by a live run again."""
        previous = self._writer.get(labels)
        if previous == run:
            return
        if previous is not None:
            written = self._by_run.get(previous)
            if written is not None:
                written.discard(labels)
                if not written:
                    del self._by_run[previous]
        self._writer[labels] = run
        self._by_run.setdefault(run, set()).add(labels)
        orphans = self._orphans.get(labels[0])
        if orphans is not None and labels in orphans:
            del orphans[labels]
            if not orphans:
                del self._orphans[labels[0]]

    def _record_features(self, labels: Labels, features: list[Any]) -> None:
        namespace = labels[0]
        previous = self._features.get(labels)
        held = len(previous) if previous is not None else 0
        scores: dict[str, float] = {}
        for feature in features:
            if not isinstance(feature, Mapping) or not isinstance(feature.get("feature"), str):
                continue
            score = self._measure(feature.get("score"), None)
            if score is None:
                continue
            name = cap_label(feature["feature"])
            if name in scores:
                scores[name] = score
                continue
            if len(scores) >= self._max_features:
                self._stats.drop(f.FEATURE_DRIFT_SCORE.name)
                continue
            # Slots this check already holds are reused; beyond them, both budgets apply.
            if len(scores) >= held:
                if self._feature_series >= self._max_series:
                    self._stats.drop(f.FEATURE_DRIFT_SCORE.name)
                    continue
                if self._features_per_namespace.get(namespace, 0) >= self._max_per_namespace:
                    self._stats.over_namespace_budget(namespace, "feature_series")
                    continue
                self._feature_series += 1
                self._features_per_namespace[namespace] = \
                    self._features_per_namespace.get(namespace, 0) + 1
            scores[name] = score
        released = held - len(scores)
        if released > 0:
            self._feature_series -= released
            self._features_per_namespace[namespace] -= released
        self._features[labels] = scores

    def _release_stale(self) -> None:
        """Forget checks not refreshed within the retention window (at most once a minute)."""
        now = self._clock()
        if now < self._next_release:
            return
        self._next_release = now + min(60.0, self._retention / 10)
        horizon = now - self._retention
        for labels in [k for k, seen in self._refreshed.items() if seen < horizon]:
            self._forget(labels)

    def describe(self) -> Iterable[Metric]:
        """The families `collect` serves, empty (the registry refuses duplicate names)."""
        return [family.new() for family in (f.CHECK_RESULTS, f.CHECK_STATUS, f.CHECK_VALUE,
                                             f.CHECK_THRESHOLD, f.FEATURE_DRIFT_SCORE)]

    def collect(self) -> Iterable[Metric]:
        """The check families: copied under the lock, rendered after it."""
        with self._lock:
            self._release_stale()
            results = [((*labels, outcome), seen) for labels, counts in self._results.items()
                       for outcome, seen in counts.items()]
            latest = list(self._latest.items())
            drift = [((*labels[:4], feature), score) for labels, scores in self._features.items()
                     for feature, score in scores.items()]
        return [
            render.counter(f.CHECK_RESULTS, results),
            render.gauge(f.CHECK_STATUS, ((labels, ok) for labels, (ok, _, _) in latest)),
            render.gauge(f.CHECK_VALUE, ((labels, measured)
                                         for labels, (_, measured, _) in latest
                                         if measured is not None)),
            render.gauge(f.CHECK_THRESHOLD, ((labels, limit)
                                             for labels, (_, _, limit) in latest
                                             if limit is not None)),
            render.gauge(f.FEATURE_DRIFT_SCORE, drift),
        ]
