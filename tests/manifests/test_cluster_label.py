"""Setting the `cluster` label: manifests/overlays/cluster-label (the base plus the
components/cluster-label Component) relabels the exporter's ServiceMonitor so that every
series carries `cluster`; the relabelling, run by a real Prometheus, labels the real
exporter's series."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.manifests.kustomize import MANIFESTS, build, of_kind, one
from tests.manifests.test_schemas import validate_operator
from tests.support import servers
from tests.support.net import wait_until

OVERLAY = MANIFESTS / "overlays" / "cluster-label"


@pytest.fixture(scope="module")
def overlay(kubectl: str) -> list[dict[str, Any]]:
    return build(kubectl, OVERLAY)


def _relabelings(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    monitor = one(objects, "ServiceMonitor")
    validate_operator(monitor)
    return list(monitor["spec"]["endpoints"][0]["relabelings"])


def test_overlay_is_the_base_plus_a_cluster_relabelling(
        builds: dict[str, list[dict[str, Any]]], overlay: list[dict[str, Any]]) -> None:
    def without_monitor(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [obj for obj in objects if obj["kind"] != "ServiceMonitor"]

    assert without_monitor(overlay) == without_monitor(builds["base"])
    assert len(of_kind(overlay, "ServiceMonitor")) == 1
    assert [r["targetLabel"] for r in _relabelings(overlay)] == ["cluster"]


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()


def test_a_real_prometheus_labels_the_exporters_series(
        overlay: list[dict[str, Any]], tmp_path: Path) -> None:
    # The Prometheus Operator turns `relabelings` into the scrape job's relabel_configs,
    # field by field (camelCase to snake_case).
    relabel_configs = [{_snake(key): value for key, value in rule.items()}
                       for rule in _relabelings(overlay)]
    dump = tmp_path / "empty.json"
    dump.write_text('{"apiVersion": "v1", "kind": "List", "items": []}')
    with servers.exporter(["--source", f"file:{dump}"]) as exporter:
        config = {"global": {"scrape_interval": "1s"},
                  "scrape_configs": [{"job_name": "argoscope", "relabel_configs": relabel_configs,
                                      "static_configs": [{"targets": [
                                          exporter.url.removeprefix("http://")]}]}]}
        with servers.prometheus(config) as prometheus:
            def clusters() -> set[str]:
                return {series["metric"].get("cluster", "") for series in servers.query(
                    prometheus.url, "argoscope_exporter_build_info")}

            wait_until(lambda: bool(clusters()), timeout=30, what="the first scrape")
            assert clusters() == {"my-cluster"}
