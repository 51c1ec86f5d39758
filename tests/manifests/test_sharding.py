"""Sharding by namespace: manifests/overlays/namespace-shard installs a second exporter beside
the namespaced install, and the two never see, scrape or collide with each other."""

from __future__ import annotations

from typing import Any

import pytest

from tests.manifests.kustomize import MANIFESTS, build, exporter_container, of_kind, one
from tests.manifests.test_exporter_deployment import pod_labels, selects
from tests.manifests.test_rbac import WORKFLOWS_AND_PODS, expected, grants
from tests.manifests.test_schemas import validate_kubernetes, validate_operator

SHARD = MANIFESTS / "overlays" / "namespace-shard"


@pytest.fixture(scope="module")
def shard(kubectl: str) -> list[dict[str, Any]]:
    return build(kubectl, SHARD)


def watched(objects: list[dict[str, Any]]) -> set[str]:
    args = exporter_container(objects)["args"]
    return {args[i + 1] for i, arg in enumerate(args[:-1]) if arg == "--namespace"}


def test_shard_objects_validate(shard: list[dict[str, Any]]) -> None:
    for obj in shard:
        if obj["kind"] == "ServiceMonitor":
            validate_operator(obj)
        else:
            validate_kubernetes(obj)


def test_shard_adds_an_exporter_without_duplicating_shared_objects(
        builds: dict[str, list[dict[str, Any]]], shard: list[dict[str, Any]]) -> None:
    def identities(objects: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
        return {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])
                for o in objects}

    assert not identities(shard) & identities(builds["namespaced"])
    assert {o["kind"] for o in shard} == {
        "ServiceAccount", "Role", "RoleBinding", "Deployment", "Service", "ServiceMonitor",
        "NetworkPolicy"}


def test_shard_watches_its_own_namespace_with_read_only_rights(
        builds: dict[str, list[dict[str, Any]]], shard: list[dict[str, Any]]) -> None:
    assert watched(shard) == {"team-b"}
    assert not watched(shard) & watched(builds["namespaced"])
    account = one(shard, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"]
    one(shard, "ServiceAccount", account)
    subject = {"kind": "ServiceAccount", "name": account, "namespace": "argoscope"}
    assert grants(shard, subject) == expected("team-b", WORKFLOWS_AND_PODS)


def test_services_monitors_and_policies_pair_only_with_their_own_exporter(
        builds: dict[str, list[dict[str, Any]]], shard: list[dict[str, Any]]) -> None:
    installs = {"main": builds["namespaced"], "shard": shard}
    for name, objects in installs.items():
        for other_name, other in installs.items():
            same = name == other_name
            service = one(objects, "Service")
            labels = pod_labels(other)
            assert all(labels.get(k) == v for k, v in service["spec"]["selector"].items()) is same
            monitor = one(objects, "ServiceMonitor")
            assert selects(monitor["spec"]["selector"],
                           one(other, "Service")["metadata"]["labels"]) is same
            [policy] = of_kind(objects, "NetworkPolicy")
            assert selects(policy["spec"]["podSelector"], labels) is same
