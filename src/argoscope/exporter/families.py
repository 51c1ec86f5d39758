"""Every metric family argoscope serves: name, type, labels and help, in one place.

The collectors build their families from these definitions and `docs/metrics.md` is
generated from them, so the reference cannot drift from what is served.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from argoscope.exporter.thresholds import IDLE_GPU_UTILIZATION

Kind = Literal["counter", "gauge", "histogram"]

# Batch steps run from seconds to many hours: buckets from 1 s to 1 day.
DURATION_BUCKETS: tuple[float, ...] = (
    1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800, 43200, 86400,
)
# Pending time: queueing, scheduling and image pulls, from a second to a few hours.
PENDING_BUCKETS: tuple[float, ...] = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 10800)


@dataclass(frozen=True, slots=True)
class Family:
    """One metric family: what the reference documents and what the collector emits."""

    name: str
    kind: Kind
    labels: tuple[str, ...]
    help: str
    section: str
    buckets: tuple[float, ...] = ()

    def new(self) -> Metric:
        """An empty prometheus_client family of this family's kind (for `describe()`)."""
        if self.kind == "counter":
            return self.counter()
        if self.kind == "gauge":
            return self.gauge()
        return self.histogram()

    def counter(self) -> CounterMetricFamily:
        """An empty counter family for one scrape; refuses a family of another kind."""
        self._expect("counter")
        return CounterMetricFamily(self.name, self.help, labels=self.labels)

    def gauge(self) -> GaugeMetricFamily:
        """An empty gauge family for one scrape; refuses a family of another kind."""
        self._expect("gauge")
        return GaugeMetricFamily(self.name, self.help, labels=self.labels)

    def histogram(self) -> HistogramMetricFamily:
        """An empty histogram family for one scrape; refuses a family of another kind."""
        self._expect("histogram")
        return HistogramMetricFamily(self.name, self.help, labels=self.labels)

    def _expect(self, kind: Kind) -> None:
        if self.kind != kind:
            raise TypeError(f"metric family {self.name} is a {self.kind}, not a {kind}")

    @property
    def exposed_name(self) -> str:
        """The name as written in the exposition (counters carry `_total`)."""
        return self.name + "_total" if self.kind == "counter" else self.name


_FAMILIES: dict[str, Family] = {}


def define(
    name: str,
    kind: Kind,
    labels: tuple[str, ...],
    help: str,
    section: str,
    buckets: tuple[float, ...] = (),
) -> Family:
    """Declare a family once; the name is given without the counter `_total` suffix."""
    if name in _FAMILIES:
        raise ValueError(f"metric family {name} is defined twice")
    family = Family(name, kind, labels, help, section, buckets)
    _FAMILIES[name] = family
    return family


def all_families() -> list[Family]:
    """Every defined family, in definition order."""
    return list(_FAMILIES.values())


PIPELINE = ("namespace", "pipeline")
STEP = ("namespace", "pipeline", "step")
CHECK = ("namespace", "pipeline", "step", "check", "kind")

# --- runs -------------------------------------------------------------------------------
WORKFLOWS = define(
    "argoscope_workflows", "gauge", (*PIPELINE, "phase"),
    "Workflow objects that currently exist, by phase.", "Runs")
WORKFLOW_RUNS = define(
    "argoscope_workflow_runs", "counter", (*PIPELINE, "phase"),
    "Runs that reached Succeeded, Failed or Error, counted once when first seen finished.",
    "Runs")
WORKFLOW_DURATION = define(
    "argoscope_workflow_duration_seconds", "histogram", (*PIPELINE, "phase"),
    "Duration of finished runs, from start to finish.", "Runs", DURATION_BUCKETS)
WORKFLOW_LAST_SUCCESS = define(
    "argoscope_workflow_last_success_timestamp_seconds", "gauge", PIPELINE,
    "Finish time (Unix seconds) of the pipeline's last Succeeded run.", "Runs")
WORKFLOW_RUN_INFO = define(
    "argoscope_workflow_run_info", "gauge", (*PIPELINE, "workflow", "phase"),
    "1 for each recent run: live runs and runs finished within the retention window, capped.",
    "Runs")
WORKFLOW_RUN_AGE = define(
    "argoscope_workflow_run_age_seconds", "gauge", (*PIPELINE, "workflow"),
    "Seconds since each live (unfinished) recent run started.", "Runs")
WORKFLOWS_OFFLOADED = define(
    "argoscope_workflows_nodes_offloaded", "gauge", PIPELINE,
    "Workflow objects whose node status is offloaded to Argo's database "
    "(status.offloadNodeStatusVersion): their steps are not visible to argoscope.", "Runs")

# --- steps ------------------------------------------------------------------------------
STEP_RUNS = define(
    "argoscope_step_runs", "counter", (*STEP, "template", "phase"),
    "Finished step attempts (Succeeded, Failed, Error, Skipped, Omitted), each counted once "
    "(a pod's attempt once its pod has finished, or after --pod-wait).",
    "Steps")
STEP_DURATION = define(
    "argoscope_step_duration_seconds", "histogram", (*STEP, "phase"),
    "Duration of finished step attempts (Skipped and Omitted excluded).", "Steps",
    DURATION_BUCKETS)
STEP_RETRIES = define(
    "argoscope_step_retries", "counter", STEP,
    "Step attempts beyond the first (children of a Retry node after the first).", "Steps")
STEP_FAILURES = define(
    "argoscope_step_failures", "counter", (*STEP, "reason"),
    "Failed or errored step attempts by reason, from a closed vocabulary (docs/design.md): "
    "OOMKilled, DeadlineExceeded, Terminated, Evicted, ImagePullBackOff, Unschedulable, ... "
    "The most specific cause wins whichever event came first; a cause outside the vocabulary "
    "is Error (counted in argoscope_exporter_unknown_reasons_total).", "Steps")
STEP_PENDING = define(
    "argoscope_step_pending_seconds", "histogram", STEP,
    "Time from a step attempt's start to its main container running "
    "(queueing, scheduling, image pull).", "Steps", PENDING_BUCKETS)
STEPS_WAITING = define(
    "argoscope_steps_waiting", "gauge", (*STEP, "reason"),
    "Live step pods stuck waiting, by reason (Unschedulable, ImagePullBackOff, "
    "ContainerCreating, ...; a reason outside the vocabulary is Other).", "Steps")
STEPS_WAITING_INSUFFICIENT = define(
    "argoscope_steps_waiting_insufficient_resource", "gauge", (*STEP, "resource"),
    "Live unschedulable step pods by the resource the scheduler found insufficient "
    "(for example nvidia.com/gpu).", "Steps")
STEP_RESOURCE_SECONDS = define(
    "argoscope_step_resource_seconds", "counter", (*STEP, "resource"),
    "Argo's resourcesDuration of finished step attempts (resource-seconds, "
    "normalised by Argo: 1 CPU, 100Mi memory, 1 GPU).", "Steps")

# --- GPU (dcgm-exporter) ----------------------------------------------------------------
STEP_GPU_UTILIZATION = define(
    "argoscope_step_gpu_utilization_ratio", "gauge", (*STEP, "gpu"),
    "GPU utilization 0..1 from DCGM for GPUs attributed to a live step pod.", "GPU")
STEP_GPU_MEMORY = define(
    "argoscope_step_gpu_memory_used_bytes", "gauge", (*STEP, "gpu"),
    "GPU framebuffer memory used, from DCGM, for GPUs attributed to a live step pod.", "GPU")
STEP_GPU_ALLOCATED = define(
    "argoscope_step_gpu_allocated_seconds", "counter", STEP,
    "GPU-seconds held by step pods, integrated across DCGM scrapes.", "GPU")
STEP_GPU_BUSY = define(
    "argoscope_step_gpu_busy_seconds", "counter", STEP,
    "GPU-seconds busy (utilization x time) of step pods; efficiency = busy / allocated.", "GPU")

# --- checks -----------------------------------------------------------------------------
CHECK_RESULTS = define(
    "argoscope_check_results", "counter", (*CHECK, "status"),
    "Every check result seen in an argoscope-checks document, by status.", "Checks")
CHECK_STATUS = define(
    "argoscope_check_status", "gauge", CHECK,
    "Latest result of each check: 1 passed or warning, 0 failed or error.", "Checks")
CHECK_VALUE = define(
    "argoscope_check_value", "gauge", CHECK,
    "Latest measured value of each check.", "Checks")
CHECK_THRESHOLD = define(
    "argoscope_check_threshold", "gauge", CHECK,
    "Threshold the latest value of each check was compared with.", "Checks")
FEATURE_DRIFT_SCORE = define(
    "argoscope_feature_drift_score", "gauge", (*STEP, "check", "feature"),
    "Latest per-feature drift score of each drift check (feature count capped per check).",
    "Checks")

# --- the exporter itself ------------------------------------------------------------------
EXPORTER_EVENTS = define(
    "argoscope_exporter_events", "counter", ("resource", "type"),
    "Objects received from the source, by resource and event type "
    "(LIST, ADDED, MODIFIED, DELETED, BOOKMARK).", "Exporter")
EXPORTER_WATCH_RESTARTS = define(
    "argoscope_exporter_watch_restarts", "counter", ("resource", "reason"),
    "Watches restarted, by reason: closed (the server ended it), dropped (the connection "
    "broke), expired (410 Gone: re-listed), error.", "Exporter")
EXPORTER_LAST_EVENT_AGE = define(
    "argoscope_exporter_last_event_age_seconds", "gauge", ("resource",),
    "Seconds since the source last delivered anything (an event, a bookmark or a list) "
    "for the resource.", "Exporter")
EXPORTER_OBJECTS_SKIPPED = define(
    "argoscope_exporter_objects_skipped", "counter", ("resource", "reason"),
    "Objects, nodes (resource=nodes) and check documents (resource=argoscope-checks) skipped "
    "at their own boundary, by reason: malformed, too_deep, out_of_range, unknown_kind, "
    "too_large (a watch line past its size cap), error; the rest still applies.", "Exporter")
EXPORTER_UNKNOWN_REASONS = define(
    "argoscope_exporter_unknown_reasons", "counter", ("source",),
    "Failure causes outside the closed reason vocabulary (a pod's or container's reason, "
    "source=pod; a node message no rule reads, source=message): the attempt counts as "
    "reason=\"Error\" unless another source names a known reason.", "Exporter")
EXPORTER_SERIES_DROPPED = define(
    "argoscope_exporter_series_dropped", "counter", ("family",),
    "Series not exported because a cap was reached (label values per family, recent runs, "
    "features per check).", "Exporter")
EXPORTER_NAMESPACE_BUDGET_EXCEEDED = define(
    "argoscope_exporter_namespace_budget_exceeded", "counter", ("namespace", "budget"),
    "Things refused because a namespace used up its own share, by budget: series (a new "
    "series of a namespace-keyed family past --max-series-per-namespace; gauges count once "
    "per scrape), check_series and feature_series (series not exported), namespaces "
    "(namespace=\"_other\": a namespace past --max-namespaces), pipelines (runs shown as "
    "pipeline=\"_other\" because their name fell back to the run's name).", "Exporter")
EXPORTER_SOURCE_UP = define(
    "argoscope_exporter_source_up", "gauge", ("source",),
    "1 while the source works; 0 while it is down (its thread crashed and waits to be "
    "restarted, it cannot list or watch, or a watch has given nothing usable, only "
    "undecodable or oversized lines, for a while). /readyz answers 503 meanwhile.",
    "Exporter")
EXPORTER_SOURCE_RESTARTS = define(
    "argoscope_exporter_source_restarts", "counter", ("source",),
    "Times a source's thread died and was restarted (with backoff).", "Exporter")
EXPORTER_CONNECTIONS_REFUSED = define(
    "argoscope_exporter_http_connections_refused", "counter", (),
    "HTTP connections answered 503 at once because the cap on concurrent connections was "
    "reached (a scraper then sees the target down).", "Exporter")
EXPORTER_HTTP_DEADLINES = define(
    "argoscope_exporter_http_deadline_exceeded", "counter", ("phase",),
    "HTTP connections cut at the whole-request deadline (--http-request-timeout), by phase: "
    "head (the request never fully arrived, as from a client trickling it), answer (the "
    "answer was not taken in time).", "Exporter")
EXPORTER_COLLECT_ERRORS = define(
    "argoscope_exporter_collect_errors", "counter", ("collector",),
    "Scrapes in which one collector failed; its families were left out of that scrape, the "
    "others served.", "Exporter")
EXPORTER_BUILD_INFO = define(
    "argoscope_exporter_build_info", "gauge", ("version", "python_version"),
    "1, labelled with the exporter's version.", "Exporter")
EXPORTER_READY = define(
    "argoscope_exporter_ready", "gauge", (),
    "1 once every source has delivered its first complete list.", "Exporter")

# --- GPU extras -----------------------------------------------------------------------------
STEP_GPU_UTILIZATION_SOURCE = define(
    "argoscope_step_gpu_utilization_source_info", "gauge", (*STEP, "gpu", "source"),
    "1 for each GPU on argoscope_step_gpu_utilization_ratio, naming the DCGM field its value "
    "came from: prof_gr_engine_active (DCGM_FI_PROF_GR_ENGINE_ACTIVE) or dev_gpu_util "
    "(DCGM_FI_DEV_GPU_UTIL / 100).", "GPU")
STEP_GPUS_UNOBSERVED = define(
    "argoscope_step_gpus_unobserved", "gauge", STEP,
    "GPUs requested (nvidia.com/gpu) by running step pods for which no dcgm-exporter reports "
    "any GPU: unknown utilization, not idle.", "GPU")
NODE_GPUS_ALLOCATED = define(
    "argoscope_node_gpus_allocated", "gauge", ("node",),
    "GPUs (or MIG instances) DCGM attributes to a live step pod, by node.", "GPU")
NODE_GPUS_ALLOCATED_IDLE = define(
    "argoscope_node_gpus_allocated_idle", "gauge", ("node",),
    "GPUs (or MIG instances) held by a live step pod whose utilization is below "
    f"{IDLE_GPU_UTILIZATION:.0%}, by node.", "GPU")
DCGM_GPUS_UNATTRIBUTED = define(
    "argoscope_exporter_dcgm_gpus_unattributed", "gauge", ("target", "reason"),
    "GPUs in the latest scrape of a dcgm-exporter not attributed to a step pod, by reason "
    "(no_pod_labels, exporter_pod, not_step_pod, over_request: whole GPUs beyond the pod's "
    "nvidia.com/gpu request, counted across every target; duplicate: a GPU another target "
    "already reports for the pod).", "Exporter")
DCGM_UP = define(
    "argoscope_exporter_dcgm_up", "gauge", ("target",),
    "1 if the latest scrape of the dcgm-exporter target succeeded, 0 otherwise.", "Exporter")
DCGM_SCRAPE_DURATION = define(
    "argoscope_exporter_dcgm_scrape_duration_seconds", "gauge", ("target",),
    "Duration of the latest scrape of the dcgm-exporter target.", "Exporter")
DCGM_SCRAPE_ERRORS = define(
    "argoscope_exporter_dcgm_scrape_errors", "counter", ("target", "reason"),
    "Failed scrapes of dcgm-exporter targets, by reason (down, timeout: past the deadline, "
    "garbage, too_large, redirect: refused; "
    "target \"discovery\" for failed Kubernetes discovery).", "Exporter")

# --- cost (with --prices) -------------------------------------------------------------------
# A run costs from a fraction of a cent to thousands: buckets in the configured currency.
COST_BUCKETS: tuple[float, ...] = (
    0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
)
STEP_COST = define(
    "argoscope_step_cost", "counter", (*STEP, "resource"),
    "Cost of finished step attempts in the configured currency, by resource (cpu, memory, "
    "gpu): the pod's effective request x the node's hourly price x the attempt's window "
    "from startedAt to finishedAt.", "Cost")
WORKFLOW_COST = define(
    "argoscope_workflow_cost", "histogram", (*PIPELINE, "phase"),
    "Total cost of each finished run (the sum of its priced step attempts), in the configured "
    "currency.", "Cost", COST_BUCKETS)
STEP_GPU_IDLE_COST = define(
    "argoscope_step_gpu_idle_cost", "counter", STEP,
    "Cost of GPU time held by step pods while below "
    f"{IDLE_GPU_UTILIZATION:.0%} utilization (from DCGM), at the node's GPU price.", "Cost")
COST_INFO = define(
    "argoscope_cost_info", "gauge", ("currency",),
    "1, naming the currency of the cost families (served only with --prices).", "Cost")
OPENCOST_UP = define(
    "argoscope_exporter_opencost_up", "gauge", ("target",),
    "1 if the latest scrape of OpenCost's /metrics for node prices succeeded, 0 otherwise.",
    "Cost")
OPENCOST_SCRAPE_ERRORS = define(
    "argoscope_exporter_opencost_scrape_errors", "counter", ("target", "reason"),
    "Failed scrapes of OpenCost's /metrics, by reason (down, timeout, garbage, too_large, "
    "redirect), the same rules as dcgm-exporter targets.", "Cost")
