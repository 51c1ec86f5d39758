"""GPU efficiency: utilisation per step, GPU time busy against GPU time held, idle GPUs."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as builders

from argoscope.dashboards._common import (
    GPU_UID,
    PIPELINE_UID,
    STEP,
    Layout,
    bargauge_panel,
    increase_over_range,
    instant_table_target,
    new_dashboard,
    panel_link,
    pipeline_variables,
    rename_columns,
    stat_panel,
    table_panel,
    target,
    thresholds,
    timeseries_panel,
)
from argoscope.exporter.thresholds import IDLE_GPU_UTILIZATION

BY = "cluster, namespace, pipeline, step"
UTILIZATION = f"argoscope_step_gpu_utilization_ratio{{{STEP}}}"
ALLOCATED = f"argoscope_step_gpu_allocated_seconds_total{{{STEP}}}"
BUSY = f"argoscope_step_gpu_busy_seconds_total{{{STEP}}}"
# Below this utilisation a GPU held by a step counts as idle: the exporter's and the alert's
# definition too (the alert adds its own `for:`).
IDLE_BELOW = IDLE_GPU_UTILIZATION
EFFICIENCY_COLORS = thresholds((None, "red"), (0.3, "orange"), (0.7, "green"))


def build() -> builders.Dashboard:
    """The GPU efficiency dashboard."""
    layout = Layout()
    layout.row("GPUs held now")
    layout.add(stat_panel(
        "GPUs held by steps",
        "GPUs attributed to live step pods (from dcgm-exporter).",
        "short", f"count by (cluster) ({UTILIZATION})"), 6, 4)
    layout.add(stat_panel(
        "Idle GPUs",
        f"GPUs held by a live step pod whose utilisation is below {IDLE_BELOW:.0%}.",
        "short", f"sum by (cluster) ({UTILIZATION} < bool {IDLE_BELOW})",
    ).thresholds(thresholds((None, "green"), (1, "orange"))), 6, 4)
    layout.add(stat_panel(
        "GPU efficiency",
        "GPU-seconds busy divided by GPU-seconds held over the selected time range.",
        "percentunit",
        f"sum by (cluster) ({increase_over_range(BUSY)}) "
        f"/ sum by (cluster) ({increase_over_range(ALLOCATED)})",
    ).thresholds(EFFICIENCY_COLORS), 6, 4)
    layout.add(stat_panel(
        "Steps waiting for GPUs",
        "Live step pods the scheduler cannot place for lack of nvidia.com/gpu.",
        "short",
        f'sum by (cluster) (argoscope_steps_waiting_insufficient_resource{{{STEP}, '
        f'resource="nvidia.com/gpu"}})',
    ).thresholds(thresholds((None, "green"), (1, "orange"))), 6, 4)

    layout.add(stat_panel(
        "GPUs not seen by DCGM",
        "GPUs requested by running step pods for which no dcgm-exporter reports any GPU: "
        "their utilisation is unknown (not idle).",
        "short", f"sum by (cluster) (argoscope_step_gpus_unobserved{{{STEP}}})",
    ).no_value("0").thresholds(thresholds((None, "green"), (1, "orange"))), 6, 4)
    layout.add(stat_panel(
        "GPU-hours held",
        "GPU-hours held by the selected steps' pods over the selected time range.",
        "h", f"sum by (cluster) ({increase_over_range(ALLOCATED)}) / 3600"), 6, 4)
    layout.add(stat_panel(
        "GPU-hours idle",
        "GPU-hours held but not busy (held minus busy) over the selected time range: the "
        "GPU time a right-sized request or a faster data loader would give back.",
        "h", f"(sum by (cluster) ({increase_over_range(ALLOCATED)}) "
        f"- sum by (cluster) ({increase_over_range(BUSY)})) "
        "/ 3600"), 6, 4)
    layout.add(stat_panel(
        "Mean GPU utilisation now",
        "Mean utilisation of the GPUs the selected live step pods hold.",
        "percentunit", f"avg by (cluster) ({UTILIZATION})",
    ).thresholds(EFFICIENCY_COLORS), 6, 4)

    layout.row("Utilisation")
    layout.add(timeseries_panel(
        "GPU utilisation by step",
        "Mean utilisation of the GPUs each live step pod holds.",
        "percentunit",
        target(f"avg by ({BY}) ({UTILIZATION})", "{{pipeline}}/{{step}}"),
    ).min(0).max(1), 12, 8)
    layout.add(timeseries_panel(
        "GPU memory used by step",
        "Framebuffer memory used on the GPUs each live step pod holds.",
        "bytes",
        target(f"sum by ({BY}) (argoscope_step_gpu_memory_used_bytes{{{STEP}}})",
               "{{pipeline}}/{{step}}")), 12, 8)
    layout.add(table_panel(
        "Idle GPUs now",
        f"GPUs held by a live step pod with utilisation below {IDLE_BELOW:.0%}: candidates "
        "for a smaller request or a fix in the data loader.",
        "percentunit",
        instant_table_target(f"{UTILIZATION} < {IDLE_BELOW}"),
    ).with_transformation(rename_columns({"Value": "Utilisation"}))
    .links([panel_link("Pipeline drill-down", PIPELINE_UID)]), 24, 7)

    layout.row("GPU time busy against GPU time held")
    layout.add(timeseries_panel(
        "GPUs held and busy",
        "GPU-seconds held (allocated) and busy per second, by step: the average number of "
        "GPUs held against the number effectively used.",
        "short",
        target(f"sum by ({BY}) (rate({ALLOCATED}[$__rate_interval]))",
               "{{pipeline}}/{{step}} held", "A"),
        target(f"sum by ({BY}) (rate({BUSY}[$__rate_interval]))",
               "{{pipeline}}/{{step}} busy", "B")), 12, 8)
    layout.add(bargauge_panel(
        "GPU efficiency by step",
        "GPU-seconds busy divided by GPU-seconds held over the selected time range, by step.",
        "percentunit",
        f"sum by ({BY}) ({increase_over_range(BUSY)}) "
        f"/ sum by ({BY}) ({increase_over_range(ALLOCATED)})", "{{pipeline}}/{{step}}",
    ).min(0).max(1).thresholds(EFFICIENCY_COLORS), 12, 8)
    layout.add(bargauge_panel(
        "GPU-hours held by step",
        "GPU-hours held by each step's pods over the selected time range.",
        "h",
        f"sum by ({BY}) ({increase_over_range(ALLOCATED)}) / 3600",
        "{{pipeline}}/{{step}}"), 24, 7)

    return new_dashboard(
        GPU_UID, "argoscope / GPU efficiency",
        "GPU utilisation of pipeline steps, GPU time busy against GPU time held, idle GPUs "
        "and steps waiting for GPUs.",
        ["gpu"], pipeline_variables(), layout)
