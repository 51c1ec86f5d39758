"""Cost: what each pipeline and step costs (with the exporter's `--prices`), cost per run over
time, the top steps, and money spent on GPUs held but idle."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as builders

from argoscope.dashboards import _common as common
from argoscope.exporter.thresholds import IDLE_GPU_UTILIZATION

IDENTITY = common.Identity(common.COST_UID, "argoscope / Cost", ("cost",), (
    "What each pipeline and step costs (the exporter's --prices: effective requests x node "
    "price x each attempt's exact window), cost per run over time, the top steps and "
    "idle GPU spend."))

BY = "cluster, namespace, pipeline, step"
BY_PIPELINE = "cluster, namespace, pipeline"
STEP_COST = common.selector("argoscope_step_cost_total", common.STEP)
GPU_COST = common.selector("argoscope_step_cost_total", common.STEP, 'resource="gpu"')
IDLE_COST = common.selector("argoscope_step_gpu_idle_cost_total", common.STEP)
# The run cost histogram's series.
RUN_COST_SUM, RUN_COST_COUNT, RUN_COST_BUCKET = (
    common.selector(f"argoscope_workflow_cost_{part}", common.PIPELINE)
    for part in ("sum", "count", "bucket"))
CURRENCY = ("in the currency of the exporter's price file (argoscope_cost_info{currency}); "
            "see docs/cost.md for the formula")


def mean_cost_per_run(by: str = BY_PIPELINE) -> str:
    """Mean cost of the runs finishing in each interval."""
    return f"{common.rate_by(RUN_COST_SUM, by)} / {common.rate_by(RUN_COST_COUNT, by)}"


def cost_by_step() -> str:
    """Cost of each step's attempts over the dashboard's time range."""
    return common.total_over_range(STEP_COST, BY)


def build() -> builders.Dashboard:
    """The cost dashboard."""
    layout = common.Layout()
    layout.stats(
        "Cost over the selected time range",
        # (title, description, counter)
        *(common.count_stat(*count) for count in (
            ("Total cost", "Cost of the selected steps' finished attempts over the selected time "
             f"range, {CURRENCY}.", STEP_COST),
            ("GPU cost", f"The GPU share of the total cost, {CURRENCY}.", GPU_COST),
            ("Idle GPU spend", "Cost of GPU time held by the selected steps below "
             f"{IDLE_GPU_UTILIZATION:.0%} utilisation (from dcgm-exporter) over the selected "
             f"time range, {CURRENCY}.", IDLE_COST),
            ("Runs priced", "Finished runs of the selected pipelines whose cost is known, over "
             "the selected time range.", RUN_COST_COUNT))))

    layout.row("Cost per run")
    layout.add(common.timeseries_panel(
        "Mean cost per run",
        f"Mean cost of the runs finishing in each interval, by pipeline, {CURRENCY}.",
        "short", common.target(mean_cost_per_run(), "{{pipeline}}")), 12, 8)
    layout.add(common.timeseries_panel(
        "Median cost per run",
        "Median cost of the runs finishing in each interval, by pipeline (interpolated "
        f"within argoscope_workflow_cost's buckets), {CURRENCY}.",
        "short",
        common.target(common.quantile_by(0.5, RUN_COST_BUCKET, BY_PIPELINE), "{{pipeline}}")),
        12, 8)

    layout.row("Where the money goes")
    layout.add(common.bargauge_panel(
        "Top steps by cost",
        f"The ten costliest steps over the selected time range, {CURRENCY}.",
        "short", f"topk by (cluster) (10, {cost_by_step()})", "{{pipeline}}/{{step}}",
    ).links([common.panel_link("Pipeline drill-down", common.PIPELINE_UID)]), 12, 8)
    layout.add(common.timeseries_panel(
        "Cost per hour by resource",
        f"What the selected steps' finished attempts cost per hour, by resource, {CURRENCY}.",
        "short",
        common.target(f"{common.rate_by(STEP_COST, 'cluster, resource')} * 3600",
                      "{{resource}}")), 12, 8)
    layout.add(common.bargauge_panel(
        "Idle GPU spend by step",
        f"Cost of GPU time held below {IDLE_GPU_UTILIZATION:.0%} utilisation, by step, over "
        f"the selected time range, {CURRENCY}.",
        "short", common.total_over_range(IDLE_COST, BY), "{{pipeline}}/{{step}}",
    ).links([common.panel_link("GPU efficiency", common.GPU_UID)]), 24, 7)

    return common.new_dashboard(IDENTITY, common.pipeline_variables(), layout)
