"""Cost per step and per run (`--prices`): a plug-in joining attempts, pods and node prices.

A finished pod attempt costs, per resource, its pod's effective request (`argoscope.cost.
requests`) x the hourly price of the node it ran on x its window from the Argo node's
`startedAt` to `finishedAt` (`argoscope.cost.formula`). Three things must meet for that: the
attempt's window (from the Workflow), its pod (requests and `spec.nodeName`) and the node's
price (the price file's default, a node rule needing the Node object, or OpenCost's page).
They arrive in any order, so each waits in a pending table until the others come; an attempt
is priced once, when the last piece arrives, and counted only when the store counts it (not
replayed history), like `argoscope_step_runs_total`.

What never arrives is settled by `settle`: at the end of a one-shot snapshot (`--once`) and,
live, for attempts pending longer than `grace_seconds`. A pod whose node has no known price
is then priced at the file's default (OpenCost has none: unpriced); an attempt whose pod never
came costs nothing. Both are counted in `argoscope_exporter_objects_skipped_total{resource=
"cost"}`. A run's total is observed once, when it has finished and none of its attempts is
pending, and only when at least one of its pods was seen and none of its attempts was history
at a live source's first list (a run whose node status was offloaded, whose pods were never
seen, or that was half done when the exporter started has no known cost, not a cost of 0).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import Metric

from argoscope.cost.formula import Amounts, amounts, attempt_cost, window
from argoscope.cost.prices import PriceBook, Prices
from argoscope.cost.requests import pod_requests
from argoscope.exporter import families as f
from argoscope.exporter import render
from argoscope.exporter.objects import (
    NODE_ID_ANNOTATION,
    WORKFLOW_LABEL,
    cap_label,
    mapping,
    parse_time,
    text,
)
from argoscope.exporter.records import StepRef
from argoscope.exporter.series import CounterTable, HistogramTable
from argoscope.exporter.stats import ExporterStats
from argoscope.exporter.store import NODES, PODS
from argoscope.exporter.thresholds import IDLE_GPU_UTILIZATION

log = logging.getLogger("argoscope.exporter.cost")

RESOURCE = "cost"  # the `resource` label of skipped-object counts
NOT_RUN = frozenset({"Skipped", "Omitted"})
DEFAULT_GRACE_SECONDS = 600.0
# Pending pods, attempts and runs kept at most (each a few hundred bytes); beyond, the oldest
# is settled early rather than memory growing without bound.
DEFAULT_MAX_PENDING = 100_000
# A run not finished within this long after its last attempt is forgotten (deleted unseen).
RUN_RETENTION_SECONDS = 7 * 86_400.0
MAX_NODES = 50_000
# A deleted Node's price is kept this long (its pods' attempts may still be settling), then
# forgotten, so autoscaled node churn does not fill the node table.
NODE_RETENTION_SECONDS = 86_400.0

Key = tuple[str, str, str]  # (namespace, workflow, node id)


@dataclass(slots=True)
class _Pod:
    requests: Amounts  # floats, not the exact Decimals: kept for every live step pod
    node: str
    seen: float  # the latest event
    priced: bool = False
    gone: float | None = None


@dataclass(slots=True)
class _Attempt:
    step: StepRef
    seconds: float
    count: bool
    since: float


@dataclass(slots=True)
class _Run:
    pipeline: str
    since: float
    open: set[str] = field(default_factory=set)
    priced: int = 0  # attempts whose pod was seen
    partial: bool = False  # some attempt finished before a live source's first list
    total: float = 0.0
    phase: str = ""
    count: bool = False


class CostAttribution:
    """A NodeObserver pricing finished attempts and runs; serves the cost families.

    Prices come from `book` (a price file) or, when `book` is None, from `set_node_prices`
    (OpenCost, fed by `OpenCostFeed`). Thread-safe; its lock nests inside the store's and the
    GPU attribution's, and it never takes theirs.
    """

    resource = RESOURCE

    def __init__(self, stats: ExporterStats, book: PriceBook | None, *, currency: str = "USD",
                 max_series: int = 10_000, clock: Callable[[], float] = time.time,
                 grace_seconds: float = DEFAULT_GRACE_SECONDS,
                 max_pending: int = DEFAULT_MAX_PENDING, wait_for_nodes: bool = True) -> None:
        self._stats = stats
        self._book = book
        self.currency = book.currency if book is not None else currency
        self._clock = clock
        self._grace = grace_seconds
        self._max_pending = max_pending
        # Whether a node rule waits for its Node object: only where some source can deliver
        # Nodes (a cluster watch, a dump); otherwise every node takes the default at once.
        self._wait_for_nodes = wait_for_nodes
        self._lock = threading.Lock()
        self._pods: dict[Key, _Pod] = {}
        self._attempts: dict[Key, _Attempt] = {}
        self._runs: dict[tuple[str, str], _Run] = {}
        # node name -> prices: resolved from Node labels (price file) or read from OpenCost.
        self._node_prices: dict[str, Prices] = {}
        self._nodes_gone: dict[str, float] = {}
        self.step_cost = CounterTable(f.STEP_COST, max_series, stats.drop)
        self.idle_cost = CounterTable(f.STEP_GPU_IDLE_COST, max_series, stats.drop)
        self.run_cost = HistogramTable(f.WORKFLOW_COST, max_series, stats.drop)

    @property
    def needs_nodes(self) -> bool:
        """True when prices depend on Node objects (the price file has node rules)."""
        return self._book is not None and self._book.needs_nodes and self._wait_for_nodes

    # --- prices -------------------------------------------------------------------------

    def _prices(self, node: str) -> Prices | None:
        """The node's prices, or None while they are not known yet."""
        known = self._node_prices.get(node)
        if known is None and self._book is not None and not self.needs_nodes:
            return self._book.default
        return known

    def set_node_prices(self, prices: Mapping[str, Prices]) -> None:
        """Replace the per-node prices (OpenCost) and price what waited for them."""
        with self._lock:
            self._node_prices.update(prices)
            self._retry(set(prices))

    def _apply_node(self, event: str, obj: Mapping[str, Any]) -> None:
        if self._book is None:
            return
        meta = mapping(obj.get("metadata"))
        name = text(meta.get("name"))
        if not name:
            return
        if event == "DELETED":
            # Its price stays a while: its pods' attempts may still be settling.
            if name in self._node_prices:
                self._nodes_gone[name] = self._clock()
            return
        self._nodes_gone.pop(name, None)
        if name not in self._node_prices and len(self._node_prices) >= MAX_NODES:
            self._stats.skip(RESOURCE, "too_many_nodes", f"node {name}")
            return
        labels = {str(k): text(v) for k, v in mapping(meta.get("labels")).items()}
        prices = self._book.for_node(labels)
        if self._node_prices.get(name) == prices:
            return  # a status update of a known node: nothing waits on it
        self._node_prices[name] = prices
        self._retry({name})

    def _retry(self, nodes: set[str]) -> None:
        for key in [k for k in self._attempts if k in self._pods and self._pods[k].node in nodes]:
            self._join(key)

    # --- input (called under the store's lock) -----------------------------------------

    def on_object(self, resource: str, event: str, obj: Mapping[str, Any]) -> None:
        """Pods give requests and node; Nodes give their labels' prices."""
        with self._lock:
            if resource == PODS:
                self._apply_pod(event, obj)
            elif resource == NODES:
                self._apply_node(event, obj)

    def _apply_pod(self, event: str, obj: Mapping[str, Any]) -> None:
        meta = mapping(obj.get("metadata"))
        namespace = cap_label(text(meta.get("namespace")) or "default")  # as the store's
        workflow = text(mapping(meta.get("labels")).get(WORKFLOW_LABEL))
        name = text(meta.get("name"))
        node_id = text(mapping(meta.get("annotations")).get(NODE_ID_ANNOTATION)) or name
        key = (namespace, workflow, node_id)
        now = self._clock()
        pod = self._pods.get(key)
        if event == "DELETED":
            if pod is not None and pod.gone is None:
                pod.gone = now
            return
        requests = pod_requests(obj)
        if requests.bad:
            self._stats.skip(RESOURCE, "bad_quantity",
                             f"{namespace}/{name}: {', '.join(requests.bad[:3])} not a quantity")
        node = text(mapping(obj.get("spec")).get("nodeName"))
        held = amounts(requests)
        if pod is None:
            self._make_room(self._pods)
            self._pods[key] = _Pod(held, node, now)
        else:  # requests may be resized in place; the node is set once scheduled
            pod.requests, pod.node, pod.gone, pod.seen = held, node or pod.node, None, now
        self._join(key)

    def on_node_finished(self, step: StepRef, node: Mapping[str, Any], count: bool) -> None:
        """A finished attempt: its window now, its price once its pod and node are known.

        Replayed history (`count` False) is not priced: it adds to no counter, and the run it
        belongs to, should it finish live, has an unknown total and is not observed.
        """
        node_type = text(node.get("type"))
        phase = text(node.get("phase"))
        if node_type != "Pod" or phase in NOT_RUN:
            return  # no pod ran: nothing to price
        seconds = window(parse_time(node.get("startedAt")), parse_time(node.get("finishedAt")))
        key = (step.namespace, step.workflow, step.node_id)
        now = self._clock()
        with self._lock:
            run = self._run(step.namespace, step.workflow, step.pipeline, now)
            if not count:
                run.partial = True
                return
            if key[2] in run.open or key in self._attempts:
                return
            run.open.add(key[2])
            self._make_room(self._attempts)
            self._attempts[key] = _Attempt(step, seconds, count, now)
            self._join(key)

    def on_run_finished(self, namespace: str, name: str, pipeline: str, phase: str,
                        count: bool) -> None:
        """A run first seen finished: its total is observed once no attempt is pending."""
        with self._lock:
            run = self._run(namespace, name, pipeline, self._clock())
            run.phase, run.count = phase, count
            self._close(namespace, name, run)

    def _run(self, namespace: str, name: str, pipeline: str, now: float) -> _Run:
        run = self._runs.get((namespace, name))
        if run is None:
            self._make_room(self._runs)
            run = self._runs[(namespace, name)] = _Run(pipeline, now)
        run.since = now
        return run

    # --- pricing ------------------------------------------------------------------------

    def _join(self, key: Key, *, settling: bool = False) -> None:
        """Price the attempt at `key` if its pod and price are known (or, settling, at all)."""
        attempt = self._attempts.get(key)
        if attempt is None:
            return
        pod = self._pods.get(key)
        if pod is None:
            if settling:
                self._stats.skip(RESOURCE, "no_pod",
                                 f"{key[0]}/{key[1]} node {key[2]}: its pod was never seen")
                self._settle(key, attempt, {})
            return
        if not pod.node:  # never scheduled: it held nothing
            self._settle(key, attempt, {}, pod)
            return
        prices = self._prices(pod.node)
        if prices is None and settling:
            prices = self._book.default if self._book is not None else None
            if prices is None:
                self._stats.skip(RESOURCE, "no_price", f"node {pod.node} has no OpenCost price")
                self._settle(key, attempt, {}, pod)
                return
        if prices is not None:
            self._settle(key, attempt, attempt_cost(pod.requests, prices, attempt.seconds), pod)

    def _settle(self, key: Key, attempt: _Attempt, costs: Mapping[str, float],
                pod: _Pod | None = None) -> None:
        del self._attempts[key]
        if pod is not None:
            pod.priced = True
        labels = attempt.step[:3]
        if attempt.count:
            for resource, amount in costs.items():
                if amount > 0:
                    self.step_cost.inc((*labels, resource), amount)
        run = self._runs.get((key[0], key[1]))
        if run is not None:
            run.priced += pod is not None
            run.total += sum(costs.values())
            run.open.discard(key[2])
            self._close(key[0], key[1], run)

    def _close(self, namespace: str, name: str, run: _Run) -> None:
        if not run.phase or run.open:
            return
        del self._runs[(namespace, name)]
        if run.count and run.priced and not run.partial:
            self.run_cost.observe((namespace, run.pipeline, run.phase), run.total)

    def _make_room(self, table: dict[Any, Any]) -> None:
        if len(table) < self._max_pending:
            return
        oldest = next(iter(table))
        self._stats.skip(RESOURCE, "pending_full", f"{oldest}: settled early, too many pending")
        if table is self._attempts:
            self._join(oldest, settling=True)
        elif table is self._runs:
            del self._runs[oldest]
        else:
            del self._pods[oldest]

    def settle(self, *, final: bool = False) -> None:
        """Settle attempts pending past the grace period (all of them when `final`) and
        forget priced or deleted pods, pods without an event for a week, abandoned runs and
        nodes deleted a day ago."""
        now = self._clock()
        horizon = now - self._grace
        with self._lock:
            for key in [k for k, a in self._attempts.items() if final or a.since < horizon]:
                self._join(key, settling=True)
            for key in [k for k, p in self._pods.items()
                        if (p.priced and (final or p.seen < horizon))
                        or (p.gone is not None and p.gone < horizon)
                        or p.seen < now - RUN_RETENTION_SECONDS]:
                del self._pods[key]
            for run_key in [k for k, r in self._runs.items()
                            if r.since < now - RUN_RETENTION_SECONDS]:
                del self._runs[run_key]
            for name in [n for n, gone in self._nodes_gone.items()
                         if gone < now - NODE_RETENTION_SECONDS]:
                del self._nodes_gone[name]
                self._node_prices.pop(name, None)

    # --- GPU idle time (fed by the DCGM attribution) -------------------------------------

    def gpu_interval(self, labels: tuple[str, str, str], node: str, seconds: float,
                     utilization: float, mig: bool) -> None:
        """`seconds` of one GPU held by a step at `utilization`: idle time costs its price.

        MIG instances are left out: a slice's share of the GPU price is not known here.
        """
        if mig or utilization >= IDLE_GPU_UTILIZATION or seconds <= 0:
            return
        with self._lock:
            prices = self._prices(node)
            if prices is None and self._book is not None:
                prices = self._book.default
            if prices is None:
                return
            self.idle_cost.inc(labels, seconds / 3600.0 * prices.gpu_hour)

    # --- serving ------------------------------------------------------------------------

    def pending(self) -> tuple[int, int, int]:
        """Attempts, pods and runs held (for tests and summaries)."""
        with self._lock:
            return len(self._attempts), len(self._pods), len(self._runs)

    def describe(self) -> Iterable[Metric]:
        """The families `collect` serves, empty (the registry refuses duplicate names)."""
        return [family.new() for family in _FAMILIES]

    def collect(self) -> Iterable[Metric]:
        """The cost families: copied under the lock, rendered after it."""
        with self._lock:
            steps = self.step_cost.snapshot()
            idle = self.idle_cost.snapshot()
            runs = self.run_cost.snapshot()
        return [
            render.counter(f.STEP_COST, steps),
            render.histogram(f.WORKFLOW_COST, self.run_cost.bucket_names, runs),
            render.counter(f.STEP_GPU_IDLE_COST, idle),
            render.gauge(f.COST_INFO, [((self.currency,), 1.0)]),
        ]


_FAMILIES: tuple[f.Family, ...] = (f.STEP_COST, f.WORKFLOW_COST, f.STEP_GPU_IDLE_COST,
                                   f.COST_INFO)
