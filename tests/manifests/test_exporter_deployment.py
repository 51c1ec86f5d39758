"""The exporter's Deployment: pod security, probes, resources, arguments the CLI accepts,
and the Service, ServiceMonitor and NetworkPolicy wired to it by matching labels and ports."""

from __future__ import annotations

from typing import Any

import pytest

from argoscope.cli import build_parser
from tests.manifests.kustomize import (
    EXPORTER_IMAGE,
    KUSTOMIZATIONS,
    exporter_container,
    of_kind,
    one,
)

METRICS_PORT = 9842


def pod_spec(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return dict(one(objects, "Deployment")["spec"]["template"]["spec"])


def pod_labels(objects: list[dict[str, Any]]) -> dict[str, str]:
    template = one(objects, "Deployment")["spec"]["template"]
    return dict(template["metadata"]["labels"])


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a matchLabels-only label selector selects `labels`."""
    assert set(selector) == {"matchLabels"}, "only matchLabels selectors are used here"
    return all(labels.get(key) == value for key, value in selector["matchLabels"].items())


@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_pod_runs_non_root_with_nothing_extra(
        builds: dict[str, list[dict[str, Any]]], name: str) -> None:
    spec = pod_spec(builds[name])
    pod = spec["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["runAsUser"] > 0 and pod["runAsGroup"] > 0
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    for forbidden in ("hostNetwork", "hostPID", "hostIPC"):
        assert not spec.get(forbidden)
    container = exporter_container(builds[name])
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security.get("privileged", False) is False
    assert security.get("seccompProfile", pod["seccompProfile"]) == {"type": "RuntimeDefault"}
    assert security.get("runAsNonRoot", True) is True


@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_exporter_has_requests_limits_and_health_probes(
        builds: dict[str, list[dict[str, Any]]], name: str) -> None:
    container = exporter_container(builds[name])
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= container["resources"][kind].keys()
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"metrics": METRICS_PORT}
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        check = container[probe]["httpGet"]
        assert check["path"] == path
        assert ports.get(check["port"], check["port"]) == METRICS_PORT


@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_exporter_arguments_are_accepted_by_the_cli(
        builds: dict[str, list[dict[str, Any]]], name: str) -> None:
    container = exporter_container(builds[name])
    assert container["image"] == EXPORTER_IMAGE
    assert "command" not in container, "the image's ENTRYPOINT is `argoscope`"
    args = build_parser().parse_args(container["args"])
    assert args.command == "exporter"
    assert "kubernetes" in args.source
    assert args.listen == f"0.0.0.0:{METRICS_PORT}"


def test_namespace_enforces_the_restricted_pod_security_standard(
        builds: dict[str, list[dict[str, Any]]]) -> None:
    labels = one(builds["base"], "Namespace", "argoscope")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_service_selects_the_exporter_and_exposes_its_metrics_port(
        builds: dict[str, list[dict[str, Any]]], name: str) -> None:
    service = one(builds[name], "Service", "argoscope-exporter")
    labels = pod_labels(builds[name])
    assert all(labels.get(k) == v for k, v in service["spec"]["selector"].items())
    [port] = service["spec"]["ports"]
    assert port["name"] == "metrics" and port["port"] == METRICS_PORT
    assert port["targetPort"] == "metrics"


@pytest.mark.parametrize("name", sorted(set(KUSTOMIZATIONS) - {"plain-prometheus"}))
def test_service_monitor_scrapes_the_service_metrics_port(
        builds: dict[str, list[dict[str, Any]]], name: str) -> None:
    objects = builds[name]
    monitor = one(objects, "ServiceMonitor")
    service = one(objects, "Service", "argoscope-exporter")
    assert selects(monitor["spec"]["selector"], service["metadata"]["labels"])
    assert monitor["metadata"]["namespace"] == service["metadata"]["namespace"]
    port_names = {port["name"] for port in service["spec"]["ports"]}
    for endpoint in monitor["spec"]["endpoints"]:
        assert endpoint["port"] in port_names
        assert endpoint["path"] == "/metrics"
    # kube-prometheus-stack selects ServiceMonitors and PrometheusRules by release label.
    rule = one(objects, "PrometheusRule")
    assert monitor["metadata"]["labels"]["release"] == rule["metadata"]["labels"]["release"]


def test_plain_prometheus_scrapes_the_service_by_annotation(
        builds: dict[str, list[dict[str, Any]]]) -> None:
    objects = builds["plain-prometheus"]
    service = one(objects, "Service", "argoscope-exporter")
    annotations = service["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == METRICS_PORT
    assert annotations["prometheus.io/path"] == "/metrics"
    # Annotating the pod as well would make the chart's pod job scrape it a second time.
    template = one(objects, "Deployment")["spec"]["template"]["metadata"]
    assert "prometheus.io/scrape" not in template.get("annotations", {})


@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_network_policy_admits_only_prometheus_to_the_metrics_port(
        builds: dict[str, list[dict[str, Any]]], name: str) -> None:
    objects = builds[name]
    [policy] = of_kind(objects, "NetworkPolicy")
    spec = policy["spec"]
    assert selects(spec["podSelector"], pod_labels(objects))
    assert spec["policyTypes"] == ["Ingress"]
    [rule] = spec["ingress"]
    assert rule["ports"] == [{"port": "metrics", "protocol": "TCP"}]
    [peer] = rule["from"]
    # One peer with both selectors: Prometheus pods in the monitoring namespace, not
    # "any pod in monitoring or any Prometheus-labelled pod anywhere".
    assert peer == {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
    }
