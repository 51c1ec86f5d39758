"""The cost of one run, step by step: what `argoscope run --prices` and the run report show.

The same rule as the exporter's `argoscope_step_cost_total`: each finished pod attempt (an
Argo node of type Pod, not Skipped or Omitted) costs its pod's effective requests x the hourly
prices x its window from `startedAt` to `finishedAt`. The local runner's "node" is this
machine, which has no Node labels: it is priced by the file's `default`. An attempt whose pod
is not known (a dump without pods) is listed as unpriced, never guessed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argoscope.cost.formula import attempt_cost, window
from argoscope.cost.prices import PriceBook
from argoscope.cost.requests import pod_requests
from argoscope.timefmt import parse_time

NODE_ID_ANNOTATION = "workflows.argoproj.io/node-id"
WORKFLOW_LABEL = "workflows.argoproj.io/workflow"
NOT_RUN = frozenset({"Skipped", "Omitted"})
FINISHED = frozenset({"Succeeded", "Failed", "Error"})
RESOURCE_LABELS: tuple[str, ...] = ("cpu", "memory", "gpu")


@dataclass(frozen=True, slots=True)
class AttemptCost:
    """One priced attempt: its step (display name), node id, phase, window and cost."""

    step: str
    node_id: str
    phase: str
    seconds: float
    costs: Mapping[str, float]

    @property
    def total(self) -> float:
        """The attempt's cost over every resource."""
        return sum(self.costs.values())


@dataclass(frozen=True, slots=True)
class RunCost:
    """A run's cost: per attempt, per step, per resource and in total."""

    currency: str
    attempts: tuple[AttemptCost, ...] = ()
    unpriced: tuple[str, ...] = field(default=())  # steps of attempts whose pod is unknown

    @property
    def total(self) -> float:
        """The whole run's cost."""
        return sum(attempt.total for attempt in self.attempts)

    def by_step(self) -> list[tuple[str, float]]:
        """Each step's cost (its attempts together), in the order steps first ran."""
        totals: dict[str, float] = {}
        for attempt in self.attempts:
            totals[attempt.step] = totals.get(attempt.step, 0.0) + attempt.total
        return list(totals.items())

    def by_resource(self) -> dict[str, float]:
        """The run's cost per `resource` label (cpu, memory, gpu)."""
        return {resource: sum(a.costs.get(resource, 0.0) for a in self.attempts)
                for resource in RESOURCE_LABELS}


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _step_name(node: Mapping[str, Any]) -> str:
    display = str(node.get("displayName") or str(node.get("name") or "").rsplit(".", 1)[-1])
    # A retry attempt `fit(1)` is the step `fit`.
    head, paren, rest = display.partition("(")
    return head if paren and rest.rstrip(")").isdigit() else display


def run_cost(workflow: Mapping[str, Any], pods: Iterable[Mapping[str, Any]],
             book: PriceBook) -> RunCost:
    """The cost of a run's finished pod attempts, its pods priced at `book.default`."""
    by_node: dict[str, Mapping[str, Any]] = {}
    for item in pods:
        meta = _mapping(item.get("metadata"))
        key = str(_mapping(meta.get("annotations")).get(NODE_ID_ANNOTATION)
                  or meta.get("name") or "")
        by_node[key] = item
    nodes = _mapping(_mapping(workflow.get("status")).get("nodes"))
    ordered = sorted(((str(k), _mapping(v)) for k, v in nodes.items()),
                     key=lambda item: (parse_time(item[1].get("startedAt")) or 0.0, item[0]))
    attempts: list[AttemptCost] = []
    unpriced: list[str] = []
    for node_id, node in ordered:
        phase = str(node.get("phase") or "")
        if node.get("type") != "Pod" or phase in NOT_RUN or phase not in FINISHED:
            continue
        step = _step_name(node)
        pod = by_node.get(node_id)
        if pod is None:
            unpriced.append(step)
            continue
        seconds = window(parse_time(node.get("startedAt")), parse_time(node.get("finishedAt")))
        costs = attempt_cost(pod_requests(pod), book.default, seconds)
        attempts.append(AttemptCost(step, node_id, phase, seconds, costs))
    return RunCost(book.currency, tuple(attempts), tuple(unpriced))


def state_pods(state_dir: Path, workflow: str) -> list[Mapping[str, Any]]:
    """The Pod objects the local runner recorded for `workflow` (`DIR/pods/*.json`)."""
    pods: list[Mapping[str, Any]] = []
    for path in sorted((state_dir / "pods").glob("*.json")):
        try:
            pod = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a pod file being rewritten, or not a pod: not this run's cost
        labels = _mapping(_mapping(_mapping(pod).get("metadata")).get("labels"))
        if labels.get(WORKFLOW_LABEL) == workflow:
            pods.append(pod)
    return pods


def format_cost(cost: RunCost) -> str:
    """A plain-text summary: cost per step, per resource and in total."""
    width = max([len(step) for step, _ in cost.by_step()] + [5])
    lines = [f"Cost ({cost.currency}, effective requests x default prices x each attempt's "
             "window):"]
    for step, amount in cost.by_step():
        lines.append(f"  {step:<{width}}  {amount:.4f}")
    resources = ", ".join(f"{name} {amount:.4f}" for name, amount in cost.by_resource().items())
    lines.append(f"  {'total':<{width}}  {cost.total:.4f}  ({resources})")
    if cost.unpriced:
        lines.append(f"  not priced (pod unknown): {', '.join(dict.fromkeys(cost.unpriced))}")
    return "\n".join(lines)
