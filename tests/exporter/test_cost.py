"""Cost per step and per run: the formula over real Argo objects, in any arrival order."""

from __future__ import annotations

import hashlib
import logging
import random
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from argoscope.cost.prices import PriceBook, parse_prices
from argoscope.exporter.cost import CostAttribution
from argoscope.exporter.model import Model
from argoscope.exporter.objects import decode_nodes, parse_time
from argoscope.exporter.opencost import CostFeed, parse_node_prices
from tests.support import argo
from tests.support.clock import Clock
from tests.support.metrics import expose, samples, total
from tests.support.net import serving

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
GPU_TYPE = "p4d.24xlarge"
BOOK = parse_prices({
    "currency": "EUR",
    "default": {"cpu_core_hour": 0.04, "memory_gib_hour": 0.005, "gpu_hour": 1.0},
    "nodes": [{"match": {"node.kubernetes.io/instance-type": GPU_TYPE},
               "prices": {"gpu_hour": 4.0, "cpu_core_hour": 0.1}}],
}, "test prices")
HOSTS = {"cpu-node": "m5.large", "gpu-node": GPU_TYPE}
FINISHED = ("Succeeded", "Failed", "Error")


def priced_model(book: PriceBook | None = BOOK, clock: Clock | None = None
                 ) -> tuple[Model, CostAttribution]:
    model = Model(clock=clock or Clock())
    cost = CostAttribution(model.stats, book, clock=model.clock)
    model.observers.append(cost)
    return model, cost


def node_object(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"node.kubernetes.io/instance-type":
                                                  HOSTS[name]}}}


def _draw(seed: str, low: int, high: int) -> int:
    digest = hashlib.sha256(seed.encode()).digest()
    return low + int.from_bytes(digest[:4], "big") % (high - low + 1)


def pod_for(workflow: dict[str, Any], node_id: str) -> dict[str, Any]:
    """A step pod for a node, with requests (in varied Kubernetes forms) chosen by its id."""
    meta = workflow.get("metadata") or {}
    seed = f"{meta.get('name')}/{node_id}"
    host = "gpu-node" if _draw(seed + "h", 0, 2) == 0 else "cpu-node"
    cpu = _draw(seed + "c", 1, 8000)
    mem = _draw(seed + "m", 1, 32768)
    main: dict[str, Any] = {"name": "main", "resources": {
        "requests": {"cpu": f"{cpu}m", "memory": f"{mem}Mi"}}}
    if host == "gpu-node":
        main["resources"]["limits"] = {"nvidia.com/gpu": str(_draw(seed + "g", 1, 8))}
    wait = {"name": "wait", "resources": {"requests": {"cpu": "0.01", "memory": "64e6"}}}
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": f"pod-{node_id}", "namespace": meta.get("namespace") or "default",
                     "labels": {"workflows.argoproj.io/workflow": meta.get("name")},
                     "annotations": {"workflows.argoproj.io/node-id": node_id}},
        "spec": {"nodeName": host, "containers": [wait, main]},
        "status": {"phase": "Succeeded"},
    }


def expected_cost(workflow: dict[str, Any]) -> dict[str, float]:
    """The formula, computed here independently: per resource, over finished Pod nodes."""
    out = {"cpu": 0.0, "memory": 0.0, "gpu": 0.0}
    for node_id, node in decode_nodes(workflow.get("status") or {}).items():
        if node.get("type") != "Pod" or node.get("phase") not in FINISHED:
            continue
        started, finished = parse_time(node.get("startedAt")), parse_time(node.get("finishedAt"))
        if started is None or finished is None:
            continue
        pod = pod_for(workflow, node_id)
        main, wait = pod["spec"]["containers"][1], pod["spec"]["containers"][0]
        cpu = (Decimal(main["resources"]["requests"]["cpu"][:-1]) / 1000 + Decimal("0.01"))
        mem = Decimal(main["resources"]["requests"]["memory"][:-2]) * 2**20 + Decimal("64e6")
        gpus = Decimal(main["resources"].get("limits", {}).get("nvidia.com/gpu", 0))
        prices = BOOK.for_node({"node.kubernetes.io/instance-type": HOSTS[pod["spec"]["nodeName"]]})
        hours = max(0.0, finished - started) / 3600
        assert wait  # its requests are in the sums above
        out["cpu"] += float(cpu) * prices.cpu_core_hour * hours
        out["memory"] += float(mem / 2**30) * prices.memory_gib_hour * hours
        out["gpu"] += float(gpus) * prices.gpu_hour * hours
    return out


def world(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    """The Workflow, a pod per Pod node and the nodes they ran on: what a cluster shows."""
    nodes = decode_nodes(workflow.get("status") or {})
    pods = [pod_for(workflow, node_id) for node_id, node in nodes.items()
            if isinstance(node, dict) and node.get("type") == "Pod"]
    return [workflow, *pods, *(node_object(name) for name in HOSTS)]


def exposition(objects: list[dict[str, Any]], book: PriceBook | None = BOOK) -> dict[Any, float]:
    model, cost = priced_model(book)
    for obj in objects:
        model.apply_object(obj)
    cost.settle(final=True)
    return samples(expose(cost.collect))


def _load(path: Path) -> dict[str, Any] | None:
    try:
        obj = yaml.safe_load(path.read_text())
    except yaml.YAMLError:
        return None
    if not isinstance(obj, dict) or obj.get("kind", "Workflow") != "Workflow":
        return None
    status = obj.get("status")
    if not isinstance(status, dict) or not decode_nodes(status):
        return None
    return obj


@pytest.fixture(scope="module")
def corpus(shared_dir: Path) -> list[tuple[str, dict[str, Any]]]:
    """Every Workflow with node status of Argo's own tests (argo-corpus) and of the captured
    fixtures (argo: Argo and KFP objects)."""
    folder = shared_dir / "fixtures" / "argo-corpus" / "objects"
    if not folder.is_dir():
        pytest.skip("../shared/fixtures/argo-corpus is absent")
    paths = [*sorted(folder.iterdir()), *sorted((shared_dir / "fixtures" / "argo").glob("*.*"))]
    found = [(path.name, wf) for path in paths
             if path.suffix in (".yaml", ".json") and (wf := _load(path)) is not None]
    assert len(found) > 50
    return found


def test_every_corpus_workflow_costs_what_the_formula_says(
        corpus: list[tuple[str, dict[str, Any]]]) -> None:
    priced = 0
    for name, workflow in corpus:
        got = exposition(world(workflow))
        want = expected_cost(workflow)
        for resource, amount in want.items():
            assert total(got, "argoscope_step_cost_total", resource=resource) == pytest.approx(
                amount, rel=1e-9, abs=1e-12), f"{name}: {resource}"
        # The run's phase as the store reads it: status.phase, else Argo's phase label.
        labels = (workflow.get("metadata") or {}).get("labels") or {}
        phase = ((workflow.get("status") or {}).get("phase")
                 or labels.get("workflows.argoproj.io/phase"))
        runs = total(got, "argoscope_workflow_cost_count")
        if phase in FINISHED and sum(want.values()) > 0:
            priced += 1
            assert runs == 1, name
            assert total(got, "argoscope_workflow_cost_sum") == pytest.approx(
                sum(want.values()), rel=1e-9), name
        elif phase not in FINISHED:
            assert runs == 0, name
    assert priced > 10


@SETTINGS
@given(st.data())
def test_arrival_order_never_changes_cost(corpus: list[tuple[str, dict[str, Any]]],
                                         data: st.DataObject) -> None:
    name, workflow = data.draw(st.sampled_from(corpus))
    objects = world(workflow)
    shuffled = data.draw(st.permutations(objects))
    first, second = exposition(objects), exposition(shuffled)
    assert first.keys() == second.keys(), name
    for key, amount in first.items():
        assert second[key] == pytest.approx(amount, rel=1e-9, abs=1e-15), (name, key)


def test_without_node_rules_a_pod_is_priced_at_once_and_a_node_rule_waits_for_its_node() -> None:
    nid, body = argo.node("wf", "train", start=0, finish=3600)
    wf = argo.workflow("wf", [(nid, body)], finish=3600)
    pod = argo.pod("wf", nid, phase="Succeeded", host="gpu-node", gpus=2)
    flat = parse_prices({"currency": "USD", "default": {
        "cpu_core_hour": 0, "memory_gib_hour": 0, "gpu_hour": 1.5}}, "flat")
    model, cost = priced_model(flat)
    model.apply_object(pod)
    model.apply_object(wf)
    assert cost.pending() == (0, 1, 0)  # priced and run observed; the pod kept until settled
    assert total(expose(cost.collect), "argoscope_step_cost_total", resource="gpu") == 3.0

    model, cost = priced_model(BOOK)
    model.apply_object(pod)
    model.apply_object(wf)
    assert cost.pending()[0] == 1  # waits for the Node's labels
    model.apply_object(node_object("gpu-node"))
    text = expose(cost.collect)
    assert total(text, "argoscope_step_cost_total", resource="gpu") == pytest.approx(8.0)
    assert total(text, "argoscope_cost_info", currency="EUR") == 1


def test_replayed_history_adds_nothing_and_an_attempt_counts_once() -> None:
    nid, body = argo.node("wf", "train", start=0, finish=7200)
    wf = argo.workflow("wf", [(nid, body)], finish=7200)
    pod = argo.pod("wf", nid, phase="Succeeded", host="cpu-node", gpus=1)
    model, cost = priced_model()
    model.apply("nodes", "ADDED", node_object("cpu-node"))
    model.apply("pods", "ADDED", pod)
    model.apply("workflows", "ADDED", wf, replay=True)
    assert total(expose(cost.collect), "argoscope_step_cost_total") == 0
    model, cost = priced_model()
    model.apply("nodes", "ADDED", node_object("cpu-node"))
    for _ in range(3):  # re-lists and MODIFIED events of a finished object
        model.apply("pods", "MODIFIED", pod)
        model.apply("workflows", "MODIFIED", wf)
    text = expose(cost.collect)
    assert total(text, "argoscope_step_cost_total", resource="gpu") == pytest.approx(2.0)
    assert total(text, "argoscope_workflow_cost_count") == 1


def test_what_never_arrives_is_settled_after_the_grace_period_and_counted() -> None:
    clock = Clock()
    model, cost = priced_model(BOOK, clock)
    nid, body = argo.node("wf", "train", start=0, finish=3600)
    lost, lost_body = argo.node("wf", "eval", start=0, finish=3600)
    model.apply_object(argo.pod("wf", nid, phase="Succeeded", host="unknown-node", gpus=1))
    model.apply_object(argo.workflow("wf", [(nid, body), (lost, lost_body)], finish=3600))
    cost.settle()
    assert cost.pending()[0] == 2  # within the grace period: still waiting
    clock.now += 3600
    cost.settle()
    assert cost.pending() == (0, 0, 0)
    text = expose(cost.collect, model.stats.collect)
    # The unknown node falls back to the default price; the missing pod costs nothing.
    assert total(text, "argoscope_step_cost_total", resource="gpu") == pytest.approx(1.0)
    assert total(text, "argoscope_workflow_cost_count") == 1
    assert total(text, "argoscope_exporter_objects_skipped_total", resource="cost",
                 reason="no_pod") == 1


def test_idle_gpu_time_costs_the_gpu_price_and_busy_or_mig_time_does_not() -> None:
    model, cost = priced_model()
    model.apply_object(node_object("gpu-node"))
    labels = ("ml", "train", "fit")
    cost.gpu_interval(labels, "gpu-node", 1800, 0.01, False)  # idle: half an hour at 4.0
    cost.gpu_interval(labels, "gpu-node", 1800, 0.9, False)   # busy
    cost.gpu_interval(labels, "gpu-node", 1800, 0.0, True)    # a MIG slice: left out
    cost.gpu_interval(labels, "elsewhere", 3600, 0.0, False)  # unknown node: the default 1.0
    assert total(expose(cost.collect), "argoscope_step_gpu_idle_cost_total") == pytest.approx(3.0)


OPENCOST_PAGE = """\
# HELP node_cpu_hourly_cost node_cpu_hourly_cost Hourly cost per vCPU on this node
# TYPE node_cpu_hourly_cost gauge
node_cpu_hourly_cost{instance="gpu-node",instance_type="p4d.24xlarge",node="gpu-node"} 0.5
node_cpu_hourly_cost{instance="cpu-node",node="cpu-node"} 0.031611
# HELP node_ram_hourly_cost node_ram_hourly_cost Hourly cost per Gb of memory on this node
# TYPE node_ram_hourly_cost gauge
node_ram_hourly_cost{instance="gpu-node",node="gpu-node"} 0.01
node_ram_hourly_cost{instance="cpu-node",node="cpu-node"} NaN
# HELP node_gpu_hourly_cost node_gpu_hourly_cost Hourly cost per GPU on this node
# TYPE node_gpu_hourly_cost gauge
node_gpu_hourly_cost{instance="gpu-node",node="gpu-node"} 4.1
node_gpu_hourly_cost{instance="cpu-node",node="cpu-node"} -3
# HELP node_total_hourly_cost node_total_hourly_cost Total node cost per hour
# TYPE node_total_hourly_cost gauge
node_total_hourly_cost{instance="gpu-node",node="gpu-node"} 40.1
"""


def test_opencost_prices_per_node_and_ignores_impossible_values() -> None:
    prices = parse_node_prices(OPENCOST_PAGE)
    assert prices["gpu-node"].gpu_hour == 4.1 and prices["gpu-node"].cpu_core_hour == 0.5
    assert prices["cpu-node"].memory_gib_hour == 0 and prices["cpu-node"].gpu_hour == 0


class _OpenCost(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:1/metrics")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = OPENCOST_PAGE.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_opencost_over_http_prices_attempts_and_a_redirect_is_refused_like_dcgm() -> None:
    nid, body = argo.node("wf", "train", start=0, finish=3600)
    with serving(_OpenCost) as base:
        model, cost = priced_model(None)
        feed = CostFeed(cost, model.stats, url=f"{base}/metrics", timeout=5)
        model.apply_object(argo.pod("wf", nid, phase="Succeeded", host="gpu-node", gpus=2))
        model.apply_object(argo.workflow("wf", [(nid, body)], finish=3600))
        assert cost.pending()[0] == 1  # no price before OpenCost answers
        feed.refresh_once()
        text = expose(cost.collect, feed.collect)
        assert total(text, "argoscope_step_cost_total", resource="gpu") == pytest.approx(8.2)
        assert total(text, "argoscope_exporter_opencost_up") == 1

        refused = CostFeed(cost, model.stats, url=f"{base}/redirect", timeout=5)
        refused.scrape()
        text = expose(refused.collect)
        assert total(text, "argoscope_exporter_opencost_up") == 0
        assert total(text, "argoscope_exporter_opencost_scrape_errors_total",
                     reason="redirect") == 1


def test_a_run_with_no_pod_seen_has_no_cost_observation() -> None:
    rng = random.Random(7)
    nid, body = argo.node("wf", "train", start=0, finish=rng.randint(1, 100))
    model, cost = priced_model()
    model.apply_object(argo.workflow("wf", [(nid, body)], finish=100))
    cost.settle(final=True)
    assert total(expose(cost.collect), "argoscope_workflow_cost_count") == 0


def test_a_bad_quantity_costs_nothing_for_its_field_only_and_is_counted() -> None:
    nid, body = argo.node("wf", "train", start=0, finish=3600)
    pod = argo.pod("wf", nid, phase="Succeeded", host="cpu-node")
    pod["spec"]["containers"][1]["resources"] = {"requests": {"cpu": "two", "memory": "1Gi"}}
    model, cost = priced_model()
    for obj in (node_object("cpu-node"), pod, argo.workflow("wf", [(nid, body)], finish=3600)):
        model.apply_object(obj)
    text = expose(cost.collect, model.stats.collect)
    assert total(text, "argoscope_step_cost_total", resource="cpu") == 0
    assert total(text, "argoscope_step_cost_total", resource="memory") == pytest.approx(0.005)
    assert total(text, "argoscope_exporter_objects_skipped_total", resource="cost",
                 reason="bad_quantity") == 1


@SETTINGS
@given(st.integers(1, 40), st.integers(1, 5))
def test_pending_tables_are_capped_and_what_is_pushed_out_is_settled_and_counted(
        attempts: int, cap: int) -> None:
    model = Model(clock=Clock())
    cost = CostAttribution(model.stats, BOOK, clock=model.clock, max_pending=cap)
    model.observers.append(cost)
    nodes = [argo.node(f"wf{i}", "train", start=0, finish=60) for i in range(attempts)]
    for i, (nid, body) in enumerate(nodes):  # attempts whose pods never come
        model.apply_object(argo.workflow(f"wf{i}", [(nid, body)], finish=60))
        assert all(held <= cap for held in cost.pending())
    text = expose(model.stats.collect)
    pushed = total(text, "argoscope_exporter_objects_skipped_total", resource="cost",
                   reason="pending_full")
    # Each table pushes out its oldest entry (attempts and runs both fill up here).
    assert (pushed == 0) == (attempts <= cap)
    assert pushed >= attempts - cap
    cost.settle(final=True)
    assert cost.pending()[0] == 0


def test_a_run_half_done_at_the_first_list_prices_only_live_attempts_and_has_no_total() -> None:
    first, first_body = argo.node("wf", "prepare", start=0, finish=3600)
    second, second_body = argo.node("wf", "train", start=3600, finish=7200)
    running = argo.workflow("wf", [(first, first_body)], phase="Running")
    done = argo.workflow("wf", [(first, first_body), (second, second_body)], finish=7200)
    model, cost = priced_model()
    model.apply("nodes", "ADDED", node_object("gpu-node"))
    model.apply("pods", "ADDED", argo.pod("wf", first, phase="Succeeded", host="gpu-node",
                                          gpus=1), replay=True)
    model.apply("workflows", "ADDED", running, replay=True)  # the first list: history
    model.apply("pods", "MODIFIED", argo.pod("wf", second, phase="Succeeded", host="gpu-node",
                                             gpus=1))
    model.apply("workflows", "MODIFIED", done)
    cost.settle(final=True)
    text = expose(cost.collect)
    assert total(text, "argoscope_step_cost_total", step="train") == pytest.approx(4.0)
    assert total(text, "argoscope_step_cost_total", step="prepare") == 0
    assert total(text, "argoscope_workflow_cost_count") == 0  # its total is unknown


def test_without_a_source_of_nodes_a_node_rule_never_waits() -> None:
    model = Model(clock=Clock())
    cost = CostAttribution(model.stats, BOOK, clock=model.clock, wait_for_nodes=False)
    model.observers.append(cost)
    nid, body = argo.node("wf", "train", start=0, finish=3600)
    model.apply_object(argo.pod("wf", nid, phase="Succeeded", host="gpu-node", gpus=1))
    model.apply_object(argo.workflow("wf", [(nid, body)], finish=3600))
    assert cost.pending()[0] == 0
    assert total(expose(cost.collect), "argoscope_step_cost_total", resource="gpu") == 1.0


def test_dcgm_integration_feeds_idle_gpu_time_to_cost_through_the_exporters_wiring(
        tmp_path: Path) -> None:
    """One GPU of two held at 2% for an hour (between two scrapes) costs one idle GPU-hour."""
    import argparse

    from argoscope.exporter.app import build_exporter
    from argoscope.exporter.cli import add_exporter_arguments
    from argoscope.exporter.dcgm import ScrapeResult, parse_exposition
    from argoscope.exporter.gpu import GpuAttribution

    dump = tmp_path / "dump.json"
    dump.write_text('{"kind": "List", "items": []}')
    prices = tmp_path / "prices.yaml"
    prices.write_text(yaml.safe_dump({"currency": "USD", "default": {
        "cpu_core_hour": 0, "memory_gib_hour": 0, "gpu_hour": 3.0}}))
    parser = argparse.ArgumentParser()
    add_exporter_arguments(parser)
    exporter = build_exporter(parser.parse_args([
        "--source", f"file:{dump}", "--dcgm-url", "dcgm", "--prices", str(prices)]))
    [gpu] = [p for p in exporter.extra_collects if isinstance(p, GpuAttribution)]
    [cost] = [o for o in exporter.model.observers if isinstance(o, CostAttribution)]
    model = exporter.model
    model.apply("workflows", "ADDED", argo.workflow(
        "wf", [argo.node("wf", "fit", phase="Running", node_id="wf-fit")], phase="Running"))
    model.apply("pods", "ADDED", argo.pod("wf", "wf-fit", name="trainer", gpus=2,
                                          host="gpu-node", phase="Running"))
    labels = 'Hostname="gpu-node",container="main",namespace="ml",pod="trainer"'
    page = (f'DCGM_FI_DEV_GPU_UTIL{{gpu="0",UUID="GPU-0",{labels}}} 2\n'
            f'DCGM_FI_DEV_GPU_UTIL{{gpu="1",UUID="GPU-1",{labels}}} 90\n')
    for started in (1_000.0, 1_000.0 + 3600):
        gpu.ingest([ScrapeResult("dcgm", started, 0.01, tuple(parse_exposition(page)))])
    gpu.config.interval = 3600  # the cap on one interval (2 x interval + timeout) allows it
    gpu.ingest([ScrapeResult("dcgm", 1_000.0 + 7200, 0.01, tuple(parse_exposition(page)))])
    text = expose(cost.collect)
    # The first interval (1h) was capped at 2 x 15s + 5s; the second counts in full.
    assert total(text, "argoscope_step_gpu_idle_cost_total", step="fit") == pytest.approx(
        (35 + 3600) / 3600 * 3.0)


def test_deleted_nodes_keep_their_price_a_day_then_free_their_slot() -> None:
    clock = Clock()
    model, cost = priced_model(BOOK, clock)
    model.apply("nodes", "ADDED", node_object("gpu-node"))
    model.apply("nodes", "DELETED", node_object("gpu-node"))
    nid, body = argo.node("wf", "train", start=0, finish=3600)
    model.apply_object(argo.pod("wf", nid, phase="Succeeded", host="gpu-node", gpus=1))
    model.apply_object(argo.workflow("wf", [(nid, body)], finish=3600))
    assert total(expose(cost.collect), "argoscope_step_cost_total", resource="gpu") == 4.0
    clock.now += 2 * 86_400
    cost.settle()
    second, body2 = argo.node("wf2", "train", start=0, finish=3600)
    model.apply_object(argo.pod("wf2", second, phase="Succeeded", host="gpu-node", gpus=1))
    model.apply_object(argo.workflow("wf2", [(second, body2)], finish=3600))
    assert cost.pending()[0] == 1  # forgotten: waits for the node again


@pytest.mark.parametrize("spec", ["opencost:", "opencost:ftp://host/metrics", "opencost:host:9003"])
def test_an_opencost_spec_without_an_http_url_is_refused(spec: str) -> None:
    import argparse

    from argoscope.exporter.opencost import cost_from_args
    from argoscope.exporter.sources import SourceError

    with pytest.raises(SourceError, match="opencost:http"):
        cost_from_args(Model(), argparse.Namespace(prices=spec, source=["kubernetes"]))


@SETTINGS
@given(st.randoms(), st.booleans())
def test_opencost_prices_do_not_depend_on_line_or_label_order(rng: Any, headers: bool) -> None:
    import re

    lines = [line for line in OPENCOST_PAGE.splitlines() if not line.startswith("#")]
    rng.shuffle(lines)
    shuffled = []
    for line in lines:
        name, labels, value = re.fullmatch(r"(\w+)\{(.*)\} (\S+)", line).groups()  # type: ignore[union-attr]
        pairs = labels.split(",")
        rng.shuffle(pairs)
        shuffled.append(f"{name}{{{','.join(pairs)}}} {value}")
    page = "\n".join(shuffled) + "\n"
    if headers:  # untyped families, as a proxy in front of OpenCost may serve them
        page = "# a comment\n" + page
    assert parse_node_prices(page) == parse_node_prices(OPENCOST_PAGE)


def test_a_fault_in_the_refresh_loop_is_counted_and_the_loop_goes_on(
        caplog: pytest.LogCaptureFixture) -> None:
    # A bug in settling must not end pricing, nor print a traceback every interval: it is
    # counted like every boundary fault, and the loop keeps running until stopped.
    import threading

    model = Model()
    cost = CostAttribution(model.stats, None, max_series=100, clock=model.clock)
    stop = threading.Event()
    calls: list[int] = []

    def failing_settle(*_: Any, **__: Any) -> None:
        calls.append(1)
        if len(calls) >= 3:
            stop.set()
        raise RuntimeError("a bug in settling")

    cost.settle = failing_settle  # type: ignore[method-assign]
    feed = CostFeed(cost, model.stats, interval=0.001)
    with caplog.at_level(logging.WARNING):
        feed.run(stop)
    assert len(calls) == 3
    assert model.stats.skipped == {("cost", "error"): 3.0}
    logged = [record for record in caplog.records if "a bug in settling" in record.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is not None  # once, with its traceback
