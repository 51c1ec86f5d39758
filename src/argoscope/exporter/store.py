"""The store: Workflow and Pod objects in, minimal records of runs, step attempts and pods kept.

Sources (a Kubernetes watch, a file, the local runner's state directory) hand Kubernetes-shaped
objects to `Store.apply`; the store keeps only what metrics need (`records`, no raw objects) and
decides when a finished run or step attempt counts, by the rules of DESIGN.md (what it adds to
which family is `counting`'s business):

- a run or step attempt is counted once, when first seen finished, never again (not on a
  re-list, a watch restart or a MODIFIED event on a finished object);
- objects already finished in a live source's first list are history (`replay=True`): they
  set the gauges but add nothing to counters or histograms, so a restart adds no spike;
- a one-shot snapshot counts every finished object once (`replay=False`);
- a finished attempt of a Pod node counts once its pod has said its last word (finished or
  deleted); a pod seen running is waited for at most `pod_wait_seconds`, one never seen until
  the next scrape or until the source has delivered everything (`settle`): so its failure
  reason and pending time never depend on which of the Workflow and the Pod arrived first.
"""

from __future__ import annotations

import logging
import math
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client.core import Metric

from argoscope.exporter.counting import Counters
from argoscope.exporter.nodenames import (
    ENTRYPOINT_STEP,
    UNPARSED_STEP,
    relative_name,
    relative_step,
)
from argoscope.exporter.objects import MalformedObject, cap_label, mapping, text
from argoscope.exporter.reasons import (
    EXPLANATORY_WAITING,
    PodFacts,
    failure_reason,
    keep_failure,
)
from argoscope.exporter.records import (
    FinishedAttempt,
    FinishedRun,
    LivePod,
    PodRecord,
    RunRecord,
    StepRef,
    WaitingAttempt,
)
from argoscope.exporter.series import (
    DEFAULT_MAX_NAMESPACES,
    DEFAULT_MAX_SERIES_PER_NAMESPACE,
    DEFAULT_SERIES_RETENTION_SECONDS,
    TenantBudget,
)
from argoscope.exporter.stats import ExporterStats
from argoscope.exporter.views import (
    NOT_RUN,
    RUN_FINISHED,
    STEP_FAILED,
    STEP_FINISHED,
    NodeView,
    PodView,
    WorkflowView,
    decode_pod,
    decode_workflow,
)

log = logging.getLogger("argoscope.exporter")

WORKFLOWS = "workflows"
PODS = "pods"
# Node objects: the store keeps nothing of them; observers that price by node read them.
NODES = "nodes"

__all__ = ["NODES", "OVERFLOW_PIPELINE", "PODS", "RUN_FINISHED", "WORKFLOWS", "ModelConfig",
           "NodeObserver", "Store"]

# Pod phases in which a pod may wait or hold a GPU ("" before the kubelet reports one).
ACTIVE_POD_PHASES = frozenset({"", "Pending", "Running"})
# Pod phases after which a pod says nothing new about why its attempt ended.
FINISHED_POD_PHASES = frozenset({"Succeeded", "Failed"})


class NodeObserver(Protocol):
    """A plug-in that reads finished nodes (check documents, ...) and serves its own families."""

    def on_node_finished(self, step: StepRef, node: Mapping[str, Any], count: bool) -> None:
        """Called once per finished step attempt; `count` is False for replayed history.

        A plug-in may also define `on_run_deleted(namespace, workflow)`, called when a run's
        Workflow is deleted (check documents recycle that run's slots first)."""

    def collect(self) -> Iterable[Metric]:
        """The plug-in's families, built fresh for a scrape."""


@dataclass(slots=True)
class ModelConfig:
    """Retention and caps: the exporter's flags."""

    recent_runs_retention_seconds: float = 3600.0
    recent_runs_max: int = 500
    max_series_per_family: int = 10_000
    deleted_pod_retention_seconds: float = 3600.0
    # Distinct pipelines per namespace whose name fell back to the run's own name.
    max_fallback_pipelines_per_namespace: int = 100
    # How long a finished Pod-node attempt waits for its pod's final state before counting
    # with what is known (its pod may never come: deleted before the exporter saw it). Waiting
    # attempts are released when a scrape comes (`prune`): 0 waits until the next scrape.
    pod_wait_seconds: float = 0.0
    # Tenant budgets of every namespace-keyed family (series.TenantBudget).
    max_series_per_namespace: int = DEFAULT_MAX_SERIES_PER_NAMESPACE
    max_namespaces: int = DEFAULT_MAX_NAMESPACES
    series_retention_seconds: float = DEFAULT_SERIES_RETENTION_SECONDS


# Attempts waiting for their pods at most; beyond, the oldest are counted at once.
MAX_WAITING_ATTEMPTS = 20_000

# The pipeline label of runs past their namespace's fallback-pipeline budget.
OVERFLOW_PIPELINE = "_other"


class Store:
    """Runs, step attempts and pods derived from Workflow and Pod objects. Thread-safe.

    Finished runs and attempts go, once each, to `counters` (unless replayed history) and to
    every `observers` plug-in; the gauge collectors read the records under `lock`.
    """

    def __init__(
        self,
        config: ModelConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
        stats: ExporterStats | None = None,
    ) -> None:
        self.config = config or ModelConfig()
        self.clock = clock
        self.stats = stats or ExporterStats(clock)
        self.lock = threading.RLock()
        self.observers: list[NodeObserver] = []
        self._runs: dict[tuple[str, str], RunRecord] = {}
        self._pods: dict[tuple[str, str], PodRecord] = {}
        # Indexes so scrapes touch only the pods that matter, not every pod ever seen:
        # pods that exist and have not finished (waiting, GPUs), and deleted ones (pruning).
        self._active_pods: dict[tuple[str, str], PodRecord] = {}
        self._deleted_pods: dict[tuple[str, str], PodRecord] = {}
        self._pods_by_node: dict[tuple[str, str, str], PodRecord] = {}
        # Finished runs whose object was deleted, kept for the recent-runs window:
        # (namespace, name) -> (pipeline, phase, finished).
        self._deleted_recent: dict[tuple[str, str], tuple[str, str, float]] = {}
        self._last_success: dict[tuple[str, ...], float] = {}
        # Finished Pod-node attempts waiting for their pod: (namespace, workflow, node id).
        self._waiting_attempts: dict[tuple[str, str, str], WaitingAttempt] = {}
        # Step labels by the node name after the run's name (but the entrypoint's), and
        # template labels: most recur in every run.
        self._step_labels: dict[str, str] = {}
        self._template_labels: dict[str, str] = {}
        # (step, template) pairs, one tuple each: every run of a pipeline holds the same ones.
        self._step_pairs: dict[tuple[str, str], tuple[str, str]] = {}
        # namespace -> pipelines named after a run (no template, label or generateName).
        self._fallback_pipelines: dict[str, set[str]] = {}
        # Budgets shared by every namespace-keyed table; pipelines of live runs stay seen, and
        # a pipeline released by retention is forgotten here too.
        self.tenants = TenantBudget(
            max_series_per_namespace=self.config.max_series_per_namespace,
            max_namespaces=self.config.max_namespaces,
            retention_seconds=self.config.series_retention_seconds, clock=clock,
            on_over=self.stats.over_namespace_budget)
        self.tenants.keep_alive(self._live_pipelines)
        self.tenants.on_forget(self._forget_pipeline)
        self.counters = Counters(self.lock, self.config.max_series_per_family, self.stats.drop,
                                 tenants=self.tenants)

    # --- input ---------------------------------------------------------------------------

    def apply(self, resource: str, event: str, obj: Any, *, replay: bool = False,
              origin: str = "") -> None:
        """Apply one watch event (ADDED, MODIFIED, DELETED) or listed object.

        `origin` names the source that delivered it, so a re-list by one source forgets only
        that source's objects. A malformed object is skipped, counted and logged once; it never
        raises.

        Workflows and Pods are decoded here, once, into views (`views`): nothing after this
        reads the raw object but the observers' `on_object` hook.
        """
        self.stats.event(resource, event)
        try:
            if not isinstance(obj, Mapping):
                raise MalformedObject(f"expected an object, got {type(obj).__name__}")
            with self.lock:
                if resource == WORKFLOWS:
                    self._apply_workflow(
                        decode_workflow(obj, event, self._counted_nodes, times=not replay),
                        event, replay, origin)
                elif resource == PODS:
                    self._apply_pod(decode_pod(obj, event), event, origin)
                elif resource != NODES:
                    raise MalformedObject(f"unknown resource {resource!r}")
                self._tell_object(resource, event, obj)
        except Exception as error:  # the boundary: one object never stops the source
            self.stats.fault(resource, error, _object_name(obj))

    def apply_object(self, obj: Any, *, replay: bool = False) -> None:
        """Apply an object whose resource is known only by its `kind` (files, dumps)."""
        kind = text(mapping(obj).get("kind")) or _infer_kind(obj)
        if kind == "Workflow":
            self.apply(WORKFLOWS, "ADDED", obj, replay=replay)
        elif kind == "Pod":
            self.apply(PODS, "ADDED", obj, replay=replay)
        elif kind == "Node" and any(hasattr(o, "on_object") for o in self.observers):
            self.apply(NODES, "ADDED", obj, replay=replay)
        else:
            self.stats.skip("objects", "unknown_kind", f"kind {kind or '<none>'} is not Workflow or Pod")

    def resync(self, resource: str, objects: Iterable[Any], *, replay: bool,
               origin: str = "") -> None:
        """Apply a complete list and forget what it no longer holds (a re-list after 410 Gone).

        Only objects that came from the same `origin` are forgotten: another source's objects
        are not in this list and must stay.

        Objects are applied one by one, each under the lock, so a long paged re-list never
        blocks a scrape; only the final sweep of vanished objects holds the lock throughout.
        """
        seen: set[tuple[str, str]] = set()
        for obj in objects:
            self.apply(resource, "LIST", obj, replay=replay, origin=origin)
            meta = mapping(mapping(obj).get("metadata"))
            seen.add((cap_label(text(meta.get("namespace")) or "default"), text(meta.get("name"))))
        with self.lock:
            if resource == WORKFLOWS:
                for key in [k for k, r in self._runs.items()
                            if k not in seen and r.origin == origin]:
                    self._delete_run(key)
            elif resource == PODS:
                gone = [k for k, p in self._pods.items()
                        if k not in seen and p.deleted_at is None and p.origin == origin]
                for key in gone:
                    self._pods[key].deleted_at = self.clock()
                    self._index_pod(key, self._pods[key])
                    self._pod_settled(self._pods[key])

    # --- workflows -----------------------------------------------------------------------

    def _counted_nodes(self, namespace: str, name: str, uid: str
                       ) -> Collection[str]:
        """Node ids already counted for this run (the same object: its uid), not decoded again."""
        run = self._runs.get((namespace, name))
        return run.counted_nodes if run is not None and run.uid == uid else _NONE_COUNTED

    def _apply_workflow(self, view: WorkflowView, event: str, replay: bool,
                        origin: str) -> None:
        namespace, name = view.namespace, view.name
        key = (namespace, name)
        if event == "DELETED":
            self._delete_run(key)
            return
        for node_id, error in view.faults:  # the boundary: one node never stops its run
            self.stats.fault("nodes", error, f"{namespace}/{name} node {node_id}")
        run = self._runs.get(key)
        if run is not None and run.uid != view.uid:
            self._delete_run(key)  # the name was reused by a new object
            run = None
        if run is None:
            run = RunRecord(uid=view.uid, namespace=namespace, name=name,
                            pipeline=self._pipeline(namespace, view.pipeline, view.fallback),
                            label=cap_label(name))
        # The view was decoded whole before this point, so a malformed object changes nothing.
        self._runs[key] = run
        self.tenants.touch(namespace, run.pipeline)
        run.origin = origin
        phase, started, finished = view.phase, view.started, view.finished
        run.phase, run.started, run.finished = phase, started, finished
        run.offloaded = view.offloaded
        run.entrypoint = cap_label(view.entrypoint)
        self._apply_nodes(run, view, count=not replay)
        if phase in RUN_FINISHED and not run.counted:
            run.counted = True
            if not replay:
                self.counters.count_run(FinishedRun(namespace, run.pipeline, phase, started,
                                                    finished))
            self._tell_run_finished(run, not replay)
        if phase == "Succeeded":
            moment = finished or started or self.clock()
            pipeline_key = (namespace, run.pipeline)
            if moment > self._last_success.get(pipeline_key, 0.0):
                self._last_success[pipeline_key] = moment

    def _pipeline(self, namespace: str, raw: str, fallback: bool) -> str:
        """The run's pipeline label; fallback names (the run's own) are budgeted per namespace."""
        name = sys.intern(cap_label(raw))
        if not fallback:
            return name
        known = self._fallback_pipelines.setdefault(namespace, set())
        if name in known:
            return name
        if len(known) >= self.config.max_fallback_pipelines_per_namespace:
            self.stats.over_namespace_budget(namespace, "pipelines")
            return OVERFLOW_PIPELINE
        known.add(name)
        return name

    def _apply_nodes(self, run: RunRecord, view: WorkflowView, count: bool) -> None:
        # Attempts beyond the first (`view.retries`): every child of a Retry node after its
        # first. Only nodes not yet counted are in the view.
        finished: list[NodeView] = []
        templates = self._template_labels
        under_run = run.name + "."  # the common node name: `<run>.<task>`
        steps = run.steps
        for node in view.nodes:
            node_id = node.id
            try:
                if node_id not in steps:
                    template = node.template
                    template_label = templates.get(template)
                    if template_label is None:
                        template_label = _remember(templates, template, template)
                    name = node.name
                    # The entrypoint node's step is the run's entrypoint, as for a pod of an
                    # offloaded run (which knows nothing else); its template if none is set.
                    step_label = (self._step_label(
                        name[len(run.name):] if name.startswith(under_run)
                        else relative_name(name, run.name), run.entrypoint or template_label)
                                  if name else template_label or UNPARSED_STEP)
                    pair = (step_label, template_label)
                    shared = self._step_pairs.get(pair)
                    if shared is None:
                        if len(self._step_pairs) >= _LABEL_CACHE_MAX:
                            self._step_pairs.clear()
                        shared = self._step_pairs[pair] = pair
                    steps[node_id] = shared
                if node.phase in STEP_FINISHED:
                    finished.append(node)
            except Exception as error:  # the boundary: one node never stops its run
                self.stats.fault("nodes", error, f"{run.namespace}/{run.name} node {node_id}")
        counted = run.counted_nodes
        for node in finished:
            node_id = node.id
            counted[node_id] = None
            step, template = steps[node_id]
            ref = StepRef(run.namespace, run.pipeline, step, template, run.name, node_id)
            if count:
                try:
                    self._count_attempt(ref, node, node_id in view.retries)
                except Exception as error:
                    self.stats.fault("nodes", error,
                                     f"{run.namespace}/{run.name} node {node.id}")
            for observer in self.observers:
                try:
                    observer.on_node_finished(ref, node.raw, count)
                except Exception as error:  # one document never stops the others
                    self.stats.fault(getattr(observer, "resource", "observer"), error,
                                     f"{run.namespace}/{run.name} node {node.id}")

    def _step_label(self, rest: str, entrypoint: str) -> str:
        """The step label of a node named the run's name + `rest` (cached: most recur)."""
        label = self._step_labels.get(rest)
        if label is None:
            found = relative_step(rest, _ENTRY)
            if found == _ENTRY:  # the entrypoint node: its label depends on the run
                return sys.intern(cap_label(entrypoint or ENTRYPOINT_STEP))
            if len(self._step_labels) >= _LABEL_CACHE_MAX:
                self._step_labels.clear()
            label = self._step_labels[rest] = sys.intern(cap_label(found))
        return label

    def _count_attempt(self, ref: StepRef, node: NodeView, is_retry: bool) -> None:
        if node.error:
            raise MalformedObject(node.error)
        node_type, phase = node.type, node.phase
        attempt = WaitingAttempt(ref, node_type, phase, is_retry, node.started, node.finished,
                                 node.message, node.resources, self.clock())
        key = (ref.namespace, ref.workflow, ref.node_id)
        pod = self._pods_by_node.get(key)
        if node_type == "Pod" and phase not in NOT_RUN and not _has_finished(pod):
            # A pod seen running will say how it ended: wait for it (at most
            # `pod_wait_seconds`). One never seen (a dump's later object, or none at all)
            # waits only for the next scrape, which counts it with whatever arrived by then.
            self._waiting_attempts[key] = attempt if pod is not None else attempt._replace(
                since=-math.inf)
            if len(self._waiting_attempts) > MAX_WAITING_ATTEMPTS:
                # Nobody scrapes (scrapes release them): the oldest half counts now, so the
                # wait can never hold memory without bound.
                oldest = list(self._waiting_attempts)[:len(self._waiting_attempts) // 2]
                self._release_waiting(oldest)
            return
        self._finish_attempt(attempt, pod)

    def _finish_attempt(self, attempt: WaitingAttempt, pod: PodRecord | None) -> None:
        """Count an attempt, with what its pod said (if known)."""
        facts = pod.facts if pod is not None else None
        reason = ""
        if attempt.phase in STEP_FAILED:
            reason, unknown = failure_reason(attempt.message, facts,
                                             pod.last_waiting if pod is not None else "")
            for source, value in unknown:
                self.stats.unknown_reason(source, value)
        ref = attempt.step
        self.counters.count_attempt(FinishedAttempt(
            ref, ref[:3], attempt.node_type, attempt.phase, attempt.is_retry, attempt.started,
            attempt.finished, reason, attempt.resources, facts))

    def _pod_settled(self, pod: PodRecord) -> None:
        """Count the attempt waiting for `pod`, now that the pod has finished or is gone."""
        if not self._waiting_attempts or not _has_finished(pod):
            return
        attempt = self._waiting_attempts.pop((pod.namespace, pod.workflow, pod.node_id), None)
        if attempt is not None:
            self._finish_attempt(attempt, pod)

    def _release_waiting(self, keys: Iterable[tuple[str, str, str]]) -> None:
        """Count these waiting attempts now, with whatever their pods said."""
        for key in keys:
            attempt = self._waiting_attempts.pop(key, None)
            if attempt is None:
                continue
            try:
                self._finish_attempt(attempt, self._pods_by_node.get(key))
            except Exception as error:  # the boundary: one attempt never stops the others
                self.stats.fault("nodes", error, f"{key[0]}/{key[1]} node {key[2]}")

    def settle(self) -> None:
        """The source has delivered everything it has (a snapshot): count every attempt still
        waiting for its pod, with what is known."""
        with self.lock:
            self._release_waiting(list(self._waiting_attempts))

    # --- optional observer hooks (cost pricing) -------------------------------------------
    # Observers may also define `on_object(resource, event, obj)` (every applied object,
    # Nodes included, after the store's own handling) and `on_run_finished(namespace, name,
    # pipeline, phase, count)` (once per run, after its nodes). Both run under `lock`.

    def _tell_object(self, resource: str, event: str, obj: Mapping[str, Any]) -> None:
        for observer in self.observers:
            hook = getattr(observer, "on_object", None)
            if hook is not None:
                try:
                    hook(resource, event, obj)
                except Exception as error:  # one observer never stops the store
                    self.stats.fault(getattr(observer, "resource", "observer"), error,
                                     _object_name(obj))

    def _tell_run_finished(self, run: RunRecord, count: bool) -> None:
        for observer in self.observers:
            hook = getattr(observer, "on_run_finished", None)
            if hook is not None:
                try:
                    hook(run.namespace, run.name, run.pipeline, run.phase, count)
                except Exception as error:
                    self.stats.fault(getattr(observer, "resource", "observer"), error,
                                     f"{run.namespace}/{run.name}")

    def _delete_run(self, key: tuple[str, str]) -> None:
        run = self._runs.pop(key, None)
        if run is None:
            return
        if self._waiting_attempts:  # their pods go with the run: count them with what is known
            self._release_waiting([(run.namespace, run.name, node_id) for node_id in run.steps])
        for observer in self.observers:
            # Plug-ins holding per-run slots (check documents) may give them back.
            deleted = getattr(observer, "on_run_deleted", None)
            if deleted is not None:
                try:
                    deleted(run.namespace, run.name)
                except Exception as error:  # a plug-in never stops a deletion
                    self.stats.fault(getattr(observer, "resource", "observer"), error,
                                     f"{run.namespace}/{run.name} deleted")
        now = self.clock()
        if (run.finished is not None
                and now - run.finished <= self.config.recent_runs_retention_seconds):
            self._deleted_recent[key] = (run.pipeline, run.phase, run.finished)
        for node_id in run.steps:
            pod = self._pods_by_node.pop((run.namespace, run.name, node_id), None)
            if pod is not None:
                key = (pod.namespace, pod.name)
                self._pods.pop(key, None)
                self._active_pods.pop(key, None)
                self._deleted_pods.pop(key, None)

    # --- pods ----------------------------------------------------------------------------

    def _apply_pod(self, view: PodView, event: str, origin: str) -> None:
        namespace, name = view.namespace, view.name
        key = (namespace, name)
        pod = self._pods.get(key)
        if event == "DELETED":
            if pod is not None and pod.deleted_at is None:
                # podGC deletes failed pods: keep what they said until their run is gone.
                pod.facts = keep_failure(_facts(view), pod.facts)
                pod.deleted_at = self.clock()
                self._index_pod(key, pod)
                self._pod_settled(pod)
            return
        facts = keep_failure(_facts(view), pod.facts if pod else None)
        if pod is None:
            pod = PodRecord(namespace=namespace, name=name, workflow=view.workflow,
                            node_id=view.node_id, node_name=view.node_name, facts=facts)
            self._pods[key] = pod
            self._pods_by_node[(namespace, view.workflow, pod.node_id)] = pod
        pod.facts = facts
        pod.origin = origin
        pod.deleted_at = None
        if facts.waiting_reason in EXPLANATORY_WAITING:
            # Only a waiting reason that can explain a failure is remembered as its cause.
            pod.last_waiting = facts.waiting_reason
        self._index_pod(key, pod)
        self._pod_settled(pod)

    def _index_pod(self, key: tuple[str, str], pod: PodRecord) -> None:
        if pod.deleted_at is None and pod.facts.phase in ACTIVE_POD_PHASES:
            self._active_pods[key] = pod
        else:
            self._active_pods.pop(key, None)
        if pod.deleted_at is not None:
            self._deleted_pods[key] = pod
        else:
            self._deleted_pods.pop(key, None)

    def _pod_step(self, pod: PodRecord) -> StepRef | None:
        run = self._runs.get((pod.namespace, pod.workflow))
        if run is None:
            return None
        step = run.steps.get(pod.node_id)
        if step is None:
            if not pod.node_name:
                return None
            # Before the Workflow shows the node, or when its nodes are offloaded: the node's
            # name (the pod's annotation) by the same structural rule as a node's.
            step = (self._step_label(relative_name(pod.node_name, run.name), run.entrypoint),
                    "")
        return StepRef(run.namespace, run.pipeline, step[0], step[1], run.name, pod.node_id)

    def live_pods(self) -> list[LivePod]:
        """Step pods that exist and have not finished (Pending or Running), with their step."""
        with self.lock:
            return [
                LivePod(p.namespace, p.name, self._pod_step(p), p.facts.gpus, p.facts.host,
                        p.facts.phase)
                for p in self._active_pods.values()
            ]

    def _live_pipelines(self) -> list[tuple[str, str]]:
        """Pipelines with a Workflow object now: seen, whatever their age (tenant retention)."""
        with self.lock:
            return list({(run.namespace, run.pipeline) for run in self._runs.values()})

    def _forget_pipeline(self, namespace: str, pipeline: str) -> None:
        """A pipeline not seen within the series retention: its last success and fallback
        name go with its series."""
        with self.lock:
            self._last_success.pop((namespace, pipeline), None)
            fallback = self._fallback_pipelines.get(namespace)
            if fallback is not None:
                fallback.discard(pipeline)
                if not fallback:
                    del self._fallback_pipelines[namespace]

    def prune(self) -> None:
        """Count attempts that waited long enough for their pods; forget deleted pods and
        deleted runs that have aged out of their windows."""
        now = self.clock()
        with self.lock:
            if self._waiting_attempts:
                waited = now - self.config.pod_wait_seconds
                self._release_waiting([key for key, attempt in self._waiting_attempts.items()
                                       if attempt.since <= waited])
            horizon = now - self.config.deleted_pod_retention_seconds
            for key, pod in list(self._deleted_pods.items()):
                orphan = (pod.namespace, pod.workflow) not in self._runs
                if pod.deleted_at is not None and pod.deleted_at < horizon and orphan:
                    del self._pods[key]
                    del self._deleted_pods[key]
                    self._pods_by_node.pop((pod.namespace, pod.workflow, pod.node_id), None)
            runs_horizon = now - self.config.recent_runs_retention_seconds
            for key, (_, _, finished) in list(self._deleted_recent.items()):
                if finished < runs_horizon:
                    del self._deleted_recent[key]

    # --- reading (collectors) -----------------------------------------------------------

    @property
    def runs(self) -> Mapping[tuple[str, str], RunRecord]:
        """Known runs by (namespace, name); read under `lock`."""
        return self._runs

    @property
    def deleted_runs(self) -> Mapping[tuple[str, str], tuple[str, str, float]]:
        """Finished runs whose object is gone, kept for the recent-runs window:
        (namespace, name) -> (pipeline, phase, finished); read under `lock`."""
        return self._deleted_recent

    @property
    def last_success(self) -> Mapping[tuple[str, ...], float]:
        """Finish time of each pipeline's last Succeeded run; read under `lock`."""
        return self._last_success

    def waiting_pods(self) -> list[tuple[StepRef, PodFacts]]:
        """Live step pods with a waiting reason, with their step (copied under the lock)."""
        with self.lock:
            waiting = []
            for pod in self._active_pods.values():
                if not pod.facts.waiting_reason:
                    continue
                ref = self._pod_step(pod)
                if ref is not None:
                    waiting.append((ref, pod.facts))
            return waiting

    # --- introspection (summaries, tests) ------------------------------------------------

    def run_count(self) -> int:
        """Workflow objects currently known."""
        with self.lock:
            return len(self._runs)

    def pod_count(self) -> int:
        """Pods currently known (including deleted ones kept for their failure reason)."""
        with self.lock:
            return len(self._pods)


# What a run not seen before has counted: nothing.
_NONE_COUNTED: frozenset[str] = frozenset()


def _facts(view: PodView) -> PodFacts:
    """The pod's facts, or the reason they could not be read (raised where they are used)."""
    if view.facts is None:
        raise view.facts_error or MalformedObject("pod facts missing")
    return view.facts


# What `relative_step` is told the entrypoint is, to tell the entrypoint node apart.
_ENTRY = "\x00entrypoint"
# Caches of label values are cleared past this size (fan-out names such as `task(3:x)` vary).
_LABEL_CACHE_MAX = 50_000


def _has_finished(pod: PodRecord | None) -> bool:
    """Whether a pod has said its last word about its attempt: finished, or deleted."""
    return pod is not None and (pod.deleted_at is not None
                                or pod.facts.phase in FINISHED_POD_PHASES)


def _remember(cache: dict[str, str], raw: str, value: str) -> str:
    """Cache the label value (capped, valid UTF-8, interned) for `raw` and return it."""
    if len(cache) >= _LABEL_CACHE_MAX:
        cache.clear()
    label = cache[raw] = sys.intern(cap_label(value))
    return label


def _object_name(obj: Any) -> str:
    """`namespace/name` of an object for a log line, whatever its shape."""
    try:
        meta = mapping(mapping(obj).get("metadata"))
        return f"{text(meta.get('namespace')) or 'default'}/{text(meta.get('name')) or '<unnamed>'}"
    except Exception:  # an object too odd even to name
        return "<unnamed>"


def _infer_kind(obj: Any) -> str:
    """Old dumps (Argo v2, KFP's mock backend) may lack `kind`: tell by the spec's shape."""
    spec = mapping(mapping(obj).get("spec"))
    if "templates" in spec or "entrypoint" in spec or "workflowTemplateRef" in spec:
        return "Workflow"
    if "containers" in spec:
        return "Pod"
    return ""

