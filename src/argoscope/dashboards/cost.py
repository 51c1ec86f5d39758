"""Cost: what each pipeline and step costs (with the exporter's `--prices`), cost per run over
time, the top steps, and money spent on GPUs held but idle."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as builders

from argoscope.dashboards._common import (
    COST_UID,
    GPU_UID,
    PIPELINE,
    PIPELINE_UID,
    STEP,
    Layout,
    bargauge_panel,
    increase_over_range,
    new_dashboard,
    panel_link,
    pipeline_variables,
    stat_panel,
    target,
    timeseries_panel,
)
from argoscope.exporter.thresholds import IDLE_GPU_UTILIZATION

BY = "cluster, namespace, pipeline, step"
BY_PIPELINE = "cluster, namespace, pipeline"
STEP_COST = f"argoscope_step_cost_total{{{STEP}}}"
GPU_COST = f'argoscope_step_cost_total{{{STEP}, resource="gpu"}}'
IDLE_COST = f"argoscope_step_gpu_idle_cost_total{{{STEP}}}"
RUN_COST_SUM = f"argoscope_workflow_cost_sum{{{PIPELINE}}}"
RUN_COST_COUNT = f"argoscope_workflow_cost_count{{{PIPELINE}}}"
RUN_COST_BUCKET = f"argoscope_workflow_cost_bucket{{{PIPELINE}}}"
CURRENCY = ("in the currency of the exporter's price file (argoscope_cost_info{currency}); "
            "see docs/cost.md for the formula")


def mean_cost_per_run(by: str = BY_PIPELINE) -> str:
    """Mean cost of the runs finishing in each interval."""
    return (f"sum by ({by}) (rate({RUN_COST_SUM}[$__rate_interval])) "
            f"/ sum by ({by}) (rate({RUN_COST_COUNT}[$__rate_interval]))")


def cost_by_step() -> str:
    """Cost of each step's attempts over the dashboard's time range."""
    return f"sum by ({BY}) ({increase_over_range(STEP_COST)})"


def build() -> builders.Dashboard:
    """The cost dashboard."""
    layout = Layout()
    layout.row("Cost over the selected time range")
    layout.add(stat_panel(
        "Total cost",
        f"Cost of the selected steps' finished attempts over the selected time range, {CURRENCY}.",
        "short", f"sum by (cluster) ({increase_over_range(STEP_COST)})"), 6, 4)
    layout.add(stat_panel(
        "GPU cost",
        f"The GPU share of the total cost, {CURRENCY}.",
        "short",
        f"sum by (cluster) ({increase_over_range(GPU_COST)})"), 6, 4)
    layout.add(stat_panel(
        "Idle GPU spend",
        f"Cost of GPU time held by the selected steps below {IDLE_GPU_UTILIZATION:.0%} "
        f"utilisation (from dcgm-exporter) over the selected time range, {CURRENCY}.",
        "short", f"sum by (cluster) ({increase_over_range(IDLE_COST)})"), 6, 4)
    layout.add(stat_panel(
        "Runs priced",
        "Finished runs of the selected pipelines whose cost is known, over the selected "
        "time range.",
        "short", f"sum by (cluster) ({increase_over_range(RUN_COST_COUNT)})"), 6, 4)

    layout.row("Cost per run")
    layout.add(timeseries_panel(
        "Mean cost per run",
        f"Mean cost of the runs finishing in each interval, by pipeline, {CURRENCY}.",
        "short", target(mean_cost_per_run(), "{{pipeline}}")), 12, 8)
    layout.add(timeseries_panel(
        "Median cost per run",
        "Median cost of the runs finishing in each interval, by pipeline (interpolated "
        f"within argoscope_workflow_cost's buckets), {CURRENCY}.",
        "short",
        target(f"histogram_quantile(0.5, sum by ({BY_PIPELINE}, le) "
               f"(rate({RUN_COST_BUCKET}[$__rate_interval])))", "{{pipeline}}")), 12, 8)

    layout.row("Where the money goes")
    layout.add(bargauge_panel(
        "Top steps by cost",
        f"The ten costliest steps over the selected time range, {CURRENCY}.",
        "short", f"topk by (cluster) (10, {cost_by_step()})", "{{pipeline}}/{{step}}",
    ).links([panel_link("Pipeline drill-down", PIPELINE_UID)]), 12, 8)
    layout.add(timeseries_panel(
        "Cost per hour by resource",
        f"What the selected steps' finished attempts cost per hour, by resource, {CURRENCY}.",
        "short",
        target(f"sum by (cluster, resource) (rate({STEP_COST}[$__rate_interval])) * 3600",
               "{{resource}}")), 12, 8)
    layout.add(bargauge_panel(
        "Idle GPU spend by step",
        f"Cost of GPU time held below {IDLE_GPU_UTILIZATION:.0%} utilisation, by step, over "
        f"the selected time range, {CURRENCY}.",
        "short", f"sum by ({BY}) ({increase_over_range(IDLE_COST)})", "{{pipeline}}/{{step}}",
    ).links([panel_link("GPU efficiency", GPU_UID)]), 24, 7)

    return new_dashboard(
        COST_UID, "argoscope / Cost",
        "What each pipeline and step costs (the exporter's --prices: effective requests x node "
        "price x each attempt's exact window), cost per run over time, the top steps and "
        "idle GPU spend.",
        ["cost"], pipeline_variables(), layout)
