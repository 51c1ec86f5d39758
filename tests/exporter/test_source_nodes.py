"""The Node source: listed, then watched, through the real client against the API double."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from argoscope.exporter.cost import CostAttribution
from argoscope.exporter.sources.nodes import NodeSource
from tests.exporter.test_cost import BOOK, GPU_TYPE, priced_model
from tests.support import argo
from tests.support.apiserver import NODES, ApiServerDouble
from tests.support.metrics import expose, total
from tests.support.net import wait_until


@pytest.fixture
def api() -> Iterator[ApiServerDouble]:
    with ApiServerDouble() as double:
        yield double


def node(name: str, instance_type: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"node.kubernetes.io/instance-type":
                                                  instance_type}}}


def gpu_cost(cost: CostAttribution) -> float:
    return total(expose(cost.collect), "argoscope_step_cost_total", resource="gpu")


def test_listed_and_watched_nodes_choose_the_price_rule(api: ApiServerDouble,
                                                        tmp_path: Path) -> None:
    api.put(NODES, node("gpu-a", GPU_TYPE))
    model, cost = priced_model(BOOK)
    source = NodeSource(model, str(api.write_kubeconfig(tmp_path / "kubeconfig")),
                        backoff_seconds=0.05, backoff_max_seconds=0.2, watch_timeout_seconds=1)
    stop = threading.Event()
    thread = threading.Thread(target=source.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_until(lambda: model.stats.ready, what="nodes listed")
        first, body = argo.node("wf", "train", start=0, finish=3600)
        model.apply_object(argo.pod("wf", first, phase="Succeeded", host="gpu-a", gpus=1))
        model.apply_object(argo.workflow("wf", [(first, body)], finish=3600))
        assert gpu_cost(cost) == pytest.approx(4.0)  # the rule's price, from the listed node

        # A node that joins later arrives by the watch, and after a 410 by a re-list.
        second, body2 = argo.node("wf2", "train", start=0, finish=3600)
        model.apply_object(argo.pod("wf2", second, phase="Succeeded", host="gpu-b", gpus=1))
        model.apply_object(argo.workflow("wf2", [(second, body2)], finish=3600))
        assert cost.pending()[0] == 1
        api.expire(NODES)
        api.put(NODES, node("gpu-b", GPU_TYPE))
        wait_until(lambda: cost.pending()[0] == 0, what="gpu-b priced")
        assert gpu_cost(cost) == pytest.approx(8.0)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


@pytest.mark.parametrize("rules, reads_nodes", [(True, True), (False, False)])
def test_nodes_are_read_only_when_a_price_rule_needs_them(api: ApiServerDouble, tmp_path: Path,
                                                          rules: bool, reads_nodes: bool) -> None:
    import argparse

    import yaml

    from argoscope.exporter.app import build_exporter
    from argoscope.exporter.cli import add_exporter_arguments

    document: dict[str, object] = {"currency": "USD", "default": {
        "cpu_core_hour": 1, "memory_gib_hour": 1, "gpu_hour": 1}}
    if rules:
        document["nodes"] = [{"match": {"gpu": "true"}, "prices": {"gpu_hour": 2}}]
    prices = tmp_path / "prices.yaml"
    prices.write_text(yaml.safe_dump(document))
    parser = argparse.ArgumentParser()
    add_exporter_arguments(parser)
    exporter = build_exporter(parser.parse_args([
        "--source", "kubernetes", "--kubeconfig", str(api.write_kubeconfig(tmp_path / "kc")),
        "--prices", str(prices)]))
    assert any(isinstance(s, NodeSource) for s in exporter.sources) == reads_nodes
