"""The RBAC of every install is exactly the least privilege the exporter needs.

The exporter reads Workflows and pods (get, list, watch) cluster-wide, or in one namespace
with the namespaced overlay, plus pods in dcgm-exporter's namespace with discovery on, plus
nodes (their labels choose a price) with the cost component.
Nothing else: no writes, no secrets, no wildcards, bound to the exporter's ServiceAccount only.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.manifests.kustomize import KUSTOMIZATIONS, exporter_container, of_kind

READ = frozenset({"get", "list", "watch"})
EXPORTER = {"kind": "ServiceAccount", "name": "argoscope-exporter", "namespace": "argoscope"}
WORKFLOWS_AND_PODS = {("argoproj.io", "workflows"), ("", "pods")}
PODS = {("", "pods")}
NODES = {("", "nodes")}

# (scope, apiGroup, resource) -> verbs; scope is "cluster" or the Role's namespace.
Grants = dict[tuple[str, str, str], frozenset[str]]


def grants(objects: list[dict[str, Any]], subject: dict[str, str] = EXPORTER) -> Grants:
    """What the roles that are bound to the exporter allow, resolved through the bindings;
    every binding must bind `subject` (the exporter's ServiceAccount) and nobody else."""
    roles = {(obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"]): obj
             for obj in objects if obj["kind"] in ("Role", "ClusterRole")}
    result: Grants = {}
    for binding in of_kind(objects, "ClusterRoleBinding") + of_kind(objects, "RoleBinding"):
        assert binding["subjects"] == [subject], f"{binding['metadata']['name']} binds others"
        ref = binding["roleRef"]
        assert ref["apiGroup"] == "rbac.authorization.k8s.io"
        namespace = binding["metadata"].get("namespace")
        role_namespace = None if ref["kind"] == "ClusterRole" else namespace
        role = roles.pop((ref["kind"], role_namespace, ref["name"]), None)
        assert role is not None, f"{binding['metadata']['name']} refers to a missing {ref}"
        scope = namespace if binding["kind"] == "RoleBinding" else "cluster"
        for rule in role["rules"]:
            assert set(rule) <= {"apiGroups", "resources", "verbs"}, f"unexpected {rule}"
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    key = (scope, group, resource)
                    result[key] = result.get(key, frozenset()) | frozenset(rule["verbs"])
    assert not roles, f"roles bound to nobody: {sorted(roles)}"
    return result


def expected(scope: str, resources: set[tuple[str, str]]) -> Grants:
    return {(scope, group, resource): READ for group, resource in resources}


EXPECTED: dict[str, Grants] = {
    "base": expected("cluster", WORKFLOWS_AND_PODS),
    "plain-prometheus": expected("cluster", WORKFLOWS_AND_PODS),
    "namespaced": expected("argo", WORKFLOWS_AND_PODS),
    "dcgm-discovery": {**expected("cluster", WORKFLOWS_AND_PODS),
                       **expected("gpu-operator", PODS)},
    "cost": expected("cluster", WORKFLOWS_AND_PODS | NODES),
}


@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_rbac_is_exactly_read_only_workflows_and_pods(
        builds: dict[str, list[dict[str, Any]]], name: str) -> None:
    assert grants(builds[name]) == EXPECTED[name]


def test_namespaced_install_has_no_cluster_wide_rbac(
        builds: dict[str, list[dict[str, Any]]]) -> None:
    objects = builds["namespaced"]
    assert not of_kind(objects, "ClusterRole")
    assert not of_kind(objects, "ClusterRoleBinding")


def _flag(args: list[str], flag: str) -> list[str]:
    return [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == flag]


def test_namespaced_exporter_watches_exactly_where_its_role_allows(
        builds: dict[str, list[dict[str, Any]]]) -> None:
    role_namespaces = {role["metadata"]["namespace"]
                       for role in of_kind(builds["namespaced"], "Role")}
    args = exporter_container(builds["namespaced"])["args"]
    assert set(_flag(args, "--namespace")) == role_namespaces == {"argo"}
    assert not _flag(exporter_container(builds["base"])["args"], "--namespace")


def test_dcgm_discovery_adds_a_selector_and_nothing_but_pod_reads(
        builds: dict[str, list[dict[str, Any]]]) -> None:
    args = exporter_container(builds["dcgm-discovery"])["args"]
    assert _flag(args, "--dcgm-selector") == ["app=nvidia-dcgm-exporter"]
    # Discovery stays in the namespace the component's Role grants.
    assert _flag(args, "--dcgm-namespace") == ["gpu-operator"]
    assert "--dcgm-selector" not in exporter_container(builds["base"])["args"]


def test_cost_mounts_a_price_file_the_exporter_accepts(
        builds: dict[str, list[dict[str, Any]]]) -> None:
    from argoscope.cost.prices import parse_prices

    objects = builds["cost"]
    args = exporter_container(objects)["args"]
    assert _flag(args, "--prices") == ["/etc/argoscope/prices.yaml"]
    mounts = {m["name"]: m["mountPath"] for m in exporter_container(objects)["volumeMounts"]}
    assert mounts["prices"] == "/etc/argoscope"
    config_map = of_kind(objects, "ConfigMap")
    files = [cm["data"]["prices.yaml"] for cm in config_map if "prices.yaml" in cm.get("data", {})]
    assert len(files) == 1
    import yaml

    book = parse_prices(yaml.safe_load(files[0]), "manifests/components/cost/configmap.yaml")
    assert book.needs_nodes  # hence the Node reads above
