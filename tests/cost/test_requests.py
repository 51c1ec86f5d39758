"""Effective requests follow Kubernetes' rule, whatever form the quantities are written in."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from argoscope.cost.requests import CPU, GPU, MEMORY, pod_requests

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Millicores, written in every form Kubernetes accepts for the same amount.
CPU_FORMS = [lambda m: f"{m}m", lambda m: str(Decimal(m) / 1000), lambda m: f"{m}e-3",
             lambda m: f"{Decimal(m) / 1000}E0"]
# Mebibytes, likewise.
MEMORY_FORMS = [lambda mi: f"{mi}Mi", lambda mi: str(mi * 1024 * 1024), lambda mi: f"{mi * 1024}Ki",
                lambda mi: f"{mi * 1048576}", lambda mi: f"{mi * 1048576}e0"]

amount = st.integers(0, 64_000)


@st.composite
def containers(draw: Any, count: st.SearchStrategy[int]) -> list[dict[str, Any]]:
    """Containers as (cpu millicores, memory MiB, gpus, request-or-limit) amounts."""
    found = []
    for index in range(draw(count)):
        found.append({"name": f"c{index}", "cpu": draw(amount), "mem": draw(amount),
                      "gpu": draw(st.integers(0, 8)),
                      "field": draw(st.sampled_from(["requests", "limits", "both"]))})
    return found


def render(spec: list[dict[str, Any]], form: int) -> list[dict[str, Any]]:
    out = []
    for c in spec:
        values = {"cpu": CPU_FORMS[form % len(CPU_FORMS)](c["cpu"]),
                  "memory": MEMORY_FORMS[form % len(MEMORY_FORMS)](c["mem"])}
        if c["gpu"]:
            values[GPU] = str(c["gpu"])
        resources = ({"requests": values, "limits": values} if c["field"] == "both"
                     else {c["field"]: values})
        body: dict[str, Any] = {"name": c["name"], "resources": resources}
        if c.get("sidecar"):
            body["restartPolicy"] = "Always"
        out.append(body)
    return out


def pod(app: list[dict[str, Any]], init: list[dict[str, Any]], form: int,
        overhead: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": render(app, form), "initContainers": render(init, form)}
    if overhead:
        spec["overhead"] = overhead
    return {"kind": "Pod", "spec": spec}


def expected_millicores(app: list[dict[str, Any]], init: list[dict[str, Any]]) -> int:
    sidecars, largest = 0, 0
    for c in init:
        if c.get("sidecar"):
            sidecars += c["cpu"]
        else:
            largest = max(largest, c["cpu"] + sidecars)
    return max(largest, sum(c["cpu"] for c in app) + sidecars)


@SETTINGS
@given(containers(st.integers(1, 4)), containers(st.integers(0, 3)),
       st.integers(0, 19), st.integers(0, 19), st.randoms())
def test_the_rule_holds_in_every_form_and_order(app: list[dict[str, Any]],
                                                init: list[dict[str, Any]], form_a: int,
                                                form_b: int, rng: Any) -> None:
    for c in init:
        c["sidecar"] = rng.random() < 0.3
    first = pod_requests(pod(app, init, form_a))
    # Another spelling of the same amounts, and the app containers in another order (their
    # sum does not depend on it; init containers run in order, so theirs stays).
    shuffled = list(app)
    rng.shuffle(shuffled)
    second = pod_requests(pod(shuffled, init, form_b))
    assert first == second
    assert not first.bad
    assert first.cpu == Decimal(expected_millicores(app, init)) / 1000
    assert first.gpu >= max([c["gpu"] for c in app], default=0)


@SETTINGS
@given(containers(st.integers(1, 3)), st.integers(0, 4000), st.integers(0, 4096))
def test_overhead_adds_exactly_once(app: list[dict[str, Any]], milli: int, mib: int) -> None:
    without = pod_requests(pod(app, [], 0))
    with_overhead = pod_requests(pod(app, [], 0, {"cpu": f"{milli}m", "memory": f"{mib}Mi"}))
    assert with_overhead.cpu - without.cpu == Decimal(milli) / 1000
    assert with_overhead.memory - without.memory == mib * 1024 * 1024
    assert with_overhead.gpu == without.gpu


def test_a_limit_stands_for_a_missing_request_but_never_over_a_given_one() -> None:
    limits_only = {"spec": {"containers": [{"name": "main", "resources": {
        "limits": {"cpu": "2", "memory": "1Gi", GPU: "1"}}}]}}
    both = {"spec": {"containers": [{"name": "main", "resources": {
        "requests": {"cpu": "500m"}, "limits": {"cpu": "2", "memory": "1Gi"}}}]}}
    assert pod_requests(limits_only).amount(CPU) == 2
    assert pod_requests(limits_only).amount(GPU) == 1
    assert pod_requests(both).amount(CPU) == Decimal("0.5")
    assert pod_requests(both).amount(MEMORY) == 1024 ** 3


def test_the_kubernetes_documentation_example_with_a_sidecar() -> None:
    # From the sidecar containers page: init 1 (100m) runs alone, the sidecar (50m) stays,
    # init 2 (200m) runs beside it, then the app (300m) beside the sidecar: max(100, 250, 350).
    spec = {"initContainers": [
        {"name": "init-1", "resources": {"requests": {"cpu": "100m"}}},
        {"name": "sidecar", "restartPolicy": "Always", "resources": {"requests": {"cpu": "50m"}}},
        {"name": "init-2", "resources": {"requests": {"cpu": "200m"}}}],
        "containers": [{"name": "main", "resources": {"requests": {"cpu": "300m"}}}]}
    assert pod_requests({"spec": spec}).cpu == Decimal("0.35")


def test_a_value_that_is_not_a_quantity_is_named_and_the_rest_still_counts() -> None:
    spec = {"containers": [
        {"name": "main", "resources": {"requests": {"cpu": "lots", "memory": "1Gi"}}},
        {"name": "wait", "resources": {"requests": {"cpu": "-1"}}}]}
    requests = pod_requests({"spec": spec})
    assert requests.memory == 1024 ** 3 and requests.cpu == 0
    assert requests.bad == ("main.requests.cpu", "wait.requests.cpu")
