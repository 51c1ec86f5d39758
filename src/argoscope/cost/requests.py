"""A pod's effective requests: what the scheduler reserves for it, by Kubernetes' rule.

Per resource (https://kubernetes.io/docs/concepts/workloads/pods/init-containers/#resource-sharing-within-containers,
with sidecars from KEP-753):

- a container's request is its `requests` entry, else its `limits` entry (Kubernetes defaults a
  missing request to the limit), else nothing;
- app = the sum of the app containers' requests plus every sidecar's (an init container with
  `restartPolicy: Always` runs beside them);
- init = the largest, over the ordinary init containers, of its request plus the requests of the
  sidecars started before it;
- effective = max(init, app) + the pod's `overhead`.

A value that is not a quantity counts as nothing and is named in `Requests.bad`, so one odd
field never hides the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from argoscope.cost.quantity import QuantityError, parse_quantity

CPU = "cpu"
MEMORY = "memory"
GPU = "nvidia.com/gpu"
# The resources priced, in the order reports and metrics list them.
RESOURCES: tuple[str, ...] = (CPU, MEMORY, GPU)
GIB = Decimal(1024) ** 3


@dataclass(frozen=True, slots=True)
class Requests:
    """A pod's effective requests: CPU cores, memory bytes and GPUs (exact)."""

    cpu: Decimal = Decimal(0)
    memory: Decimal = Decimal(0)
    gpu: Decimal = Decimal(0)
    bad: tuple[str, ...] = ()

    def amount(self, resource: str) -> Decimal:
        """The request of one of RESOURCES."""
        return {CPU: self.cpu, MEMORY: self.memory, GPU: self.gpu}[resource]


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> Sequence[Mapping[str, Any]]:
    return [_mapping(item) for item in value] if isinstance(value, list) else []


def _amount(value: Any, where: str, bad: list[str]) -> Decimal:
    if value is None:
        return Decimal(0)
    try:
        amount = parse_quantity(value)
    except QuantityError:
        bad.append(where)
        return Decimal(0)
    if amount < 0:
        bad.append(where)
        return Decimal(0)
    return amount


def container_request(container: Mapping[str, Any], resource: str, bad: list[str]) -> Decimal:
    """One container's request of `resource`: its request, else its limit, else 0."""
    resources = _mapping(container.get("resources"))
    requests = _mapping(resources.get("requests"))
    name = str(container.get("name") or "?")
    if resource in requests:
        return _amount(requests[resource], f"{name}.requests.{resource}", bad)
    return _amount(_mapping(resources.get("limits")).get(resource),
                   f"{name}.limits.{resource}", bad)


def effective_request(spec: Mapping[str, Any], resource: str, bad: list[str]) -> Decimal:
    """The pod spec's effective request of one resource (see the module's rule)."""
    sidecars = Decimal(0)
    init = Decimal(0)
    for container in _list(spec.get("initContainers")):
        amount = container_request(container, resource, bad)
        if container.get("restartPolicy") == "Always":
            sidecars += amount
        else:
            init = max(init, amount + sidecars)
    app = sum((container_request(c, resource, bad) for c in _list(spec.get("containers"))),
              Decimal(0)) + sidecars
    overhead = _amount(_mapping(spec.get("overhead")).get(resource),
                       f"overhead.{resource}", bad)
    return max(init, app) + overhead


def pod_requests(pod: Mapping[str, Any]) -> Requests:
    """The effective requests of a Pod object (or of a bare pod spec)."""
    spec = _mapping(pod.get("spec")) if "spec" in pod else pod
    bad: list[str] = []
    cpu, memory, gpu = (effective_request(spec, resource, bad) for resource in RESOURCES)
    return Requests(cpu, memory, gpu, tuple(bad))
