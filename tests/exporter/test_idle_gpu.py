"""One definition of an idle GPU: the exporter, the GPU dashboard and the alert rule agree."""

from __future__ import annotations

from collections.abc import Sequence

import promql_parser
import pytest

from argoscope.dashboards import gpu as gpu_dashboard
from argoscope.exporter.dcgm import ScrapeResult, parse_exposition
from argoscope.exporter.gpu import DcgmConfig, GpuAttribution
from argoscope.exporter.model import Model
from argoscope.exporter.thresholds import IDLE_GPU_UTILIZATION
from tests.alerts.rules import alerting_rules
from tests.support.argo import node, pod, workflow
from tests.support.metrics import expose, samples, value

IDLE_ALERT = "PipelineStepGPUIdle"


def _threshold(expr: promql_parser.Expr) -> float:
    """The number an alert expression compares with `<` at its top."""
    assert isinstance(expr, promql_parser.BinaryExpr), f"{expr} is not a comparison"
    assert str(expr.op) == "<", f"{expr} does not compare with <"
    assert isinstance(expr.rhs, promql_parser.NumberLiteral), f"{expr.rhs} is not a number"
    return float(expr.rhs.val)


def test_the_idle_alert_uses_the_exporters_idle_threshold() -> None:
    (rule,) = [rule for rule in alerting_rules() if rule.body["alert"] == IDLE_ALERT]
    assert _threshold(promql_parser.parse(rule.body["expr"])) == IDLE_GPU_UTILIZATION


def test_the_dashboard_uses_the_exporters_idle_threshold() -> None:
    assert gpu_dashboard.IDLE_BELOW == IDLE_GPU_UTILIZATION


def _idle_gpus_at(utilization: float) -> float | None:
    """`argoscope_node_gpus_allocated_idle` for one step pod holding one GPU at `utilization`."""
    now = 1_000.0
    model = Model(clock=lambda: now)
    model.apply("workflows", "ADDED", workflow(
        "wf-1", [node("wf-1", "train", phase="Running", node_id="wf-1-train")],
        phase="Running", template_ref="train-pipeline"))
    model.apply("pods", "ADDED", pod("wf-1", "wf-1-train", name="trainer", gpus=1,
                                     host="node-1", phase="Running"))
    labels = ('gpu="0",UUID="GPU-0",Hostname="node-1",container="main",namespace="ml",'
              'pod="trainer",pod_uid=""')
    page = f"DCGM_FI_PROF_GR_ENGINE_ACTIVE{{{labels}}} {utilization}\n"

    def scraper(urls: Sequence[str]) -> list[ScrapeResult]:
        return [ScrapeResult(url, now, 0.01, tuple(parse_exposition(page, url))) for url in urls]

    gpu = GpuAttribution(model, DcgmConfig(urls=["dcgm"]), scraper=scraper)
    gpu.refresh_once()
    return value(samples(expose(gpu.collect)), "argoscope_node_gpus_allocated_idle",
                 node="node-1")


@pytest.mark.parametrize(("utilization", "idle"), [
    (0.0, 1.0),
    (IDLE_GPU_UTILIZATION * 0.6, 1.0),  # between the old 1% and the shared threshold
    (IDLE_GPU_UTILIZATION, 0.0),
    (0.5, 0.0),
])
def test_the_exporter_counts_a_gpu_idle_below_the_shared_threshold(
        utilization: float, idle: float) -> None:
    assert _idle_gpus_at(utilization) == idle
