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

log = logging.getLogger("argoscope.exporter")


class ExporterStats:
    """Counters about the exporter's own health; thread-safe, logging each kind of fault once."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.events: dict[tuple[str, ...], float] = {}
        self.watch_restarts: dict[tuple[str, ...], float] = {}
        self.skipped: dict[tuple[str, ...], float] = {}
        self.dropped: dict[str, float] = {}
        self.last_event: dict[str, float] = {}
        self._logged: set[tuple[str, ...]] = set()
        self._expected_sources: set[str] = set()
        self._ready_sources: set[str] = set()

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

    def drop(self, family: str) -> None:
        """Record a series refused by a cap."""
        with self._lock:
            self.dropped[family] = self.dropped.get(family, 0.0) + 1
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

    @property
    def ready(self) -> bool:
        """True once every expected source has delivered its first list."""
        with self._lock:
            return self._expected_sources <= self._ready_sources

    def collect(self) -> Iterable[Metric]:
        """The `argoscope_exporter_*` families."""
        now = self._clock()
        with self._lock:
            tables: list[tuple[f.Family, dict[tuple[str, ...], float]]] = [
                (f.EXPORTER_EVENTS, self.events),
                (f.EXPORTER_WATCH_RESTARTS, self.watch_restarts),
                (f.EXPORTER_OBJECTS_SKIPPED, self.skipped),
                (f.EXPORTER_SERIES_DROPPED, {(k,): v for k, v in self.dropped.items()}),
                (f.EXPORTER_LAST_EVENT_AGE,
                 {(k,): max(0.0, now - v) for k, v in self.last_event.items()}),
            ]
            ready = self._expected_sources <= self._ready_sources
        for family, values in tables:
            metric = family.new()
            for labels, value in sorted(values.items()):
                metric.add_metric(labels, value)  # type: ignore[attr-defined]
            yield metric
        info = f.EXPORTER_BUILD_INFO.new()
        info.add_metric((__version__, platform.python_version()), 1.0)  # type: ignore[attr-defined]
        yield info
        ready_metric = f.EXPORTER_READY.new()
        ready_metric.add_metric((), 1.0 if ready else 0.0)  # type: ignore[attr-defined]
        yield ready_metric
