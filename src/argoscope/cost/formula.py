"""The formula: effective request x hourly price x the attempt's exact window, per resource."""

from __future__ import annotations

from argoscope.cost.prices import Prices
from argoscope.cost.requests import CPU, GIB, GPU, MEMORY, Requests

# The `resource` label of each priced resource.
LABELS: dict[str, str] = {CPU: "cpu", MEMORY: "memory", GPU: "gpu"}


def hourly(requests: Requests, prices: Prices) -> dict[str, float]:
    """What the pod costs per hour, by `resource` label."""
    return {
        "cpu": float(requests.cpu) * prices.cpu_core_hour,
        "memory": float(requests.memory / GIB) * prices.memory_gib_hour,
        "gpu": float(requests.gpu) * prices.gpu_hour,
    }


def attempt_cost(requests: Requests, prices: Prices, seconds: float) -> dict[str, float]:
    """What an attempt costs by `resource` label: 0 for a window that is empty or negative."""
    hours = max(0.0, seconds) / 3600.0
    return {resource: per_hour * hours for resource, per_hour in hourly(requests, prices).items()}


def window(started: float | None, finished: float | None) -> float:
    """The seconds from `startedAt` to `finishedAt`, 0 when either is missing."""
    if started is None or finished is None:
        return 0.0
    return max(0.0, finished - started)

