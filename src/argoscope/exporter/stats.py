"""The exporter's account of itself: events, watch restarts, lag, skipped objects, drops."""

from __future__ import annotations

import logging
import platform
import threading
import time
from collections.abc import Callable, Iterable

from prometheus_client.core import Metric

from argoscope import __version__
from argoscope.exporter import families as f
from argoscope.exporter import render

log = logging.getLogger("argoscope.exporter")


class ExporterStats:
    """Counters about the exporter's own health; thread-safe, logging each kind of fault once."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.events: dict[tuple[str, ...], float] = {}
        self.watch_restarts: dict[tuple[str, ...], float] = {}
        self.skipped: dict[tuple[str, ...], float] = {}
        self.unknown_reasons: dict[tuple[str, ...], float] = {}
        self.dropped: dict[str, float] = {}
        self.last_event: dict[str, float] = {}
        self._logged: set[tuple[str, ...]] = set()
        self.over_budget: dict[tuple[str, ...], float] = {}
        self.source_restarts: dict[tuple[str, ...], float] = {}
        self.collect_errors: dict[tuple[str, ...], float] = {}
        self.connections_refused = 0.0
        self.http_deadlines: dict[tuple[str, ...], float] = {}
        self._expected_sources: set[str] = set()
        self._ready_sources: set[str] = set()
        self._sources_down: set[str] = set()

    def log_once(self, key: tuple[str, ...], message: str, *args: object) -> None:
        """Log a warning the first time `key` is seen; later repeats are only counted."""
        with self._lock:
            if key in self._logged:
                return
            self._logged.add(key)
        log.warning(message, *args)

    def event(self, resource: str, kind: str, count: int = 1) -> None:
        """Record that the source delivered `count` objects (or a bookmark) for `resource`."""
        with self._lock:
            key = (resource, kind)
            self.events[key] = self.events.get(key, 0.0) + count
            self.last_event[resource] = self._clock()

    def watch_restart(self, resource: str, reason: str) -> None:
        """Record a watch that ended and was started again."""
        with self._lock:
            key = (resource, reason)
            self.watch_restarts[key] = self.watch_restarts.get(key, 0.0) + 1

    def skip(self, resource: str, reason: str, detail: str) -> None:
        """Record a malformed or unknown object, logging the first of each kind."""
        with self._lock:
            key = (resource, reason)
            self.skipped[key] = self.skipped.get(key, 0.0) + 1
        self.log_once(("skip", resource, reason), "skipped %s (%s): %s", resource, reason, detail)

    def fault(self, resource: str, error: BaseException, where: str) -> None:
        """Record an exception caught at a boundary (one object, node or document).

        The reason says what kind of fault it was, so each kind is logged once: `malformed`
        (a value of the wrong shape), `too_deep` (nesting past the recursion limit),
        `out_of_range` (a number too large to convert), `error` (anything else: a bug, logged
        with its traceback once).
        """
        reason = fault_reason(error)
        with self._lock:
            key = (resource, reason)
            self.skipped[key] = self.skipped.get(key, 0.0) + 1
            first = ("skip", resource, reason) not in self._logged
            self._logged.add(("skip", resource, reason))
        if first:
            log.warning("skipped %s (%s): %s: %s: %s; later ones are only counted", resource,
                        reason, where, type(error).__name__, error,
                        exc_info=error if reason == "error" else None)

    def unknown_reason(self, source: str, value: str) -> None:
        """Record a failure cause outside the reason vocabulary (logged once per source)."""
        with self._lock:
            key = (source,)
            self.unknown_reasons[key] = self.unknown_reasons.get(key, 0.0) + 1
        self.log_once(("unknown_reason", source),
                      "failure reason outside the vocabulary from the %s: %r counted as Error "
                      "(later ones are only counted)", source, value[:200])

    def over_namespace_budget(self, namespace: str, budget: str) -> None:
        """Record something refused because `namespace` used up its share of `budget`."""
        with self._lock:
            key = (namespace, budget)
            self.over_budget[key] = self.over_budget.get(key, 0.0) + 1
        self.log_once(("budget", namespace, budget),
                      "namespace %s reached its %s budget; the excess is counted, not exported",
                      namespace, budget)

    def drop(self, family: str, count: int = 1) -> None:
        """Record `count` series refused by a cap."""
        with self._lock:
            self.dropped[family] = self.dropped.get(family, 0.0) + count
        self.log_once(("drop", family), "series cap reached for %s; further series dropped", family)

    def expect_source(self, name: str) -> None:
        """Declare a source that must deliver its first list before the exporter is ready."""
        with self._lock:
            self._expected_sources.add(name)

    def source_ready(self, name: str) -> None:
        """Mark a source as having delivered its first complete list."""
        with self._lock:
            self._ready_sources.add(name)
            self.last_event.setdefault(name, self._clock())

    def source_up(self, name: str, up: bool) -> None:
        """Mark a source as working (`up`) or down (crashed and awaiting restart, or failing
        to reach what it reads)."""
        with self._lock:
            if up:
                self._sources_down.discard(name)
            else:
                self._sources_down.add(name)

    def collect_error(self, collector: str) -> None:
        """Record a scrape in which `collector` failed (its families were left out)."""
        with self._lock:
            key = (collector,)
            self.collect_errors[key] = self.collect_errors.get(key, 0.0) + 1

    def connection_refused(self) -> None:
        """Record an HTTP connection refused at the connection cap (logged the first time)."""
        with self._lock:
            self.connections_refused += 1
        self.log_once(("http", "connections_refused"),
                      "HTTP connection refused: the cap on concurrent connections was reached "
                      "(answered 503); later refusals are only counted")

    def http_deadline(self, phase: str) -> None:
        """Record an HTTP connection cut at its whole-request deadline (logged the first time)."""
        with self._lock:
            self.http_deadlines[(phase,)] = self.http_deadlines.get((phase,), 0.0) + 1
        self.log_once(("http", "deadline", phase),
                      "HTTP connection cut at the request deadline (%s); later ones are only "
                      "counted", phase)

    def source_restart(self, name: str) -> None:
        """Record a source thread that died and is being restarted."""
        with self._lock:
            self.source_restarts[(name,)] = self.source_restarts.get((name,), 0.0) + 1

    @property
    def ready(self) -> bool:
        """True once every expected source has delivered its first list and none is down."""
        with self._lock:
            return self._expected_sources <= self._ready_sources and not self._sources_down

    def describe(self) -> Iterable[Metric]:
        """The families `collect` serves, empty (the registry refuses duplicate names)."""
        return [family.new() for family, _ in self._snapshot()]

    def collect(self) -> Iterable[Metric]:
        """The `argoscope_exporter_*` families: copied under the lock, rendered after it."""
        return [render.counter(family, series) if family.kind == "counter"
                else render.gauge(family, series)
                for family, series in self._snapshot()]

    def _snapshot(self) -> list[tuple[f.Family, list[tuple[tuple[str, ...], float]]]]:
        """Each family served, next to its series (sorted copies), in serving order."""
        now = self._clock()
        with self._lock:
            ready = self._expected_sources <= self._ready_sources and not self._sources_down
            return [
                (f.EXPORTER_EVENTS, sorted(self.events.items())),
                (f.EXPORTER_WATCH_RESTARTS, sorted(self.watch_restarts.items())),
                (f.EXPORTER_OBJECTS_SKIPPED, sorted(self.skipped.items())),
                (f.EXPORTER_UNKNOWN_REASONS, sorted(self.unknown_reasons.items())),
                (f.EXPORTER_SERIES_DROPPED, sorted(((k,), v) for k, v in self.dropped.items())),
                (f.EXPORTER_LAST_EVENT_AGE,
                 sorted(((k,), max(0.0, now - v)) for k, v in self.last_event.items())),
                (f.EXPORTER_NAMESPACE_BUDGET_EXCEEDED, sorted(self.over_budget.items())),
                (f.EXPORTER_SOURCE_RESTARTS, sorted(self.source_restarts.items())),
                (f.EXPORTER_COLLECT_ERRORS, sorted(self.collect_errors.items())),
                (f.EXPORTER_CONNECTIONS_REFUSED, [((), self.connections_refused)]),
                (f.EXPORTER_HTTP_DEADLINES, sorted(self.http_deadlines.items())),
                (f.EXPORTER_SOURCE_UP,
                 sorted(((name,), 0.0 if name in self._sources_down else 1.0)
                        for name in self._expected_sources | self._sources_down)),
                (f.EXPORTER_BUILD_INFO, [((__version__, platform.python_version()), 1.0)]),
                (f.EXPORTER_READY, [((), 1.0 if ready else 0.0)]),
            ]


def fault_reason(error: BaseException) -> str:
    """The `reason` label for an exception caught at a boundary."""
    if isinstance(error, RecursionError):
        return "too_deep"
    if isinstance(error, OverflowError):
        return "out_of_range"
    if isinstance(error, (ValueError, TypeError, KeyError, AttributeError, IndexError)):
        return "malformed"
    return "error"
