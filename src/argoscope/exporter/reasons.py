"""Why a step failed or waits: from the node message and what the pod says.

Kubernetes and Argo spell the same causes in several places (a node message such as
`main: OOMKilled (exit code 137)` or v3.5's `OOMKilled (exit code 137)`, a container's
`terminated`/`waiting` reason, the pod's `status.reason`, a `PodScheduled=False` condition).
Everything here turns them into one `reason` label from a closed vocabulary
(`FAILURE_REASONS`, `WAITING_REASONS`, documented in docs/design.md): a value outside it is
never a label; a failure's becomes `Error` and is reported back as unknown, to be counted.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from argoscope.exporter.objects import mapping, parse_time, text

GPU_RESOURCE = "nvidia.com/gpu"
MAIN_CONTAINER = "main"
# The generic failure: what every failure is when nothing more specific is known.
GENERIC_FAILURE = "Error"
# A waiting reason outside the vocabulary, on the waiting gauge.
OTHER_WAITING = "Other"

# Waiting reasons that are an ordinary moment of a pod's start, not a stuck pod.
_TRANSIENT_WAITING = frozenset({"PodInitializing"})
# Waiting reasons that explain why a step failed when nothing more specific is known. Others
# (ContainerCreating, PodInitializing) are normal moments of every start: a pod last seen
# in one of them before its step failed says nothing about the cause.
EXPLANATORY_WAITING = frozenset({
    "ImagePullBackOff", "ErrImagePull", "ErrImageNeverPull", "InvalidImageName",
    "CreateContainerConfigError", "CreateContainerError", "RunContainerError",
    "CrashLoopBackOff", "PreCreateHookError", "PreStartHookError", "PostStartHookError",
    "Unschedulable", "SchedulerError",
})
# Every `reason` of `argoscope_steps_waiting`: the kubelet's and the scheduler's waiting
# reasons; anything else is `Other`.
WAITING_REASONS = EXPLANATORY_WAITING | {"ContainerCreating", "PodInitializing",
                                         "SchedulingGated", OTHER_WAITING}
# A pod's own `status.reason` (the kubelet's and the node lifecycle's), and a container's
# `terminated.reason`. The kubelet's admission refusals (`OutOfcpu`, `OutOfnvidia.com/gpu`,
# ...) are one reason, `OutOfResources`.
_POD_REASONS = frozenset({
    "Evicted", "DeadlineExceeded", "NodeLost", "Shutdown", "NodeShutdown", "Terminated",
    "UnexpectedAdmissionError", "NodeAffinity", "Preempting", "OutOfResources",
})
_CONTAINER_REASONS = frozenset({
    "OOMKilled", "ContainerCannotRun", "StartError", "DeadlineExceeded", "Evicted",
    GENERIC_FAILURE,
})
# Argo's own: a pod that vanished (`pod deleted`), a run stopped or terminated (`argo stop`,
# `argo terminate`: Terminated) and every deadline (activeDeadlineSeconds, a retry's
# maxDuration: DeadlineExceeded).
_ARGO_REASONS = frozenset({"PodDeleted", "Terminated", "DeadlineExceeded"})
# Every `reason` of `argoscope_step_failures_total`.
FAILURE_REASONS = _POD_REASONS | _CONTAINER_REASONS | _ARGO_REASONS | EXPLANATORY_WAITING

_CONTAINER_PREFIX = re.compile(r"^[a-z0-9][a-z0-9-]*: ")
_HEAD = re.compile(r"^([A-Za-z][A-Za-z0-9]*)(?:$|:| \(exit code)")
_INSUFFICIENT = re.compile(r"Insufficient ([A-Za-z0-9./_-]+)")

# Messages as Argo and Kubernetes word them, most specific first. A message that matches
# none (and names no reason of the vocabulary in front) is an unknown.
_MESSAGE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"deadline|Max duration limit exceeded", re.I), "DeadlineExceeded"),
    (re.compile(r"^Stopped with strategy|^terminated$|shutdown with strategy", re.I),
     "Terminated"),
    (re.compile(r"low on resource|evict", re.I), "Evicted"),
    (re.compile(r"pod deleted", re.I), "PodDeleted"),
    (re.compile(r"OOMKilled|out of memory", re.I), "OOMKilled"),
    (re.compile(r"ImagePullBackOff|ErrImagePull", re.I), "ImagePullBackOff"),
    (re.compile(r"Unschedulable|nodes are available", re.I), "Unschedulable"),
    (re.compile(r"exit code|exit status", re.I), GENERIC_FAILURE),
)


def reason_from_message(message: str) -> str | None:
    """A reason of the vocabulary read from an Argo node message; None when it names none.

    `Reason (exit code N)` and `Reason: details` (optionally after `container: `) name their
    reason when it is one of the vocabulary; otherwise Argo's and Kubernetes' wordings are
    matched. An unrecognised message gives None, never its first word.
    """
    body = _CONTAINER_PREFIX.sub("", message.strip(), count=1)
    if not body:
        return None
    head = _HEAD.match(body)
    if head and head.group(1) in FAILURE_REASONS:
        return head.group(1)
    for pattern, reason in _MESSAGE_PATTERNS:
        if pattern.search(body):
            return reason
    return None


def pod_reason(reason: str) -> str | None:
    """A pod's or container's failure reason in the vocabulary, or None if it is outside."""
    if reason.startswith("OutOf"):
        return "OutOfResources"
    return reason if reason in FAILURE_REASONS else None


def waiting_label(reason: str) -> str:
    """A waiting reason as a label: one of `WAITING_REASONS`."""
    return reason if reason in WAITING_REASONS else OTHER_WAITING


@dataclass(slots=True)
class PodFacts:
    """What argoscope keeps of a pod: small, and enough for reasons, pending time and GPUs."""

    phase: str = ""
    failure_reason: str = ""
    waiting_reason: str = ""
    insufficient: tuple[str, ...] = ()
    main_started: float | None = None
    gpus: int = 0
    host: str = ""


class _State(NamedTuple):
    """One container status: its name and its state's three forms (each None when absent)."""

    name: str
    running: Any
    terminated: Any
    waiting: Any


def _states(pod_status: Mapping[str, Any], field: str) -> list[_State]:
    """Each container status of `field`, every part read once."""
    value = pod_status.get(field)
    if not isinstance(value, list):
        return []
    states = []
    for item in value:
        item = mapping(item)
        state = mapping(item.get("state"))
        states.append(_State(text(item.get("name")), state.get("running"),
                             state.get("terminated"), state.get("waiting")))
    return states


def _gpu_request(spec: Mapping[str, Any]) -> int:
    total = 0
    containers = spec.get("containers")
    for container in containers if isinstance(containers, list) else []:
        resources = mapping(mapping(container).get("resources"))
        amount = mapping(resources.get("limits")).get(GPU_RESOURCE)
        if amount is None:
            amount = mapping(resources.get("requests")).get(GPU_RESOURCE)
        try:
            total += int(str(amount)) if amount is not None else 0
        except ValueError:
            continue
    return total


def pod_facts(pod: Mapping[str, Any], previous: PodFacts | None = None) -> PodFacts:
    """Read a pod's facts; a failure reason seen before is kept (`keep_failure`)."""
    return keep_failure(read_pod_facts(pod), previous)


def read_pod_facts(pod: Mapping[str, Any]) -> PodFacts:
    """What one version of a pod says, alone (MalformedObject on a bad start time).

    One pass over its container statuses: each container's state is read once (this runs for
    every pod event)."""
    status = mapping(pod.get("status"))
    spec = mapping(pod.get("spec"))
    facts = PodFacts(
        # Interned: a few values, held by every pod the model keeps.
        phase=sys.intern(text(status.get("phase"))),
        gpus=_gpu_request(spec),
        host=sys.intern(text(spec.get("nodeName"))),
    )
    containers = _states(status, "containerStatuses")
    inits = _states(status, "initContainerStatuses")
    main = next((c for c in containers if c.name == MAIN_CONTAINER), None)
    ordered = ([main] if main is not None else []) + [c for c in containers if c is not main]

    # Failure: the pod's own reason (Evicted, DeadlineExceeded, ...) outranks a container's,
    # a container's specific reason (OOMKilled) a generic one (Error) whichever container it
    # is on, and any known reason one outside the vocabulary (kept only to be counted).
    own = text(status.get("reason"))
    failure, rank = own, _rank(own)
    if rank < 2:
        for container in ordered + inits:
            if container.terminated is None:
                continue
            terminated = mapping(container.terminated)
            reason = text(terminated.get("reason"))
            if (reason and reason != "Completed"
                    and terminated.get("exitCode") not in (0, "0")
                    and (_rank(reason) > rank or not failure)):
                failure, rank = reason, _rank(reason)
    facts.failure_reason = failure

    if main is not None:
        started = (mapping(main.running).get("startedAt")
                   or mapping(main.terminated).get("startedAt"))
        facts.main_started = parse_time(started)

    waiting = ""
    for condition in status.get("conditions") or []:
        condition = mapping(condition)
        if text(condition.get("type")) == "PodScheduled" and text(condition.get("status")) == "False":
            waiting = text(condition.get("reason")) or "Unschedulable"
            found = _INSUFFICIENT.findall(text(condition.get("message")))
            facts.insufficient = tuple(sorted({name.rstrip(".,;") for name in found}))
    if not waiting:
        for container in inits + ordered:
            if container.waiting is None:
                continue
            reason = text(mapping(container.waiting).get("reason"))
            if reason and reason not in _TRANSIENT_WAITING:
                waiting = reason
                break
    facts.waiting_reason = waiting
    return facts


def keep_failure(facts: PodFacts, previous: PodFacts | None) -> PodFacts:
    """`facts`, keeping the failure reason `previous` said when it says more: a later update
    (or podGC's deletion) must not erase, or blur, a failure already seen. `facts` itself is
    never changed (it may be a decoded view's); a copy is returned when one is needed."""
    if previous is not None and previous.failure_reason != facts.failure_reason and (
            _rank(previous.failure_reason) > _rank(facts.failure_reason)
            or not facts.failure_reason):
        return replace(facts, failure_reason=previous.failure_reason)
    return facts


def _rank(reason: str) -> int:
    """How much a pod's or container's reason says: 2 specific, 1 generic, 0 none or unknown."""
    known = pod_reason(reason) if reason else None
    return 0 if known is None else 1 if known == GENERIC_FAILURE else 2


def failure_reason(message: str, pod: PodFacts | None, last_waiting: str = ""
                   ) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The reason a step attempt failed, and the causes that were outside the vocabulary.

    The most specific cause wins, whichever source says it: the pod's or a container's
    reason, then the node message's, then the last waiting reason that explains a failure;
    a generic `Error` from any of them loses to a specific reason from another. Nothing known
    is `Error`. Each cause outside the vocabulary is returned as (where, what): `pod` or
    `message`, so the caller counts it.
    """
    unknown: list[tuple[str, str]] = []
    candidates: list[str] = []
    if pod is not None and pod.failure_reason:
        known = pod_reason(pod.failure_reason)
        if known is None:
            unknown.append(("pod", pod.failure_reason))
        else:
            candidates.append(known)
    from_message = reason_from_message(message)
    if from_message is not None:
        candidates.append(from_message)
    elif message.strip():
        unknown.append(("message", message))
    if last_waiting in EXPLANATORY_WAITING:
        candidates.append(last_waiting)
    return next((c for c in candidates if c != GENERIC_FAILURE), GENERIC_FAILURE), tuple(unknown)
