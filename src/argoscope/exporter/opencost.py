"""Node prices from OpenCost (`--prices opencost:URL`), and the loop that settles cost.

OpenCost's `/metrics` serves `node_cpu_hourly_cost` (per vCPU), `node_ram_hourly_cost` (per
GiB) and `node_gpu_hourly_cost` (per GPU), each labelled with the `node`. The page is fetched
by the same code as dcgm-exporter targets (`dcgm.fetch`: one deadline for the whole request,
redirects refused, a body size cap), so a slow or hostile OpenCost is cut off the same way.
A price that is negative, not finite or above `MAX_PRICE` is ignored for that node.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families

from argoscope.cost.prices import MAX_PRICE, Prices
from argoscope.exporter import families as f
from argoscope.exporter import render
from argoscope.exporter.cost import CostAttribution
from argoscope.exporter.dcgm import DEFAULT_MAX_BODY_BYTES, REASON_GARBAGE, ScrapeError, fetch
from argoscope.exporter.series import CounterTable
from argoscope.exporter.stats import ExporterStats

log = logging.getLogger("argoscope.exporter.opencost")

PREFIX = "opencost:"
_FIELDS: Mapping[str, str] = {
    "node_cpu_hourly_cost": "cpu_core_hour",
    "node_ram_hourly_cost": "memory_gib_hour",
    "node_gpu_hourly_cost": "gpu_hour",
}
# Settle pending attempts at least this often, whatever the scrape interval.
SETTLE_INTERVAL = 60.0


def parse_node_prices(page: str, where: str = "opencost") -> dict[str, Prices]:
    """Per-node prices from an OpenCost page; a price a node lacks is 0 (no GPU, say).

    Raises ScrapeError(garbage) when the page is not Prometheus text.
    """
    found: dict[str, dict[str, float]] = {}
    try:
        for family in text_string_to_metric_families(page):
            for sample in family.samples:
                key = _FIELDS.get(sample.name)
                node = sample.labels.get("node", "")
                if key is None or not node:
                    continue
                try:
                    value = float(sample.value)
                except OverflowError:
                    continue
                if math.isfinite(value) and 0 <= value <= MAX_PRICE:
                    found.setdefault(node, {})[key] = value
    except (ValueError, IndexError, KeyError, TypeError) as error:
        raise ScrapeError(REASON_GARBAGE, f"{where}: not Prometheus text: {error}") from error
    return {node: Prices(values.get("cpu_core_hour", 0.0), values.get("memory_gib_hour", 0.0),
                         values.get("gpu_hour", 0.0))
            for node, values in found.items()}


class CostFeed:
    """A plug-in beside the cost observer: scrapes OpenCost (when given) and settles cost.

    `refresh_once` (for `--once`) scrapes once and settles everything still pending; `run`
    scrapes every `interval` and settles attempts past their grace period.
    """

    def __init__(self, cost: CostAttribution, stats: ExporterStats, *, url: str | None = None,
                 interval: float = 300.0, timeout: float = 5.0,
                 max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, max_series: int = 10_000,
                 fetcher: Callable[[str, float, int], str] = fetch) -> None:
        self.cost = cost
        self.url = url
        self.interval = interval
        self.timeout = timeout
        self.max_body_bytes = max_body_bytes
        self._stats = stats
        self._fetch = fetcher
        self._lock = threading.Lock()
        self._up: float | None = None
        self.errors = CounterTable(f.OPENCOST_SCRAPE_ERRORS, max_series, stats.drop)

    def scrape(self) -> None:
        """Fetch and apply OpenCost's node prices once; a failure keeps the known prices."""
        if self.url is None:
            return
        try:
            prices = parse_node_prices(self._fetch(self.url, self.timeout, self.max_body_bytes),
                                       self.url)
        except ScrapeError as error:
            with self._lock:
                self._up = 0.0
                self.errors.inc((self.url, error.reason))
            self._stats.log_once(("opencost", self.url, error.reason),
                                 "OpenCost scrape failed (%s), keeping the known prices: %s",
                                 error.reason, error.detail)
            return
        with self._lock:
            self._up = 1.0
        self.cost.set_node_prices(prices)

    def refresh_once(self) -> None:
        """Scrape once, then settle every attempt still pending (a one-shot snapshot)."""
        self.scrape()
        self.cost.settle(final=True)

    def run(self, stop: threading.Event) -> None:
        """Scrape every `interval` and settle every minute until `stop` is set."""
        next_scrape = 0.0
        while not stop.is_set():
            try:
                if time.monotonic() >= next_scrape:
                    next_scrape = time.monotonic() + self.interval
                    self.scrape()
                self.cost.settle()
            except Exception as error:  # a bug here must not end pricing for good
                # Counted (objects_skipped{resource="cost"}) and logged once per kind, as
                # every boundary fault is, not a traceback every interval.
                self._stats.fault("cost", error, "the OpenCost refresh loop")
            stop.wait(min(SETTLE_INTERVAL, self.interval))

    def describe(self) -> Iterable[Metric]:
        """The OpenCost health families (none without OpenCost)."""
        if self.url is None:
            return []
        return [f.OPENCOST_UP.new(), f.OPENCOST_SCRAPE_ERRORS.new()]

    def collect(self) -> Iterable[Metric]:
        """OpenCost's scrape health, when OpenCost is the price source."""
        if self.url is None:
            return []
        with self._lock:
            up = [] if self._up is None else [((self.url,), self._up)]
            errors = self.errors.snapshot()
        return [render.gauge(f.OPENCOST_UP, up), render.counter(f.OPENCOST_SCRAPE_ERRORS, errors)]


def cost_from_args(model: Any, args: Any) -> tuple[CostAttribution, CostFeed] | None:
    """The cost observer and its feed that `--prices` asks for, or None without it.

    Raises SourceError (exit 2) for a price file that cannot be used.
    """
    spec = getattr(args, "prices", None)
    if not spec:
        return None
    from argoscope.cost.prices import PriceFileError, load_prices
    from argoscope.exporter.sources import SourceError

    cap = model.config.max_series_per_family
    if spec.startswith(PREFIX):
        url = spec[len(PREFIX):]
        if not url.startswith(("http://", "https://")):
            raise SourceError(f"--prices {spec}: expected opencost:http(s)://HOST:PORT/metrics")
        cost = CostAttribution(model.stats, None, max_series=cap, clock=model.clock)
    else:
        url = None
        try:
            book = load_prices(spec)
        except PriceFileError as error:
            raise SourceError(f"--prices: {error}") from None
        # Node rules wait for Node objects only where a source can deliver them.
        sources = [str(source).partition(":")[0] for source in getattr(args, "source", [])]
        cost = CostAttribution(model.stats, book, max_series=cap, clock=model.clock,
                               wait_for_nodes="kubernetes" in sources or "file" in sources)
    feed = CostFeed(cost, model.stats, url=url,
                    interval=float(getattr(args, "prices_interval", 300.0)),
                    timeout=float(getattr(args, "dcgm_timeout", 5.0)), max_series=cap)
    return cost, feed
