"""GPU attribution: dcgm-exporter samples joined to the step pods the model knows.

dcgm-exporter in Kubernetes mode labels each GPU with the pod holding it, but it cannot know
the workflow, pipeline or step; the model can. This plug-in scrapes the exporters, joins
`namespace`/`pod` to live step pods and serves the `argoscope_step_gpu_*` families, per-node
allocated-but-idle GPUs, unobserved GPU pods and its own scrape health.

Attribution: a GPU series without pod labels, labelled with a discovered dcgm-exporter pod
(what Prometheus' `honor_labels` leaves behind) or with a pod that is not a live step pod is
unattributed and counted by reason in `argoscope_exporter_dcgm_gpus_unattributed`. A running
step pod that requests `nvidia.com/gpu` but appears in no scrape is unobserved, not idle.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import Metric

from argoscope.exporter import families as f
from argoscope.exporter import render
from argoscope.exporter.dcgm import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_PATH,
    DEFAULT_PORT,
    GpuSample,
    ScrapeResult,
    discover,
    scrape_each,
)
from argoscope.exporter.model import LivePod, Model
from argoscope.exporter.series import CounterTable, LabelBudget
from argoscope.exporter.thresholds import IDLE_GPU_UTILIZATION

log = logging.getLogger("argoscope.exporter.gpu")

DISCOVERY_TARGET = "discovery"

UNATTRIBUTED_NO_POD = "no_pod_labels"
UNATTRIBUTED_EXPORTER = "exporter_pod"
UNATTRIBUTED_NOT_STEP = "not_step_pod"
UNATTRIBUTED_OVER_REQUEST = "over_request"
UNATTRIBUTED_DUPLICATE = "duplicate"

# Results may come as a list or one by one as they arrive (an iterator).
Scraper = Callable[[Sequence[str]], Iterable[ScrapeResult]]


@dataclass(slots=True)
class DcgmConfig:
    """Where the dcgm-exporters are and how to scrape them (the `--dcgm-*` flags)."""

    urls: Sequence[str] = ()
    selector: str | None = None
    namespace: str | None = None
    interval: float = 15.0
    timeout: float = 5.0
    port: int = DEFAULT_PORT
    path: str = DEFAULT_PATH
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    kubeconfig: str | None = None
    context: str | None = None

    @property
    def enabled(self) -> bool:
        """True when at least one target is given or discovery is on."""
        return bool(self.urls) or bool(self.selector)

    @property
    def max_gap(self) -> float:
        """The longest interval one successful scrape may account for (see `GpuAttribution`)."""
        return 2 * self.interval + self.timeout


@dataclass(frozen=True, slots=True)
class _Attributed:
    sample: GpuSample
    pod: LivePod
    step_labels: tuple[str, str, str]
    gpu: str


@dataclass(slots=True)
class _TargetState:
    up: bool = False
    duration: float = 0.0
    last_success: float | None = None
    last_seen: float = 0.0
    attributed: list[_Attributed] = field(default_factory=list)
    unattributed: dict[str, int] = field(default_factory=dict)


def gpu_label(sample: GpuSample) -> str:
    """The `gpu` label: `<host>/<index>` (plus `/<GPU_I_ID>` for MIG), unique across nodes.

    A bare index would collide when two pods of one step (a fan-out) hold GPU 0 on two nodes.
    """
    if sample.host:
        return f"{sample.host}/{sample.gpu}"
    return sample.uuid or sample.gpu


class GpuAttribution:
    """Scrapes dcgm-exporters, attributes GPUs to step pods and integrates GPU time.

    Integration rule: each successful scrape of a target at time t adds, for every GPU it
    attributes to a live step pod, `dt` to that step's allocated seconds and `dt * utilization`
    to its busy seconds, where `dt` is t minus the time of the previous successful scrape of
    the same target, capped at `2 * interval + timeout`. The first successful scrape of a
    target adds nothing (there is no earlier point to measure from). So a target that misses
    one scrape accounts for the gap once, at its next success (no double counting, since the
    failed scrape added nothing), and a target back after a long absence adds at most the cap
    (no spike). The utilization a scrape reports stands for the whole interval before it. A
    GPU whose exporter reports no utilization field is shown but not integrated, so that
    busy / allocated never counts unknown time as idle.
    """

    def __init__(self, model: Model, config: DcgmConfig, *,
                 clock: Callable[[], float] | None = None,
                 core_api: Any = None, scraper: Scraper | None = None) -> None:
        self.model = model
        self.config = config
        self.clock = clock or model.clock
        self._core_api = core_api
        self._scraper = scraper or self._scrape
        self._lock = threading.Lock()
        self._targets: dict[str, _TargetState] = {}
        self._exporter_pods: set[tuple[str, str]] = set()
        # Per pod, each GPU attributed to it and the target whose latest scrape claims it: the
        # cap on a pod's GPUs holds across every target, not per target.
        # (A MIG instance is claimed too, flagged so: it does not count against the request.)
        self._claims: dict[tuple[str, str], dict[str, tuple[str, bool]]] = {}
        self._discovered: list[str] = []
        # Called with (step labels, node, seconds, utilization, is MIG) for every GPU interval
        # integrated: the cost plug-in prices idle GPU time from them.
        self.interval_listeners: list[Callable[[tuple[str, str, str], str, float, float, bool],
                                               None]] = []
        cap = model.config.max_series_per_family
        drop = model.stats.drop
        tenants = model.tenants
        self.allocated = CounterTable(f.STEP_GPU_ALLOCATED, cap, drop, tenants)
        self.busy = CounterTable(f.STEP_GPU_BUSY, cap, drop, tenants)
        self.errors = CounterTable(f.DCGM_SCRAPE_ERRORS, cap, drop)
        tenants.register(self.allocated, self._lock)
        tenants.register(self.busy, self._lock)

    # --- scraping ---------------------------------------------------------------------------

    def _scrape(self, urls: Sequence[str]) -> Iterable[ScrapeResult]:
        return scrape_each(urls, self.config.timeout, self.config.max_body_bytes, self.clock)

    def targets(self) -> list[str]:
        """The URLs to scrape now: the given ones, then discovered ones (refreshed here)."""
        if self.config.selector:
            self._refresh_discovery(self.config.selector)
        return list(dict.fromkeys([*self.config.urls, *self._discovered]))

    def _refresh_discovery(self, selector: str) -> None:
        try:
            if self._core_api is None:
                from argoscope.exporter import kubeclient  # the `exporter` extra, when needed

                self._core_api = kubeclient.core_api(self.config.kubeconfig, self.config.context)
            found = discover(self._core_api, selector, self.config.port, self.config.path,
                             namespace=self.config.namespace)
        except Exception as error:  # any API failure keeps the last known targets
            with self._lock:
                self.errors.inc((DISCOVERY_TARGET, "down"))
            self.model.stats.log_once(
                ("dcgm", DISCOVERY_TARGET), "dcgm-exporter discovery (%s) failed, keeping %d "
                "known targets: %s", selector, len(self._discovered), error)
            return
        with self._lock:
            self._discovered = [target.url for target in found]
            self._exporter_pods = {(target.namespace, target.pod) for target in found}

    def refresh_once(self) -> None:
        """Discover, scrape every target concurrently once and fold each result in as soon
        as it arrives (a slow target delays no other's)."""
        for result in self._scraper(self.targets()):
            self.ingest([result])

    def run(self, stop: threading.Event) -> None:
        """The live loop: refresh every `interval` seconds until `stop` is set."""
        while not stop.is_set():
            started = time.monotonic()
            try:
                self.refresh_once()
            except Exception:  # a bug here must not end GPU scraping for good
                log.exception("dcgm refresh failed")
            stop.wait(max(0.0, self.config.interval - (time.monotonic() - started)))

    # --- attribution and integration --------------------------------------------------------

    def ingest(self, results: Iterable[ScrapeResult]) -> None:
        """Fold scrape results in: health, attribution and GPU-time integration."""
        pods = {(pod.namespace, pod.pod): pod for pod in self.model.live_pods()}
        with self._lock:
            for result in results:
                self._ingest_one(result, pods)
            self._forget_old_targets()

    def _ingest_one(self, result: ScrapeResult, pods: dict[tuple[str, str], LivePod]) -> None:
        state = self._targets.setdefault(result.target, _TargetState())
        state.duration = result.duration
        state.last_seen = result.started
        if result.error is not None:
            state.up = False
            self.errors.inc((result.target, result.error.reason))
            self.model.stats.log_once(
                ("dcgm", result.target, result.error.reason),
                "dcgm-exporter scrape failed (%s), skipping this target until it recovers; "
                "later failures are only counted: %s", result.error.reason, result.error.detail)
            return
        self._release_claims(result.target, state.attributed)
        attributed, unattributed = self._attribute(result.target, result.started,
                                                   result.samples, pods)
        for item in attributed:
            self._claims.setdefault((item.pod.namespace, item.pod.pod), {})[item.gpu] = (
                result.target, not item.sample.profile)
        if state.last_success is not None:
            dt = min(max(0.0, result.started - state.last_success), self.config.max_gap)
            for item in attributed:
                utilization = item.sample.utilization
                if utilization is None:
                    continue
                self.allocated.inc(item.step_labels, dt)
                self.busy.inc(item.step_labels, dt * utilization)
                for listener in self.interval_listeners:
                    listener(item.step_labels, item.pod.host or item.sample.host, dt,
                             utilization, bool(item.sample.profile))
        state.up = True
        state.last_success = result.started
        state.attributed = attributed
        state.unattributed = unattributed

    def _release_claims(self, target: str, attributed: Iterable[_Attributed]) -> None:
        """Forget the GPUs `target`'s previous scrape claimed (its new one claims afresh)."""
        for item in attributed:
            key = (item.pod.namespace, item.pod.pod)
            claims = self._claims.get(key)
            if claims is not None and claims.get(item.gpu, ("", False))[0] == target:
                del claims[item.gpu]
                if not claims:
                    del self._claims[key]

    def _claimed_elsewhere(self, target: str, key: tuple[str, str], now: float
                           ) -> dict[str, bool]:
        """The GPUs of pod `key` that another target's fresh scrape claims: label -> whole."""
        claims = self._claims.get(key)
        if not claims:
            return {}
        return {label: is_whole for label, (owner, is_whole) in claims.items()
                if owner != target and owner in self._targets
                and self._fresh(self._targets[owner], now)}

    def _attribute(
        self, target: str, now: float, samples: Iterable[GpuSample],
        pods: dict[tuple[str, str], LivePod],
    ) -> tuple[list[_Attributed], dict[str, int]]:
        attributed: list[_Attributed] = []
        unattributed: dict[str, int] = {}
        # Whole GPUs attributed per pod, by this target and by every other fresh one: never
        # more than the pod requested, so neither one target nor several together can hang
        # phantom (idle) GPUs on a pod, or count one GPU twice, and fake its GPU time. MIG
        # instances are requested as other resources and are not capped here.
        whole: dict[tuple[str, str], int] = {}
        elsewhere: dict[tuple[str, str], dict[str, bool]] = {}
        for sample in sorted(samples, key=lambda item: (item.namespace, item.pod, item.gpu)):
            key = (sample.namespace, sample.pod)
            pod = pods.get(key)
            label = gpu_label(sample)
            if pod is not None and key not in elsewhere:
                elsewhere[key] = self._claimed_elsewhere(target, key, now)
                whole[key] = sum(elsewhere[key].values())
            if not sample.pod:
                reason = UNATTRIBUTED_NO_POD
            elif key in self._exporter_pods:
                reason = UNATTRIBUTED_EXPORTER
            elif pod is None or pod.step is None:
                reason = UNATTRIBUTED_NOT_STEP
            elif label in elsewhere[key]:
                reason = UNATTRIBUTED_DUPLICATE
            elif not sample.profile and whole.get(key, 0) >= pod.gpus:
                reason = UNATTRIBUTED_OVER_REQUEST
            else:
                if not sample.profile:
                    whole[key] = whole.get(key, 0) + 1
                step = pod.step
                attributed.append(_Attributed(
                    sample, pod, (step.namespace, step.pipeline, step.step), label))
                continue
            unattributed[reason] = unattributed.get(reason, 0) + 1
        return attributed, unattributed

    def _forget_old_targets(self) -> None:
        # A target gone from discovery (a node removed) stops being shown once it is stale.
        now = self.clock()
        horizon = 10 * self.config.max_gap
        current = set(self.config.urls) | set(self._discovered)
        for target, state in list(self._targets.items()):
            if target not in current and now - state.last_seen > horizon:
                self._release_claims(target, state.attributed)
                del self._targets[target]

    def _fresh(self, state: _TargetState, now: float) -> bool:
        # Gauges show a target's last good scrape while it is recent enough to be integrated.
        return state.last_success is not None and now - state.last_success <= self.config.max_gap

    # --- output -----------------------------------------------------------------------------

    def describe(self) -> Iterable[Metric]:
        """The families `collect` serves, empty (the registry refuses duplicate names)."""
        return [family.new() for family in _FAMILIES]

    def collect(self) -> Iterable[Metric]:
        """The GPU families and the DCGM scrape health: copied under the lock, built after."""
        now = self.clock()
        live = self.model.live_pods()
        with self._lock:
            # Target states are replaced, never changed in place, by `_ingest_one`, except
            # for their scalars: those are copied here.
            states = [(target, state.up, state.duration, self._fresh(state, now),
                       state.attributed, state.unattributed)
                      for target, state in sorted(self._targets.items())]
            allocated = self.allocated.snapshot()
            busy = self.busy.snapshot()
            errors = self.errors.snapshot()
        fresh = [attributed for _, _, _, is_fresh, attributed, _ in states if is_fresh]
        return [
            *self._step_gauges(fresh),
            render.counter(f.STEP_GPU_ALLOCATED, allocated),
            render.counter(f.STEP_GPU_BUSY, busy),
            *self._node_gauges(fresh),
            self._unobserved(fresh, live),
            render.gauge(f.DCGM_UP, [((target,), 1.0 if up else 0.0)
                                     for target, up, _, _, _, _ in states]),
            render.gauge(f.DCGM_SCRAPE_DURATION, [((target,), duration)
                                                  for target, _, duration, _, _, _ in states]),
            self._gauge(f.DCGM_GPUS_UNATTRIBUTED, {
                (target, reason): float(count)
                for target, _, _, is_fresh, _, unattributed in states if is_fresh
                for reason, count in unattributed.items()}),
            render.counter(f.DCGM_SCRAPE_ERRORS, errors),
        ]

    def _gauge(self, family: f.Family, values: dict[tuple[str, ...], float]) -> Metric:
        budget = LabelBudget(family, self.model.config.max_series_per_family,
                             self.model.stats.drop, self.model.tenants)
        return render.gauge(family, sorted(values.items()), budget)

    def _step_gauges(self, fresh: list[list[_Attributed]]) -> list[Metric]:
        utilization: dict[tuple[str, ...], float] = {}
        sources: dict[tuple[str, ...], str] = {}
        memory: dict[tuple[str, ...], float] = {}
        for attributed in fresh:
            for item in attributed:
                labels = (*item.step_labels, item.gpu)
                if item.sample.utilization is not None:
                    utilization[labels] = item.sample.utilization
                    sources[labels] = item.sample.source
                if item.sample.memory_bytes is not None:
                    memory[labels] = item.sample.memory_bytes
        return [
            self._gauge(f.STEP_GPU_UTILIZATION, utilization),
            self._gauge(f.STEP_GPU_MEMORY, memory),
            self._gauge(f.STEP_GPU_UTILIZATION_SOURCE,
                        {(*labels, source): 1.0 for labels, source in sources.items()}),
        ]

    def _node_gauges(self, fresh: list[list[_Attributed]]) -> list[Metric]:
        allocated: dict[tuple[str, ...], float] = {}
        idle: dict[tuple[str, ...], float] = {}
        seen: set[tuple[str, str]] = set()
        for attributed in fresh:
            for item in attributed:
                node = item.sample.host or item.pod.host
                if (node, item.gpu) in seen:
                    continue
                seen.add((node, item.gpu))
                allocated[(node,)] = allocated.get((node,), 0.0) + 1
                util = item.sample.utilization
                is_idle = util is not None and util < IDLE_GPU_UTILIZATION
                idle[(node,)] = idle.get((node,), 0.0) + (1.0 if is_idle else 0.0)
        return [self._gauge(f.NODE_GPUS_ALLOCATED, allocated),
                self._gauge(f.NODE_GPUS_ALLOCATED_IDLE, idle)]

    def _unobserved(self, fresh: list[list[_Attributed]], live: list[LivePod]) -> Metric:
        observed = {(item.pod.namespace, item.pod.pod) for attributed in fresh
                    for item in attributed}
        values: dict[tuple[str, ...], float] = {}
        for pod in live:
            if pod.gpus <= 0 or pod.step is None or pod.phase != "Running":
                continue
            if (pod.namespace, pod.pod) in observed:
                continue
            labels = (pod.step.namespace, pod.step.pipeline, pod.step.step)
            values[labels] = values.get(labels, 0.0) + pod.gpus
        return self._gauge(f.STEP_GPUS_UNOBSERVED, values)


# In the order `collect` serves them.
_FAMILIES: tuple[f.Family, ...] = (
    f.STEP_GPU_UTILIZATION, f.STEP_GPU_MEMORY, f.STEP_GPU_UTILIZATION_SOURCE,
    f.STEP_GPU_ALLOCATED, f.STEP_GPU_BUSY, f.NODE_GPUS_ALLOCATED, f.NODE_GPUS_ALLOCATED_IDLE,
    f.STEP_GPUS_UNOBSERVED, f.DCGM_UP, f.DCGM_SCRAPE_DURATION, f.DCGM_GPUS_UNATTRIBUTED,
    f.DCGM_SCRAPE_ERRORS,
)


def attribution_from_args(model: Model, args: Any) -> GpuAttribution | None:
    """The plug-in the `--dcgm-*` flags ask for, or None when DCGM is not configured."""
    config = DcgmConfig(
        urls=tuple(getattr(args, "dcgm_url", None) or ()),
        selector=getattr(args, "dcgm_selector", None) or None,
        namespace=getattr(args, "dcgm_namespace", None) or None,
        interval=float(getattr(args, "dcgm_interval", 15.0)),
        timeout=float(getattr(args, "dcgm_timeout", 5.0)),
        kubeconfig=getattr(args, "kubeconfig", None),
        context=getattr(args, "context", None),
    )
    return GpuAttribution(model, config) if config.enabled else None
