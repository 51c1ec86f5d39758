"""Bounded tables of counter and histogram values, keyed by label tuples, and the tenant
budget every namespace-keyed table shares.

Counters and histograms outlive the objects they count (a deleted run still counted), so they
are accumulated here rather than recomputed; every table is capped, and a series refused by a
cap is counted in `argoscope_exporter_series_dropped_total`, never silently lost.

Tenants (docs/design.md, "Invariants: tenants and transport"): in a family whose first label
is `namespace`, each namespace has its own budget of series (`max_series_per_namespace`, per
family), and only `max_namespaces` namespaces hold series at once, so one namespace's volume
never takes another's series. What a namespace is refused is counted per namespace in
`argoscope_exporter_namespace_budget_exceeded_total` (`budget="series"`; namespaces past the
bound as `namespace="_other"`, `budget="namespaces"`). Series of a pipeline not seen within
`retention_seconds` are released, counters and histograms too (Prometheus reads a counter
that disappears and comes back as a reset), freeing their slots.
"""

from __future__ import annotations

import bisect
import contextlib
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from argoscope.exporter.families import Family

Labels = tuple[str, ...]
DropHook = Callable[[str], None]
OverHook = Callable[[str, str], None]
# The namespace label under which namespaces past `max_namespaces` are counted.
OTHER_NAMESPACES = "_other"
# Tenant budgets: what each is called in the `budget` label.
BUDGET_SERIES = "series"
BUDGET_NAMESPACES = "namespaces"

# Sized together with the per-family cap (10,000): namespaces x series per namespace fits it,
# so a namespace within its budget never loses a series to another namespace's volume, and a
# full exporter (every family at its cap) serves 4 concurrent scrapes inside the shipped
# 512Mi limit (bench/bench_scrape_peak.py).
DEFAULT_MAX_SERIES_PER_NAMESPACE = 500
DEFAULT_MAX_NAMESPACES = 20
DEFAULT_SERIES_RETENTION_SECONDS = 14 * 86_400.0


class Releasable(Protocol):
    """A table that can forget the series of stale pipelines."""

    def release(self, stale: Callable[[str, str], bool]) -> int:
        """Forget every series whose (namespace, pipeline) is `stale`; how many."""


class TenantBudget:
    """Per-namespace budgets and pipeline retention, shared by a model's tenant-keyed tables.

    Thread-safe. Tables call `admit` before creating a series and `released` when they drop
    one; `touch` marks a pipeline seen (the store does, for every Workflow it applies);
    `sweep` (at most once per `sweep_interval`) releases the series of pipelines not seen
    within the retention window from every registered table, and tells `on_forget` listeners.
    """

    def __init__(self, *, max_series_per_namespace: int = DEFAULT_MAX_SERIES_PER_NAMESPACE,
                 max_namespaces: int = DEFAULT_MAX_NAMESPACES,
                 retention_seconds: float = DEFAULT_SERIES_RETENTION_SECONDS,
                 clock: Callable[[], float] = time.time,
                 on_over: OverHook | None = None) -> None:
        self.max_series_per_namespace = max_series_per_namespace
        self.max_namespaces = max_namespaces
        self.retention_seconds = retention_seconds
        self._clock = clock
        self._on_over = on_over or (lambda namespace, budget: None)
        self._lock = threading.Lock()
        # Namespace -> series it holds across every table (a namespace holding none leaves).
        self._held: dict[str, int] = {}
        # (namespace, pipeline) -> when last seen.
        self._seen: dict[tuple[str, str], float] = {}
        self._tables: list[tuple[Releasable, contextlib.AbstractContextManager[Any]]] = []
        self._keep_alive: list[Callable[[], Iterable[tuple[str, str]]]] = []
        self._forget: list[Callable[[str, str], None]] = []
        self._next_sweep = 0.0
        self._sweeping = threading.Lock()  # one sweep at a time (scrapes may overlap)

    # --- wiring ------------------------------------------------------------------------------

    def register(self, table: Releasable, lock: contextlib.AbstractContextManager[Any]) -> None:
        """Sweep `table` too, holding `lock` (the lock its owner changes it under)."""
        self._tables.append((table, lock))

    def keep_alive(self, pipelines: Callable[[], Iterable[tuple[str, str]]]) -> None:
        """At each sweep, the pipelines `pipelines()` returns count as seen (live runs)."""
        self._keep_alive.append(pipelines)

    def on_forget(self, listener: Callable[[str, str], None]) -> None:
        """Tell `listener(namespace, pipeline)` when a pipeline is released."""
        self._forget.append(listener)

    # --- admission -----------------------------------------------------------------------------

    def touch(self, namespace: str, pipeline: str) -> None:
        """The pipeline was seen now."""
        now = self._clock()
        with self._lock:
            self._seen[(namespace, pipeline)] = now

    def admit(self, namespace: str, held_in_family: int, *, limit: int | None = None,
              budget: str = BUDGET_SERIES) -> bool:
        """Whether `namespace`, holding `held_in_family` series of a family, may add one;
        `limit` and `budget` name a family's own per-namespace budget (check series)."""
        limit = self.max_series_per_namespace if limit is None else limit
        with self._lock:
            if namespace not in self._held and len(self._held) >= self.max_namespaces:
                over = (OTHER_NAMESPACES, BUDGET_NAMESPACES)
            elif held_in_family >= limit:
                over = (namespace, budget)
            else:
                self._held[namespace] = self._held.get(namespace, 0) + 1
                return True
        self._on_over(*over)
        return False

    def over(self, namespace: str, budget: str) -> None:
        """Count one thing refused to `namespace` by `budget`."""
        self._on_over(namespace, budget)

    def released(self, namespace: str, count: int = 1) -> None:
        """`count` series of `namespace` were dropped (by retention or eviction)."""
        with self._lock:
            left = self._held.get(namespace, 0) - count
            if left > 0:
                self._held[namespace] = left
            else:
                self._held.pop(namespace, None)

    def holds(self, namespace: str) -> bool:
        """Whether `namespace` holds series now (is admitted)."""
        with self._lock:
            return namespace in self._held

    def namespaces(self) -> int:
        """Namespaces holding series now."""
        with self._lock:
            return len(self._held)

    # --- retention -----------------------------------------------------------------------------

    def sweep(self, *, force: bool = False) -> int:
        """Release the series of pipelines not seen within the retention window (at most once
        per `min(60 s, retention / 10)` unless `force`); returns how many series went.

        Must be called holding none of the registered tables' locks.
        """
        if not self._sweeping.acquire(blocking=False):
            return 0  # another scrape is sweeping now
        try:
            return self._sweep(force)
        finally:
            self._sweeping.release()

    def _sweep(self, force: bool) -> int:
        now = self._clock()
        if not force and now < self._next_sweep:
            return 0
        self._next_sweep = now + min(60.0, self.retention_seconds / 10)
        alive = [key for pipelines in self._keep_alive for key in pipelines()]
        horizon = now - self.retention_seconds
        with self._lock:
            for key in alive:
                self._seen[key] = now
            gone = [key for key, seen in self._seen.items() if seen < horizon]
            for key in gone:
                del self._seen[key]
        gone_set = set(gone)

        def stale(namespace: str, pipeline: str) -> bool:
            key = (namespace, pipeline)
            # Forgotten now, or never seen since the table made the series (or before).
            return key in gone_set or key not in self._seen

        released = 0
        for table, lock in self._tables:
            with lock:
                released += table.release(stale)
        for key in gone:
            for listener in self._forget:
                listener(*key)
        return released


class _Tenanted:
    """What a table needs to keep a tenant budget: its series per namespace."""

    def __init__(self, family: Family, tenants: TenantBudget | None) -> None:
        keyed = family.labels[:1] == ("namespace",)
        self._tenants = tenants if keyed else None
        self._pipeline_keyed = family.labels[:2] == ("namespace", "pipeline")
        self._per_namespace: dict[str, int] = {}

    def _admit_tenant(self, labels: Labels) -> bool:
        if self._tenants is None:
            return True
        namespace = labels[0]
        if not self._tenants.admit(namespace, self._per_namespace.get(namespace, 0)):
            return False
        self._per_namespace[namespace] = self._per_namespace.get(namespace, 0) + 1
        if self._pipeline_keyed:
            self._tenants.touch(namespace, labels[1])
        return True

    def _release_keys(self, keys: Iterable[Labels], values: dict[Labels, Any]) -> int:
        count = 0
        for labels in list(keys):
            del values[labels]
            count += 1
            if self._tenants is not None:
                namespace = labels[0]
                left = self._per_namespace[namespace] - 1
                if left:
                    self._per_namespace[namespace] = left
                else:
                    del self._per_namespace[namespace]
                self._tenants.released(namespace)
        return count


@dataclass(slots=True)
class _Histogram:
    counts: list[int]
    total: float = 0.0


class CounterTable(_Tenanted):
    """Monotonic values per label tuple, capped in the number of label tuples (in all, and
    per namespace with `tenants`)."""

    def __init__(self, family: Family, max_series: int, on_drop: DropHook,
                 tenants: TenantBudget | None = None) -> None:
        super().__init__(family, tenants)
        self.family = family
        self._max_series = max_series
        self._on_drop = on_drop
        self._values: dict[Labels, float] = {}
        # Moves on with every change, so a renderer can tell an unchanged table.
        self.version = 0

    def inc(self, labels: Labels, amount: float = 1.0) -> None:
        """Add `amount` to the series `labels` (created if the caps allow)."""
        self.version += 1
        if labels in self._values:
            self._values[labels] += amount
        elif len(self._values) >= self._max_series:
            self._on_drop(self.family.name)
        elif self._admit_tenant(labels):
            self._values[labels] = amount

    def release(self, stale: Callable[[str, str], bool]) -> int:
        """Forget the series of stale pipelines (see `TenantBudget.sweep`)."""
        if not self._pipeline_keyed:
            return 0
        self.version += 1
        return self._release_keys((k for k in self._values if stale(k[0], k[1])),
                                  self._values)

    def snapshot(self) -> list[tuple[Labels, float]]:
        """Every series and its value, copied (taken under the owner's lock, rendered after)."""
        return list(self._values.items())


class HistogramTable(_Tenanted):
    """Histograms per label tuple with the family's fixed buckets, capped like counters."""

    def __init__(self, family: Family, max_series: int, on_drop: DropHook,
                 tenants: TenantBudget | None = None) -> None:
        super().__init__(family, tenants)
        self.family = family
        self._bounds = family.buckets
        self._max_series = max_series
        self._on_drop = on_drop
        self._values: dict[Labels, _Histogram] = {}
        self.version = 0  # moves on with every change (see CounterTable)
        # The `le` label of each bucket, as the exposition writes it.
        self.bucket_names = [_float_text(bound) for bound in self._bounds] + ["+Inf"]

    def observe(self, labels: Labels, value: float) -> None:
        """Record one observation."""
        self.version += 1
        histogram = self._values.get(labels)
        if histogram is None:
            if len(self._values) >= self._max_series:
                self._on_drop(self.family.name)
                return
            if not self._admit_tenant(labels):
                return
            histogram = self._values[labels] = _Histogram([0] * (len(self._bounds) + 1))
        histogram.counts[bisect.bisect_left(self._bounds, value)] += 1
        histogram.total += value

    def snapshot(self) -> list[tuple[Labels, list[int], float]]:
        """Every series' per-bucket counts and sum, copied (taken under the owner's lock)."""
        return [(labels, list(h.counts), h.total) for labels, h in self._values.items()]

    def release(self, stale: Callable[[str, str], bool]) -> int:
        """Forget the series of stale pipelines (see `TenantBudget.sweep`)."""
        if not self._pipeline_keyed:
            return 0
        self.version += 1
        return self._release_keys((k for k in self._values if stale(k[0], k[1])),
                                  self._values)


@dataclass(slots=True)
class LabelBudget:
    """Caps the distinct label tuples a computed (gauge) family may emit in one scrape: in
    all, and per namespace (and in namespaces) with `tenants`, when its first label is one."""

    family: Family
    max_series: int
    on_drop: DropHook
    tenants: TenantBudget | None = None
    seen: set[Labels] = field(default_factory=set)
    per_namespace: dict[str, int] = field(default_factory=dict)
    newcomers: int = 0

    def admit(self, labels: Labels) -> bool:
        """True if the series may be emitted; counts a drop otherwise."""
        if labels in self.seen:
            return True
        if len(self.seen) >= self.max_series:
            self.on_drop(self.family.name)
            return False
        tenants = self.tenants
        if tenants is not None and self.family.labels[:1] == ("namespace",):
            namespace = labels[0]
            held = self.per_namespace.get(namespace)
            # The namespaces admitted are the tables' (so every family shows the same ones),
            # plus, while there is room, namespaces that have only gauges so far.
            if held is None and not tenants.holds(namespace):
                if tenants.namespaces() + self.newcomers >= tenants.max_namespaces:
                    tenants.over(OTHER_NAMESPACES, BUDGET_NAMESPACES)
                    return False
                self.newcomers += 1
            if (held or 0) >= tenants.max_series_per_namespace:
                tenants.over(namespace, BUDGET_SERIES)
                return False
            self.per_namespace[namespace] = (held or 0) + 1
        self.seen.add(labels)
        return True


def _float_text(value: float) -> str:
    return repr(float(value))
