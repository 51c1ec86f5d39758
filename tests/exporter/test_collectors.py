"""The exporter's parts are collectors: each family described by exactly one, none holding a lock
while the scrape is written."""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from argoscope.exporter import families as f
from argoscope.exporter.app import build_exporter
from argoscope.exporter.cli import add_exporter_arguments
from argoscope.exporter.dcgm import ScrapeResult, parse_exposition
from argoscope.exporter.gpu import DcgmConfig, GpuAttribution
from argoscope.exporter.model import WORKFLOWS, Model
from argoscope.exporter.server import build_registry
from tests.support.argo import node, pod, workflow


def _exporter_args(tmp_path: Path) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_exporter_arguments(parser)
    dump = tmp_path / "dump.json"
    dump.write_text('{"kind": "List", "items": []}')
    # Every plug-in on: DCGM, and cost with OpenCost prices (whose health families it adds).
    return parser.parse_args(["--source", f"file:{dump}", "--dcgm-url", "http://127.0.0.1:9/m",
                              "--prices", "opencost:http://127.0.0.1:9/metrics"])


def test_every_family_is_described_by_exactly_one_collector(tmp_path: Path) -> None:
    exporter = build_exporter(_exporter_args(tmp_path))
    parts: list[Any] = [*exporter.model.collectors(), exporter.model.stats,
                              *exporter.extra_collects]
    described = [metric.name for part in parts for metric in part.describe()]
    assert sorted(described) == sorted(family.name for family in f.all_families())
    exporter.registry()  # registers without a duplicate


def test_a_registry_refuses_a_family_served_twice() -> None:
    first, second = Model(), Model()
    with pytest.raises(ValueError, match="argoscope_workflows"):
        build_registry(*first.collectors(), *second.collectors())


def _finished_workflow(name: str) -> dict[str, object]:
    return workflow(name, [node(name, "train", phase="Succeeded")], phase="Succeeded",
                    template_ref="train-pipeline")


def _completes_meanwhile(action: Callable[[], object]) -> bool:
    """Whether `action` finishes in another thread within a few seconds."""
    thread = threading.Thread(target=action, daemon=True)
    thread.start()
    thread.join(timeout=5)
    return not thread.is_alive()


def test_the_model_takes_objects_while_a_scrape_is_being_written() -> None:
    model = Model()
    model.apply(WORKFLOWS, "ADDED", _finished_workflow("wf-1"))
    families = model.collect()
    next(families)  # a scrape under way: the response is being written
    assert _completes_meanwhile(
        lambda: model.apply(WORKFLOWS, "ADDED", _finished_workflow("wf-2")))
    list(families)


def test_gpu_scrapes_fold_in_while_a_scrape_is_being_written() -> None:
    now = 1_000.0
    model = Model(clock=lambda: now)
    model.apply(WORKFLOWS, "ADDED", workflow(
        "wf-1", [node("wf-1", "train", phase="Running", node_id="wf-1-train")],
        phase="Running", template_ref="train-pipeline"))
    model.apply("pods", "ADDED", pod("wf-1", "wf-1-train", name="trainer", gpus=1,
                                     host="node-1", phase="Running"))
    page = ('DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu="0",UUID="GPU-0",Hostname="node-1",'
            'namespace="ml",pod="trainer"} 0.5\n')

    def scraper(urls: Sequence[str]) -> list[ScrapeResult]:
        return [ScrapeResult(url, now, 0.01, tuple(parse_exposition(page, url))) for url in urls]

    gpu = GpuAttribution(model, DcgmConfig(urls=["dcgm"]), scraper=scraper)
    gpu.refresh_once()
    families = iter(gpu.collect())
    next(families)
    assert _completes_meanwhile(gpu.refresh_once)
    list(families)
