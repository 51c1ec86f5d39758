"""The formula: effective request x hourly price x the attempt's exact window, per resource."""

from __future__ import annotations

from argoscope.cost.prices import Prices
from argoscope.cost.requests import CPU, GIB, GPU, MEMORY, Requests

# The `resource` label of each priced resource.
LABELS: dict[str, str] = {CPU: "cpu", MEMORY: "memory", GPU: "gpu"}


Amounts = tuple[float, float, float]  # CPU cores, memory GiB, GPUs: what a pod holds


def amounts(requests: Requests) -> Amounts:
    """The effective requests in the units prices are given in (compact, for keeping)."""
    return float(requests.cpu), float(requests.memory / GIB), float(requests.gpu)


def hourly(held: Amounts, prices: Prices) -> dict[str, float]:
    """What the pod costs per hour, by `resource` label."""
    cpu, memory_gib, gpu = held
    return {
        "cpu": cpu * prices.cpu_core_hour,
        "memory": memory_gib * prices.memory_gib_hour,
        "gpu": gpu * prices.gpu_hour,
    }


def attempt_cost(requests: Requests | Amounts, prices: Prices, seconds: float
                 ) -> dict[str, float]:
    """What an attempt costs by `resource` label: 0 for a window that is empty or negative."""
    held = amounts(requests) if isinstance(requests, Requests) else requests
    hours = max(0.0, seconds) / 3600.0
    return {resource: per_hour * hours for resource, per_hour in hourly(held, prices).items()}


def window(started: float | None, finished: float | None) -> float:
    """The seconds from `startedAt` to `finishedAt`, 0 when either is missing."""
    if started is None or finished is None:
        return 0.0
    return max(0.0, finished - started)

