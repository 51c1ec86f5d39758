"""Wiring: a model, its sources and plug-ins, a registry and the HTTP server."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric

from argoscope.exporter.model import Model, ModelConfig
from argoscope.exporter.series import (
    DEFAULT_MAX_NAMESPACES,
    DEFAULT_MAX_SERIES_PER_NAMESPACE,
    DEFAULT_SERIES_RETENTION_SECONDS,
)
from argoscope.exporter.server import (
    DEFAULT_REQUEST_TIMEOUT_SECONDS,
    MetricsServer,
    build_registry,
)
from argoscope.exporter.sources import Source, SourceError
from argoscope.exporter.stats import ExporterStats

log = logging.getLogger("argoscope.exporter")


class Plugin(Protocol):
    """A plug-in with its own collection (DCGM scraping): served beside the model.

    Plug-ins may also define `run(stop)` (a live loop, started in a thread by `serve`) and
    `refresh_once()` (called by `--once` before printing).
    """

    def collect(self) -> Iterable[Metric]:
        """The plug-in's families, fresh per scrape."""


@dataclass
class Exporter:
    """A configured exporter: the model, its sources, and everything it serves."""

    model: Model
    sources: list[Source]
    extra_collects: list[Plugin] = field(default_factory=list)

    def collect(self) -> Iterable[Metric]:
        """Model families then the exporter's own, fresh per scrape."""
        yield from self.model.collect()
        yield from self.model.stats.collect()

    def registry(self) -> CollectorRegistry:
        """A registry serving this exporter's families and its plug-ins'."""
        # One collector per part, each describing its families (a name served twice is
        # refused here): should one fail, the others, and the exporter's own families (which
        # count the failure), are still served.
        return build_registry(*self.model.collectors(), self.model.stats, *self.extra_collects,
                              on_error=self.model.stats.collect_error)


def open_source(spec: str, model: Model, args: argparse.Namespace) -> Source:
    """The source named by `--source`: `kubernetes`, `file:PATH` or `local:DIR`."""
    kind, _, rest = spec.partition(":")
    if kind == "file":
        if not rest:
            raise SourceError("--source file: needs a path, as in file:dump.yaml")
        from argoscope.exporter.sources.file import FileSource

        return FileSource(model, Path(rest))
    if kind == "kubernetes":
        from argoscope.exporter.sources.kubernetes import KubernetesSource

        return KubernetesSource(model, namespaces=args.namespace or [],
                                kubeconfig=args.kubeconfig, context=args.context)
    if kind == "local":
        if not rest:
            raise SourceError("--source local: needs a state directory, as in local:.state")
        from argoscope.exporter.sources.local import LocalSource

        return LocalSource(model, Path(rest))
    raise SourceError(f"unknown source {spec!r}: use kubernetes, file:PATH or local:DIR")


def build_exporter(args: argparse.Namespace) -> Exporter:
    """Build an exporter from parsed command-line arguments."""
    config = ModelConfig(
        recent_runs_retention_seconds=args.recent_runs_retention,
        recent_runs_max=args.recent_runs_max,
        max_series_per_family=args.max_series_per_family,
        max_fallback_pipelines_per_namespace=getattr(args, "max_pipelines_per_namespace", 100),
        pod_wait_seconds=getattr(args, "pod_wait", 10.0),
        max_series_per_namespace=getattr(args, "max_series_per_namespace",
                                         DEFAULT_MAX_SERIES_PER_NAMESPACE),
        max_namespaces=getattr(args, "max_namespaces", DEFAULT_MAX_NAMESPACES),
        series_retention_seconds=getattr(args, "series_retention",
                                         DEFAULT_SERIES_RETENTION_SECONDS),
    )
    model = Model(config)
    # Plug-ins that read finished nodes (check documents) register here.
    _add_observers(model, args)
    sources = [open_source(spec, model, args) for spec in args.source]
    exporter = Exporter(model, sources)
    # Plug-ins with their own scrape loop (DCGM) register here.
    _add_collectors(exporter, args)
    _add_cost(exporter, args)
    return exporter


def _add_cost(exporter: Exporter, args: argparse.Namespace) -> None:
    """`--prices`: the cost observer, its feed (OpenCost, settling) and, when node rules
    need them and the cluster is watched, a Node source; DCGM idle time priced too."""
    from argoscope.exporter.opencost import cost_from_args

    found = cost_from_args(exporter.model, args)
    if found is None:
        return
    cost, feed = found
    exporter.model.observers.append(cost)
    exporter.extra_collects.append(feed)
    for plugin in exporter.extra_collects:
        listeners = getattr(plugin, "interval_listeners", None)
        if listeners is not None:
            listeners.append(cost.gpu_interval)
    if cost.needs_nodes and "kubernetes" in args.source:
        from argoscope.exporter.sources.nodes import NodeSource

        exporter.sources.append(NodeSource(exporter.model, args.kubeconfig, args.context))


def _add_observers(model: Model, args: argparse.Namespace) -> None:
    """Attach node observers: the reader of `argoscope-checks` documents."""
    from argoscope.exporter.checkdocs import CheckDocuments

    model.observers.append(CheckDocuments(
        model.stats, max_series=model.config.max_series_per_family,
        max_series_per_namespace=getattr(args, "max_check_series_per_namespace",
                                         DEFAULT_MAX_SERIES_PER_NAMESPACE),
        retention_seconds=getattr(args, "check_retention", 3 * 86400.0), clock=model.clock,
        tenants=model.tenants))


def _add_collectors(exporter: Exporter, args: argparse.Namespace) -> None:
    """Attach plug-ins with their own collection: DCGM scraping when `--dcgm-*` asks for it."""
    from argoscope.exporter.gpu import attribution_from_args

    gpu = attribution_from_args(exporter.model, args)
    if gpu is not None:
        exporter.extra_collects.append(gpu)


def run_once(exporter: Exporter) -> bytes:
    """Load every source once and return the exposition text."""
    for source in exporter.sources:
        source.snapshot()
    # Everything there is has been delivered: no attempt waits for a pod still to come.
    exporter.model.settle()
    for plugin in exporter.extra_collects:
        refresh = getattr(plugin, "refresh_once", None)
        if refresh is not None:
            refresh()
    return generate_latest(exporter.registry())


def supervise(source: Source, stats: ExporterStats, stop: threading.Event, *,
              backoff_seconds: float = 1.0, backoff_max_seconds: float = 60.0) -> None:
    """Run `source` until `stop`, restarting it with backoff whenever it dies.

    Sources catch what one object can do; this is for what they did not foresee. While a
    source is down, `argoscope_exporter_source_up{source}` is 0 and `/readyz` answers 503.
    """
    failures = 0
    while not stop.is_set():
        started = time.monotonic()
        try:
            source.run(stop)
            if stop.is_set():
                return
            error: BaseException = RuntimeError("returned before being stopped")
        except Exception as exc:
            error = exc
        stats.source_up(source.name, False)
        stats.source_restart(source.name)
        # A source that ran a good while before dying starts again from a short backoff.
        failures = 1 if time.monotonic() - started > backoff_max_seconds else failures + 1
        delay = min(backoff_max_seconds, backoff_seconds * 2 ** (failures - 1))
        log.error("source %s died (%s: %s); restarting in %.1fs", source.name,
                  type(error).__name__, error, delay, exc_info=error)
        if stop.wait(delay):
            return
        stats.source_up(source.name, True)


def serve(exporter: Exporter, host: str, port: int,
          args: argparse.Namespace | None = None) -> int:
    """Follow every source and serve until SIGINT or SIGTERM."""
    stop = threading.Event()
    stats = exporter.model.stats
    try:  # binding: a port in use or not ours is bad input, named (exit 2)
        server = MetricsServer(exporter.registry(), host, port, lambda: stats.ready,
                               on_error=stats.collect_error, on_refused=stats.connection_refused,
                               on_deadline=stats.http_deadline,
                               request_timeout=getattr(args, "http_request_timeout",
                                                       DEFAULT_REQUEST_TIMEOUT_SECONDS))
    except OSError as error:
        raise OSError(error.errno, error.strerror or str(error),
                      f"--listen {host}:{port}") from None
    server.start()
    log.info("serving on http://%s:%d/metrics", host, server.port)
    threads = [
        threading.Thread(target=supervise, args=(source, exporter.model.stats, stop),
                         name=f"source-{source.name}", daemon=True)
        for source in exporter.sources
    ]
    for plugin in exporter.extra_collects:
        run = getattr(plugin, "run", None)
        if run is not None:
            threads.append(threading.Thread(target=run, args=(stop,), daemon=True))
    for thread in threads:
        thread.start()

    def _stop(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


def main(args: argparse.Namespace) -> int:
    """`argoscope exporter`: exit 2 on a source that cannot work, 0 otherwise."""
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        exporter = build_exporter(args)
        if args.once:
            sys.stdout.buffer.write(run_once(exporter))
            sys.stdout.flush()
            return 0
    except SourceError as error:
        print(f"argoscope exporter: {error}", file=sys.stderr)
        return 2
    host, _, port = args.listen.rpartition(":")
    return serve(exporter, host or "0.0.0.0", int(port), args)
