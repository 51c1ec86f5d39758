"""Workflow and Pod objects decoded once, at the model's entry, into typed immutable views.

`Store.apply` hands every Workflow and Pod to `decode_workflow` / `decode_pod` before anything
else reads it: each field the model uses is read here once, parsed (times, phases, the node
map: inline or compressed) and validated, and the store, the counting rules and the gauges
read only the views (see "Invariants: decoded once" in docs/design.md). What cannot be read
raises `MalformedObject` for the whole object (nothing changes), or, for one node, is left out
of the view and listed in `WorkflowView.faults`, which the store counts.

Two reads are skipped where they cannot matter, because most objects never need them and
reading them would cost ingest its speed: a node already counted is not decoded again (the
caller says which, `counted`), and a finished node's times, message and resources are read
only when its attempt will count (`times=True`: never for replayed history). A node's
`resourcesDuration` is copied as Argo wrote it; the counting rule converts each amount. A node whose times
do not parse carries the error (`NodeView.error`), raised where its attempt counts, so a bad
time costs only that attempt, as before.

Views are NamedTuples: one is built per applied object and per new node, on the ingest path,
where a frozen dataclass costs several times as much to build.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection, Mapping
from typing import Any, NamedTuple

from argoscope.exporter.objects import (
    NODE_ID_ANNOTATION,
    NODE_NAME_ANNOTATION,
    WORKFLOW_LABEL,
    MalformedObject,
    cap_label,
    decode_nodes,
    mapping,
    parse_time,
    phase_label,
    pipeline_from,
    text,
)
from argoscope.exporter.reasons import PodFacts, read_pod_facts

RUN_FINISHED = frozenset({"Succeeded", "Failed", "Error"})
STEP_FINISHED = frozenset({"Succeeded", "Failed", "Error", "Skipped", "Omitted"})
STEP_FAILED = frozenset({"Failed", "Error"})
NOT_RUN = frozenset({"Skipped", "Omitted"})
# Node types that are a unit of work (an attempt); DAG, Steps, StepGroup, TaskGroup and Retry
# nodes only group them. Skipped/Omitted nodes of any grouping type are counted as steps too.
WORK_NODE_TYPES = frozenset({"Pod", "Skipped", "Suspend", "HTTP", "Plugin"})

DELETED = "DELETED"
# Node ids a caller has already counted for a run: (namespace label, name, uid) -> ids.
CountedNodes = Callable[[str, str, str], Collection[str]]

_NO_NODES: tuple[NodeView, ...] = ()
_NO_FAULTS: tuple[tuple[str, Exception], ...] = ()


class NodeView(NamedTuple):
    """One node of a run that the model has not counted yet: a work node (or a skipped or
    omitted one). `started`, `finished`, `message` and `resources` are read only for a finished
    node whose attempt counts (else None, '' and empty); `error` is why its times could not be
    read ('' when they could). `raw` is the node as Argo wrote it, for observers (check
    documents read its outputs), never read by the store."""

    id: str
    type: str
    phase: str
    name: str
    template: str
    started: float | None
    finished: float | None
    message: str
    resources: Mapping[str, Any]
    error: str
    raw: Mapping[str, Any]


class WorkflowView(NamedTuple):
    """What the model uses of one Workflow object, decoded and validated.

    `namespace` is already a label value (capped, interned); `pipeline` is the raw pipeline
    name and `fallback` whether it fell back to the run's own name (the store budgets those).
    For a DELETED event only the identity is decoded: the rest is empty.
    """

    namespace: str
    name: str
    uid: str
    pipeline: str
    fallback: bool
    phase: str
    started: float | None
    finished: float | None
    entrypoint: str
    offloaded: bool
    # Nodes not counted yet, in the node map's order; retries: attempts beyond a Retry node's
    # first (every child after the first); faults: (node id, error) of unreadable nodes.
    nodes: tuple[NodeView, ...]
    retries: frozenset[str]
    faults: tuple[tuple[str, Exception], ...]


class PodView(NamedTuple):
    """What the model uses of one step Pod object, decoded and validated.

    `facts` is what this version of the pod says alone (`reasons.keep_failure` merges it with
    what earlier versions said); `facts_error` is set instead when they cannot be read (a bad
    start time), raised only where the store uses them (a pod it does not know, deleted,
    needs none).
    """

    namespace: str
    name: str
    workflow: str
    node_id: str
    node_name: str
    facts: PodFacts | None
    facts_error: MalformedObject | None


def decode_workflow(obj: Mapping[str, Any], event: str, counted: CountedNodes, *,
                    times: bool) -> WorkflowView:
    """The view of a Workflow object; MalformedObject when it cannot be read as one.

    `counted` says which node ids the caller has already counted for this run (they are not
    decoded again); `times` whether finished nodes' attempts will count (their times,
    message and resources are read only then).
    """
    meta, namespace, name = _identity(obj, "Workflow")
    # Interned: the run's pods name it too (`PodView.workflow`), so the model holds one copy.
    name = sys.intern(name)
    if event == DELETED:
        return WorkflowView(namespace, name, "", "", False, "", None, None, "", False,
                            _NO_NODES, frozenset(), _NO_FAULTS)
    spec = mapping(obj.get("spec"))
    status = obj.get("status")
    if status is not None and not isinstance(status, Mapping):
        raise MalformedObject("status is not an object")
    status = mapping(status)
    uid = text(meta.get("uid")) or f"{namespace}/{name}"
    labels = mapping(meta.get("labels"))
    pipeline, fallback = pipeline_from(labels, spec, meta.get("generateName"), name)
    created = parse_time(meta.get("creationTimestamp"))
    started_at = status.get("startedAt")
    started = parse_time(started_at) or created
    phase = text(status.get("phase"))
    if not phase:
        # Argo v2-era and mid-reconcile objects: the phase label, else what times say.
        phase = text(labels.get("workflows.argoproj.io/phase"))
        phase = phase or ("Running" if started_at else "Pending")
    phase = phase_label(phase)
    entrypoint = text(spec.get("entrypoint")) or text(
        mapping(status.get("storedWorkflowTemplateSpec")).get("entrypoint"))
    finished = parse_time(status.get("finishedAt")) if phase in RUN_FINISHED else None
    inline = status.get("nodes")
    offloaded = bool(status.get("offloadNodeStatusVersion")) and not inline
    node_map = {} if offloaded else decode_nodes(status, inline)
    nodes, retries, faults = _decode_nodes(node_map, counted(namespace, name, uid), times)
    return WorkflowView(namespace, name, uid, pipeline, fallback, phase, started, finished,
                        entrypoint, offloaded, nodes, retries, faults)


def _decode_nodes(node_map: Mapping[str, Any], counted: Collection[str], times: bool
                  ) -> tuple[tuple[NodeView, ...], frozenset[str], tuple[tuple[str, Exception], ...]]:
    """The views of the nodes not yet counted, the retry attempts, and the unreadable nodes."""
    views: list[NodeView] = []
    retries: set[str] = set()
    faults: list[tuple[str, Exception]] = []
    # `text` inlined for the common case (a str) where it runs for every node of every event.
    for key, node in node_map.items():
        node_id = key if type(key) is str else text(key)  # YAML may key a node by a number
        if node_id in counted:
            continue  # the common case on updates: nothing new about this attempt
        try:
            if type(node) is not dict and not isinstance(node, Mapping):
                raise MalformedObject(f"node is a {type(node).__name__}, not an object")
            value = node.get("type")
            node_type = value if type(value) is str else text(value)
            value = node.get("phase")
            phase = value if type(value) is str else text(value)
            if node_type == "Retry":
                # Retry nodes are never counted themselves, so they are read on every update.
                children = node.get("children")
                if isinstance(children, list):
                    retries.update(text(child) for child in children[1:])
                continue
            if node_type not in WORK_NODE_TYPES and phase not in NOT_RUN:
                continue
            value = node.get("templateName")
            template = (value if type(value) is str else text(value)) or text(
                mapping(node.get("templateRef")).get("template"))
            value = node.get("name")
            name = value if type(value) is str else text(value)
            started = finished = None
            message, error = "", ""
            resources: Mapping[str, Any] = _NO_RESOURCES
            if times and phase in STEP_FINISHED:
                try:
                    started = parse_time(node.get("startedAt"))
                    finished = parse_time(node.get("finishedAt"))
                except MalformedObject as bad:
                    error = str(bad)
                # Only a failed attempt's message is read (for its failure reason).
                message = text(node.get("message")) if phase in STEP_FAILED else ""
                resources = dict(mapping(node.get("resourcesDuration")))
            # Interned: the node's pod names it too (`PodView.node_id`), so the model holds
            # one copy. Built without NamedTuple's Python-level __new__ (half the cost).
            views.append(_new(NodeView, (sys.intern(node_id), node_type, phase, name, template,
                                         started, finished, message, resources, error, node)))
        except Exception as error:  # the boundary: one node never stops its run
            faults.append((node_id, error))
    return tuple(views), frozenset(retries), tuple(faults) if faults else _NO_FAULTS


_NO_RESOURCES: Mapping[str, Any] = {}
_new = tuple.__new__


def decode_pod(obj: Mapping[str, Any], event: str) -> PodView:
    """The view of a step Pod object; MalformedObject when it is not one (no name, no
    workflow label)."""
    meta, namespace, name = _identity(obj, "Pod")
    workflow = text(mapping(meta.get("labels")).get(WORKFLOW_LABEL))
    if not workflow:
        raise MalformedObject(f"label {WORKFLOW_LABEL} is missing")
    # Interned, as the run's name and its nodes' ids are: one copy of each in the model.
    workflow = sys.intern(workflow)
    annotations = mapping(meta.get("annotations"))
    try:
        facts: PodFacts | None = read_pod_facts(obj)
        facts_error = None
    except MalformedObject as error:
        facts, facts_error = None, error
    node_id = text(annotations.get(NODE_ID_ANNOTATION))
    return PodView(namespace, name, workflow, sys.intern(node_id) if node_id else name,
                   text(annotations.get(NODE_NAME_ANNOTATION)), facts, facts_error)


def _identity(obj: Mapping[str, Any], kind: str) -> tuple[Mapping[str, Any], str, str]:
    """An object's metadata, namespace label and name; MalformedObject when it is not a `kind`
    (a missing kind is taken as one, as in list items) or has no name."""
    found = obj.get("kind")
    if found not in (None, kind):
        raise MalformedObject(f"kind {found!r} is not {kind}")
    meta = mapping(obj.get("metadata"))
    name = text(meta.get("name"))
    if not name:
        raise MalformedObject("metadata.name is missing")
    return meta, namespace_label(text(meta.get("namespace")) or "default"), name


# Namespace label values by raw namespace (few: cached, capped, interned). A pure memo, so
# every store may share it; cleared past this size.
_NAMESPACES: dict[str, str] = {}
_NAMESPACES_MAX = 50_000


def namespace_label(raw: str) -> str:
    """A namespace as a label value: capped, valid UTF-8, interned."""
    label = _NAMESPACES.get(raw)
    if label is None:
        if len(_NAMESPACES) >= _NAMESPACES_MAX:
            _NAMESPACES.clear()
        label = _NAMESPACES[raw] = sys.intern(cap_label(raw))
    return label
