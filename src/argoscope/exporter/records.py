"""What the model keeps of Workflow and Pod objects, and what it hands on: minimal records.

Raw objects are never kept. The store (`model.Model`) updates `RunRecord`s and `PodRecord`s in
place under its lock; everything that leaves the store is an immutable record or a copy, so
counting rules and family generators work on them without holding that lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from argoscope.exporter.reasons import PodFacts


class StepRef(NamedTuple):
    """Where a step attempt sits: the labels every step family uses, plus its run and node.

    Its first three fields are the step labels (namespace, pipeline, step): `ref[:3]`.
    """

    namespace: str
    pipeline: str
    step: str
    template: str
    workflow: str
    node_id: str


@dataclass(frozen=True, slots=True)
class LivePod:
    """A step pod that still exists, with what GPU attribution needs."""

    namespace: str
    pod: str
    step: StepRef | None
    gpus: int
    host: str
    phase: str


class FinishedRun(NamedTuple):
    """A run first seen finished: what the run counting rules read.

    (Named tuples, not frozen dataclasses: one is made per finished attempt, on the ingest
    path, and a frozen dataclass costs several times as much to build.)
    """

    namespace: str
    pipeline: str
    phase: str
    started: float | None
    finished: float | None


class FinishedAttempt(NamedTuple):
    """A step attempt first seen finished: what the step counting rules read.

    `labels` are the step's (namespace, pipeline, step); `reason` is a failed attempt's
    failure reason (from the closed vocabulary, '' otherwise); `pod` is what the attempt's
    pod said, when the store knows its pod; `resources` is the node's `resourcesDuration` as
    Argo wrote it (unvalidated).
    """

    step: StepRef
    labels: tuple[str, str, str]
    node_type: str
    phase: str
    is_retry: bool
    started: float | None
    finished: float | None
    reason: str
    resources: Mapping[str, Any]
    pod: PodFacts | None


class WaitingAttempt(NamedTuple):
    """A finished attempt of a Pod node whose pod has not said its last word yet (not seen,
    or not yet finished): held until it has, so what it adds never depends on whether the
    Workflow or the Pod arrived first. `since` is when it started waiting."""

    step: StepRef
    node_type: str
    phase: str
    is_retry: bool
    started: float | None
    finished: float | None
    message: str
    resources: Mapping[str, Any]
    since: float


@dataclass(slots=True)
class RunRecord:
    """One Workflow object, as far as metrics need it (kept by the store, changed in place)."""

    uid: str
    namespace: str
    name: str
    pipeline: str
    label: str = ""  # the name as a `workflow` label value (capped, valid UTF-8)
    phase: str = "Pending"
    started: float | None = None
    finished: float | None = None
    offloaded: bool = False
    # The entrypoint template: the step of the entrypoint node and of its retry attempts.
    entrypoint: str = ""
    counted: bool = False
    origin: str = ""
    # Node ids already counted, as a dict's keys: a dict of string keys is a fifth the size
    # of a set of them (3.11), and every run the model holds keeps one.
    counted_nodes: dict[str, None] = field(default_factory=dict)
    # node id -> (step, template) for work nodes: attributes pods (and GPUs) to steps.
    steps: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass(slots=True)
class PodRecord:
    """One step pod, as far as metrics need it (kept by the store, changed in place)."""

    namespace: str
    name: str
    workflow: str
    node_id: str
    node_name: str
    facts: PodFacts
    last_waiting: str = ""
    deleted_at: float | None = None
    origin: str = ""
