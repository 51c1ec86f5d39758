"""Why a step failed or waits: from the node message and what the pod says.

Kubernetes and Argo spell the same causes in several places (a node message such as
`main: OOMKilled (exit code 137)` or v3.5's `OOMKilled (exit code 137)`, a container's
`terminated`/`waiting` reason, the pod's `status.reason`, a `PodScheduled=False` condition).
Everything here turns them into one short CamelCase `reason` label from a bounded vocabulary.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from argoscope.exporter.objects import mapping, parse_time, text

GPU_RESOURCE = "nvidia.com/gpu"
MAIN_CONTAINER = "main"

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
_REASON_TOKEN = re.compile(r"^[A-Z][A-Za-z]{1,39}$")
_CONTAINER_PREFIX = re.compile(r"^[a-z0-9][a-z0-9-]*: ")
_INSUFFICIENT = re.compile(r"Insufficient ([A-Za-z0-9./_-]+)")

# Messages without a CamelCase reason in front, as Argo and Kubernetes word them.
_MESSAGE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"deadline|Max duration limit exceeded", re.I), "DeadlineExceeded"),
    (re.compile(r"low on resource|evict", re.I), "Evicted"),
    (re.compile(r"pod deleted", re.I), "PodDeleted"),
    (re.compile(r"OOMKilled|out of memory", re.I), "OOMKilled"),
    (re.compile(r"ImagePullBackOff|ErrImagePull|pulling image", re.I), "ImagePullBackOff"),
    (re.compile(r"Unschedulable|nodes are available", re.I), "Unschedulable"),
    (re.compile(r"exit code|exit status", re.I), "Error"),
)


def reason_from_message(message: str) -> str | None:
    """A reason read from an Argo node message, or None when it names none."""
    message = message.strip()
    if not message:
        return None
    body = _CONTAINER_PREFIX.sub("", message, count=1)
    head = re.split(r"[\s:(]", body, maxsplit=1)[0]
    if _REASON_TOKEN.match(head) and head not in {"Error", "Failed", "Step", "Pod", "The"}:
        return head
    for pattern, reason in _MESSAGE_PATTERNS:
        if pattern.search(body):
            return reason
    if head == "Error":
        return "Error"
    return None


def normalise_reason(reason: str) -> str:
    """A reason label from a bounded vocabulary: CamelCase words, else `Other`."""
    return reason if _REASON_TOKEN.match(reason) else "Other"


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


def _container_state(status: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    return mapping(mapping(status.get("state")).get(key))


def _statuses(pod_status: Mapping[str, Any], field: str) -> Sequence[Mapping[str, Any]]:
    value = pod_status.get(field)
    return [mapping(item) for item in value] if isinstance(value, list) else []


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
    """Read a pod's facts; a waiting reason seen before is kept as a failure's likely cause."""
    status = mapping(pod.get("status"))
    spec = mapping(pod.get("spec"))
    facts = PodFacts(
        phase=text(status.get("phase")),
        gpus=_gpu_request(spec),
        host=text(spec.get("nodeName")),
    )
    containers = _statuses(status, "containerStatuses")
    main = next((c for c in containers if text(c.get("name")) == MAIN_CONTAINER), None)
    ordered = ([main] if main is not None else []) + [c for c in containers if c is not main]

    # Failure: the pod's own reason (Evicted, DeadlineExceeded, ...) outranks a container's.
    failure = text(status.get("reason"))
    if not failure:
        for container in ordered + list(_statuses(status, "initContainerStatuses")):
            terminated = _container_state(container, "terminated")
            reason = text(terminated.get("reason"))
            if reason and reason != "Completed" and terminated.get("exitCode") not in (0, "0"):
                failure = reason
                break
    facts.failure_reason = failure

    if main is not None:
        started = (_container_state(main, "running").get("startedAt")
                   or _container_state(main, "terminated").get("startedAt"))
        facts.main_started = parse_time(started)

    waiting = ""
    for condition in status.get("conditions") or []:
        condition = mapping(condition)
        if text(condition.get("type")) == "PodScheduled" and text(condition.get("status")) == "False":
            waiting = text(condition.get("reason")) or "Unschedulable"
            found = _INSUFFICIENT.findall(text(condition.get("message")))
            facts.insufficient = tuple(sorted({name.rstrip(".,;") for name in found}))
    if not waiting:
        for container in list(_statuses(status, "initContainerStatuses")) + ordered:
            reason = text(_container_state(container, "waiting").get("reason"))
            if reason and reason not in _TRANSIENT_WAITING:
                waiting = reason
                break
    facts.waiting_reason = waiting
    if previous is not None and not facts.failure_reason and previous.failure_reason:
        # A later update (or podGC's deletion) must not erase a failure already seen.
        facts.failure_reason = previous.failure_reason
    return facts


def failure_reason(node_phase: str, message: str, pod: PodFacts | None,
                   last_waiting: str = "") -> str:
    """The reason a step attempt failed, most specific source first."""
    if pod is not None and pod.failure_reason:
        return normalise_reason(pod.failure_reason)
    from_message = reason_from_message(message)
    if from_message and from_message != "Error":
        return normalise_reason(from_message)
    if last_waiting in EXPLANATORY_WAITING:
        return last_waiting
    if from_message:
        return from_message
    return "Error" if node_phase in ("Failed", "Error") else "Unknown"
