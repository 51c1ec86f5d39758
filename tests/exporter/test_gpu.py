"""GPU attribution to step pods, GPU-time integration, fault isolation and exporter wiring."""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from argoscope.exporter.app import build_exporter, run_once
from argoscope.exporter.cli import add_exporter_arguments
from argoscope.exporter.dcgm import ScrapeError, ScrapeResult, parse_exposition
from argoscope.exporter.gpu import DcgmConfig, GpuAttribution
from argoscope.exporter.model import Model
from tests.exporter.test_dcgm import AICR_QUERY, DATA, DcgmDouble, core_api, honor_labels_page
from tests.support.argo import node, pod, workflow
from tests.support.clock import Clock
from tests.support.metrics import expose, samples, total, value
from tests.support.net import wait_until

PIPELINE = "train-pipeline"


def model_with_pods(clock: Clock, *pods: tuple[str, str, int, str, str]) -> Model:
    """A model with one running workflow; each pod is (pod name, step, gpus, host, phase)."""
    model = Model(clock=clock)
    nodes = [node("wf-1", step, phase="Running", node_id=f"wf-1-{name}")
             for name, step, _, _, _ in pods]
    model.apply("workflows", "ADDED",
                workflow("wf-1", nodes, phase="Running", template_ref=PIPELINE))
    for name, _, gpus, host, phase in pods:
        model.apply("pods", "ADDED", pod("wf-1", f"wf-1-{name}", name=name, gpus=gpus,
                                         host=host, phase=phase))
    return model


def page(*gpus: tuple[str, str, float, float]) -> str:
    """A dcgm-exporter page: (gpu index, pod or "", GR_ENGINE_ACTIVE ratio, FB_USED MiB)."""
    lines = []
    for index, held_by, util, mib in gpus:
        labels = f'gpu="{index}",UUID="GPU-{index}",Hostname="node-1"'
        if held_by:
            labels += f',container="main",namespace="ml",pod="{held_by}",pod_uid=""'
        lines.append(f"DCGM_FI_PROF_GR_ENGINE_ACTIVE{{{labels}}} {util}")
        lines.append(f"DCGM_FI_DEV_FB_USED{{{labels}}} {mib}")
    return "\n".join(lines) + "\n"


class Scripted:
    """A scraper that answers each target from a script, stamping results with the clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.answers: dict[str, str | ScrapeError] = {}

    def __call__(self, urls: Sequence[str]) -> list[ScrapeResult]:
        results = []
        for url in urls:
            answer = self.answers[url]
            if isinstance(answer, ScrapeError):
                results.append(ScrapeResult(url, self.clock(), 0.01, error=answer))
            else:
                results.append(ScrapeResult(url, self.clock(), 0.01,
                                            tuple(parse_exposition(answer, url))))
        return results


STEP = {"namespace": "ml", "pipeline": PIPELINE, "step": "train"}


def test_integration_over_a_sequence_of_scrapes() -> None:
    clock = Clock()
    model = model_with_pods(clock, ("train-pod", "train", 2, "node-1", "Running"))
    scripted = Scripted(clock)
    # interval 10 s, timeout 5 s: one scrape accounts for at most 2 * 10 + 5 = 25 s.
    gpu = GpuAttribution(model, DcgmConfig(urls=["a"], interval=10, timeout=5),
                         scraper=scripted)
    steps = [  # (seconds since start, GR_ENGINE_ACTIVE of GPU 0, of GPU 1 or a failure)
        (0, 0.5, 0.1),     # first scrape: nothing to integrate yet
        (10, 0.5, 0.1),    # +10 s on 2 GPUs: allocated 20, busy 10*0.5 + 10*0.1 = 6
        (20, 1.0, 0.0),    # +10 s: allocated 20, busy 10
        (30, None, None),  # target down: nothing
        (40, 0.25, 0.25),  # 20 s since the last success (under the cap): allocated 40, busy 10
        (140, 0.5, 0.5),   # back after 100 s: capped at 25 s: allocated 50, busy 25
    ]
    for at, first, second in steps:
        clock.now = 1_000.0 + at
        if first is None or second is None:
            scripted.answers["a"] = ScrapeError("down", "a: connection refused")
        else:
            scripted.answers["a"] = page(("0", "train-pod", first, 100),
                                         ("1", "train-pod", second, 100))
        gpu.refresh_once()
    text = expose(gpu.collect)
    assert value(text, "argoscope_step_gpu_allocated_seconds_total", **STEP) == pytest.approx(
        20 + 20 + 40 + 50)
    assert value(text, "argoscope_step_gpu_busy_seconds_total", **STEP) == pytest.approx(
        6 + 10 + 10 + 25)
    assert value(text, "argoscope_exporter_dcgm_scrape_errors_total",
                 target="a", reason="down") == 1


def test_a_second_target_does_not_share_the_first_ones_clock() -> None:
    clock = Clock()
    model = model_with_pods(clock, ("p1", "train", 1, "node-1", "Running"),
                            ("p2", "eval", 1, "node-2", "Running"))
    scripted = Scripted(clock)
    gpu = GpuAttribution(model, DcgmConfig(urls=["a", "b"], interval=10, timeout=5),
                         scraper=scripted)
    scripted.answers = {"a": page(("0", "p1", 1.0, 1)), "b": ScrapeError("timeout", "b")}
    gpu.refresh_once()
    clock.now += 10
    scripted.answers["b"] = page(("0", "p2", 1.0, 1))
    gpu.refresh_once()  # a: +10 s; b: first success, nothing yet
    clock.now += 10
    gpu.refresh_once()  # a: +10 s; b: +10 s
    text = expose(gpu.collect)
    assert value(text, "argoscope_step_gpu_allocated_seconds_total", **STEP | {"step": "train"}) == 20
    assert value(text, "argoscope_step_gpu_allocated_seconds_total", **STEP | {"step": "eval"}) == 10


def test_gauges_attribute_each_gpu_of_a_two_gpu_pod() -> None:
    clock = Clock()
    model = model_with_pods(clock, ("big-run-train", "train", 2, "l40s-node", "Running"))
    scripted = Scripted(clock)
    scripted.answers["a"] = (DATA / "two_gpus.txt").read_text()
    gpu = GpuAttribution(model, DcgmConfig(urls=["a"]), scraper=scripted)
    gpu.refresh_once()
    table = samples(expose(gpu.collect))
    util = {dict(labels)["gpu"]: v for (name, labels), v in table.items()
            if name == "argoscope_step_gpu_utilization_ratio"}
    assert util == {"l40s-node/0": pytest.approx(0.8), "l40s-node/1": pytest.approx(0.4)}
    assert total(table, "argoscope_step_gpu_memory_used_bytes", **STEP) == (10240 + 1024) * 2**20
    assert value(table, "argoscope_step_gpu_utilization_source_info", **STEP,
                 gpu="l40s-node/0", source="dev_gpu_util") == 1
    # GPU 2 of that node has no pod labels: shown as unattributed, not as a step's.
    assert value(table, "argoscope_exporter_dcgm_gpus_unattributed",
                 target="a", reason="no_pod_labels") == 1
    assert value(table, "argoscope_node_gpus_allocated", node="l40s-node") == 2
    assert value(table, "argoscope_node_gpus_allocated_idle", node="l40s-node") == 0
    assert total(table, "argoscope_step_gpus_unobserved") == 0


def test_mig_instances_idle_per_node_and_unknown_pods() -> None:
    clock = Clock()
    model = model_with_pods(clock, ("mig-run-a", "train", 1, "mig-node", "Running"),
                            ("mig-run-b", "eval", 1, "mig-node", "Running"))
    scripted = Scripted(clock)
    scripted.answers["a"] = (DATA / "mig.txt").read_text()
    gpu = GpuAttribution(model, DcgmConfig(urls=["a"]), scraper=scripted)
    gpu.refresh_once()
    table = samples(expose(gpu.collect))
    assert value(table, "argoscope_step_gpu_utilization_ratio", **STEP,
                 gpu="mig-node/0/1") == pytest.approx(0.75)
    assert value(table, "argoscope_step_gpu_utilization_ratio", **STEP | {"step": "eval"},
                 gpu="mig-node/0/2") == 0
    assert value(table, "argoscope_step_gpu_utilization_source_info", **STEP,
                 gpu="mig-node/0/1", source="prof_gr_engine_active") == 1
    # Two instances held by step pods, one of them idle; the third instance is held by nobody.
    assert value(table, "argoscope_node_gpus_allocated", node="mig-node") == 2
    assert value(table, "argoscope_node_gpus_allocated_idle", node="mig-node") == 1


def test_pods_that_are_not_step_pods_are_unattributed() -> None:
    clock = Clock()
    model = model_with_pods(clock, ("train-pod", "train", 1, "node-1", "Running"))
    scripted = Scripted(clock)
    scripted.answers["a"] = page(("0", "someone-elses-pod", 1.0, 1), ("1", "train-pod", 1.0, 1))
    gpu = GpuAttribution(model, DcgmConfig(urls=["a"]), scraper=scripted)
    gpu.refresh_once()
    table = samples(expose(gpu.collect))
    assert value(table, "argoscope_exporter_dcgm_gpus_unattributed",
                 target="a", reason="not_step_pod") == 1
    assert total(table, "argoscope_step_gpu_utilization_ratio") == 1.0


def test_a_gpu_pod_without_dcgm_series_is_unobserved_not_idle() -> None:
    clock = Clock()
    model = model_with_pods(clock, ("seen", "train", 1, "node-1", "Running"),
                            ("unseen", "eval", 4, "node-9", "Running"),
                            ("waiting", "score", 1, "", "Pending"),
                            ("cpu-only", "prep", 0, "node-1", "Running"))
    scripted = Scripted(clock)
    scripted.answers["a"] = page(("0", "seen", 0.0, 1))
    gpu = GpuAttribution(model, DcgmConfig(urls=["a"]), scraper=scripted)
    gpu.refresh_once()
    table = samples(expose(gpu.collect))
    unobserved = {dict(labels)["step"]: v for (name, labels), v in table.items()
                  if name == "argoscope_step_gpus_unobserved"}
    assert unobserved == {"eval": 4}
    assert value(table, "argoscope_node_gpus_allocated_idle", node="node-1") == 1
    assert "node-9" not in {dict(labels).get("node") for (_, labels) in table}


def test_gauges_survive_one_missed_scrape_then_go_stale() -> None:
    clock = Clock()
    model = model_with_pods(clock, ("train-pod", "train", 1, "node-1", "Running"))
    scripted = Scripted(clock)
    gpu = GpuAttribution(model, DcgmConfig(urls=["a"], interval=10, timeout=5),
                         scraper=scripted)
    scripted.answers["a"] = page(("0", "train-pod", 0.5, 1))
    gpu.refresh_once()
    clock.now += 10
    scripted.answers["a"] = ScrapeError("down", "a")
    gpu.refresh_once()
    text = expose(gpu.collect)
    assert value(text, "argoscope_exporter_dcgm_up", target="a") == 0
    assert total(text, "argoscope_step_gpu_utilization_ratio") == 0.5
    assert total(text, "argoscope_step_gpus_unobserved") == 0
    clock.now += 30  # 40 s since the last success: past 2 * 10 + 5
    text = expose(gpu.collect)
    assert total(text, "argoscope_step_gpu_utilization_ratio") == 0
    assert total(text, "argoscope_step_gpus_unobserved") == 1


# --- over HTTP ------------------------------------------------------------------------------


def test_faults_are_counted_logged_once_and_other_targets_unaffected(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    model = model_with_pods(clock, ("big-run-train", "train", 2, "l40s-node", "Running"))
    with DcgmDouble() as double:
        good = double.serve("/good", (DATA / "two_gpus.txt").read_text())
        urls = [good, double.serve("/slow", "", "slow"),
                double.serve("/garbage", "<html>nope</html>"),
                double.serve("/huge", "", "huge")]
        gpu = GpuAttribution(model, DcgmConfig(urls=urls, interval=10, timeout=0.5,
                                               max_body_bytes=64 * 1024), clock=clock)
        with caplog.at_level(logging.WARNING):
            for _ in range(3):
                gpu.refresh_once()
                clock.now += 10
        text = expose(gpu.collect, model.collect)
    for path, reason in (("/slow", "timeout"), ("/garbage", "garbage"), ("/huge", "too_large")):
        url = double.url(path)
        assert value(text, "argoscope_exporter_dcgm_scrape_errors_total",
                     target=url, reason=reason) == 3
        assert value(text, "argoscope_exporter_dcgm_up", target=url) == 0
        assert sum(url in record.getMessage() for record in caplog.records) == 1
    assert value(text, "argoscope_exporter_dcgm_up", target=good) == 1
    assert value(text, "argoscope_step_gpu_allocated_seconds_total", **STEP) == 2 * 20
    assert value(text, "argoscope_step_gpu_busy_seconds_total", **STEP) == pytest.approx(
        (0.8 + 0.4) * 20)
    assert value(text, "argoscope_workflows", namespace="ml", pipeline=PIPELINE,
                 phase="Running") == 1


def test_discovered_exporter_pod_labels_are_unattributed(dcgm_fixtures: Path) -> None:
    # Prometheus with honor_labels gives unheld GPUs the exporter's own pod, namespace and
    # container; the one held GPU keeps its workload pod.
    clock = Clock()
    model = Model(clock=clock)
    with DcgmDouble() as double:
        double.serve("/metrics", honor_labels_page(dcgm_fixtures / AICR_QUERY))
        double.pod_list["items"] = [
            {"metadata": {"name": "nvidia-dcgm-exporter-wqqqn", "namespace": "gpu-operator"},
             "status": {"phase": "Running", "podIP": "127.0.0.1"}}]
        gpu = GpuAttribution(model, DcgmConfig(selector="app=nvidia-dcgm-exporter",
                                               port=double.port), core_api=core_api(double))
        gpu.refresh_once()
        text = expose(gpu.collect)
    target = double.url("/metrics")
    assert value(text, "argoscope_exporter_dcgm_up", target=target) == 1
    unattributed = {dict(labels)["reason"]: v for (name, labels), v in samples(text).items()
                    if name == "argoscope_exporter_dcgm_gpus_unattributed"}
    # gpu-node-1's 7 unheld GPUs carry the discovered exporter pod; the other node's
    # exporter pod was not discovered here, and the vLLM pod is no step pod.
    assert unattributed["exporter_pod"] == 7
    assert sum(unattributed.values()) == 16
    assert total(text, "argoscope_step_gpu_utilization_ratio") == 0


def test_discovery_failure_keeps_scraping_given_urls(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    model = model_with_pods(clock, ("big-run-train", "train", 2, "l40s-node", "Running"))
    with DcgmDouble() as double:
        good = double.serve("/good", (DATA / "two_gpus.txt").read_text())

        class BrokenApi:
            def list_pod_for_all_namespaces(self, label_selector: str) -> None:
                raise OSError("connection refused")

        gpu = GpuAttribution(model, DcgmConfig(urls=[good], selector="app=dcgm"),
                             core_api=BrokenApi(), clock=clock)
        gpu.refresh_once()
        gpu.refresh_once()
        text = expose(gpu.collect)
    assert value(text, "argoscope_exporter_dcgm_scrape_errors_total",
                 target="discovery", reason="down") == 2
    assert value(text, "argoscope_exporter_dcgm_up", target=good) == 1


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_exporter_arguments(parser)
    return parser.parse_args(list(argv))


def _dump(tmp_path: Path) -> Path:
    nid, body = node("wf-1", "train", phase="Running", node_id="wf-1-train")
    objects = [workflow("wf-1", [(nid, body)], phase="Running", template_ref=PIPELINE),
               pod("wf-1", "wf-1-train", name="big-run-train", gpus=2, host="l40s-node")]
    path = tmp_path / "dump.json"
    path.write_text(json.dumps({"kind": "List", "items": objects}))
    return path


def test_once_scrapes_dcgm_urls_before_printing(tmp_path: Path) -> None:
    with DcgmDouble() as double:
        url = double.serve("/metrics", (DATA / "two_gpus.txt").read_text())
        exporter = build_exporter(_args("--source", f"file:{_dump(tmp_path)}", "--once",
                                        "--dcgm-url", url, "--dcgm-timeout", "2s"))
        text = run_once(exporter).decode()
    assert value(text, "argoscope_exporter_dcgm_up", target=url) == 1
    assert total(text, "argoscope_step_gpu_utilization_ratio", **STEP) == pytest.approx(1.2)


def test_without_dcgm_flags_no_gpu_plugin_is_added(tmp_path: Path) -> None:
    exporter = build_exporter(_args("--source", f"file:{_dump(tmp_path)}", "--once"))
    assert "argoscope_exporter_dcgm_up" not in run_once(exporter).decode()


def test_live_loop_scrapes_on_its_interval_until_stopped() -> None:
    model = model_with_pods(Clock(), ("big-run-train", "train", 2, "l40s-node", "Running"))
    with DcgmDouble() as double:
        url = double.serve("/metrics", (DATA / "two_gpus.txt").read_text())
        gpu = GpuAttribution(model, DcgmConfig(urls=[url], interval=0.05, timeout=2),
                             clock=time.time)
        stop = threading.Event()
        thread = threading.Thread(target=gpu.run, args=(stop,))
        thread.start()
        try:
            wait_until(lambda: (value(expose(gpu.collect),
                                      "argoscope_step_gpu_allocated_seconds_total", **STEP)
                                or 0) > 0, timeout=20, what="GPU time integrated")
        finally:
            stop.set()
            thread.join(10)
    assert not thread.is_alive()


def test_gpus_beyond_the_pods_request_are_unattributed_over_request() -> None:
    # A 1-GPU pod to which a target attributes 8 GPUs: 1 busy and 7 phantom idle ones.
    clock = Clock()
    model = model_with_pods(clock, ("p1", "train", 1, "node-1", "Running"))
    scripted = Scripted(clock)
    scripted.answers["a"] = page(("0", "p1", 0.9, 100),
                                 *((str(i), "p1", 0.0, 0) for i in range(1, 8)))
    gpu = GpuAttribution(model, DcgmConfig(urls=["a"], interval=15), scraper=scripted)
    gpu.refresh_once()
    clock.now += 15
    gpu.refresh_once()
    s = samples(expose(model.collect, gpu.collect))
    busy = value(s, "argoscope_step_gpu_busy_seconds_total", **STEP)
    allocated = value(s, "argoscope_step_gpu_allocated_seconds_total", **STEP)
    assert allocated == 15 and busy == pytest.approx(0.9 * 15)
    assert value(s, "argoscope_exporter_dcgm_gpus_unattributed", target="a",
                 reason="over_request") == 7
    assert total(s, "argoscope_step_gpu_utilization_ratio", **STEP) == pytest.approx(0.9)


def test_a_redirecting_target_is_counted_as_redirect(tmp_path: Path) -> None:
    with DcgmDouble() as double:
        double.serve("/good", page(("0", "p1", 0.5, 1)))
        moved = double.serve("/moved", "", mode="redirect")
        model = Model()
        gpu = GpuAttribution(model, DcgmConfig(urls=[moved], timeout=5))
        gpu.refresh_once()
        s = samples(expose(gpu.collect))
    assert value(s, "argoscope_exporter_dcgm_scrape_errors_total", target=moved,
                 reason="redirect") == 1
    assert value(s, "argoscope_exporter_dcgm_up", target=moved) == 0


def test_dcgm_namespace_flag_reaches_discovery(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_exporter_arguments(parser)
    args = parser.parse_args(["--source", f"file:{tmp_path}", "--dcgm-selector", "app=dcgm",
                              "--dcgm-namespace", "gpu-operator"])
    exporter = build_exporter(args)
    gpu = exporter.extra_collects[0]
    assert isinstance(gpu, GpuAttribution) and gpu.config.namespace == "gpu-operator"


def test_discovery_uses_the_dcgm_namespace() -> None:
    from tests.exporter.test_dcgm import _pod

    with DcgmDouble() as double:
        double.pod_list["items"] = [_pod("dcgm-a", "10.0.0.1")]
        gpu = GpuAttribution(Model(), DcgmConfig(selector="app=dcgm", namespace="gpu-operator"),
                             core_api=core_api(double))
        assert gpu.targets() == ["http://10.0.0.1:9400/metrics"]
        assert double.pod_paths == ["/api/v1/namespaces/gpu-operator/pods"]


def test_two_targets_attributing_the_same_pod_do_not_double_its_gpu_time() -> None:
    # The same node scraped through two URLs (a given one and a discovered one), and a third
    # target hanging a phantom GPU on the same 1-GPU pod: the pod held one GPU for 30 s.
    clock = Clock()
    model = model_with_pods(clock, ("p1", "train", 1, "node-1", "Running"))
    scripted = Scripted(clock)
    phantom = page(("0", "p1", 0.0, 0)).replace('Hostname="node-1"', 'Hostname="node-9"')
    scripted.answers = {"a": page(("0", "p1", 0.5, 100)), "b": page(("0", "p1", 0.5, 100)),
                        "c": phantom}
    gpu = GpuAttribution(model, DcgmConfig(urls=["a", "b", "c"], interval=15), scraper=scripted)
    for _ in range(3):
        gpu.refresh_once()
        clock.now += 15
    gpu.refresh_once()
    s = samples(expose(gpu.collect))
    assert value(s, "argoscope_step_gpu_allocated_seconds_total", **STEP) == 45
    assert value(s, "argoscope_step_gpu_busy_seconds_total", **STEP) == pytest.approx(22.5)
    assert value(s, "argoscope_exporter_dcgm_gpus_unattributed", target="b",
                 reason="duplicate") == 1
    assert value(s, "argoscope_exporter_dcgm_gpus_unattributed", target="c",
                 reason="over_request") == 1


@settings(max_examples=25, deadline=None)
@given(gpus=st.integers(1, 4),
       reports=st.lists(st.lists(st.integers(0, 7), max_size=6), min_size=1, max_size=4),
       rounds=st.integers(2, 4))
def test_a_pods_gpu_time_never_exceeds_its_request_whatever_the_targets(
        gpus: int, reports: list[list[int]], rounds: int) -> None:
    # Any number of targets, each reporting any GPUs (shared, phantom, repeated) for one pod.
    clock = Clock()
    model = model_with_pods(clock, ("p1", "train", gpus, "node-1", "Running"))
    scripted = Scripted(clock)
    urls = [f"t{i}" for i in range(len(reports))]
    for url, indexes in zip(urls, reports, strict=True):
        scripted.answers[url] = page(*((str(i), "p1", 1.0, 1) for i in sorted(set(indexes))))
    gpu = GpuAttribution(model, DcgmConfig(urls=urls, interval=10, timeout=5), scraper=scripted)
    for _ in range(rounds):
        gpu.refresh_once()
        clock.now += 10
    s = samples(expose(gpu.collect))
    allocated = value(s, "argoscope_step_gpu_allocated_seconds_total", **STEP) or 0.0
    distinct = len({i for indexes in reports for i in indexes})
    assert allocated <= gpus * 10 * (rounds - 1) + 1e-9
    assert allocated == pytest.approx(min(gpus, distinct) * 10 * (rounds - 1))
