"""GPU efficiency: utilisation per step, GPU time busy against GPU time held, idle GPUs."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as builders

from argoscope.dashboards import _common as common
from argoscope.exporter.thresholds import IDLE_GPU_UTILIZATION

IDENTITY = common.Identity(common.GPU_UID, "argoscope / GPU efficiency", ("gpu",), (
    "GPU utilisation of pipeline steps, GPU time busy against GPU time held, idle GPUs "
    "and steps waiting for GPUs."))

BY = "cluster, namespace, pipeline, step"
UTILIZATION = common.selector("argoscope_step_gpu_utilization_ratio", common.STEP)
ALLOCATED = common.selector("argoscope_step_gpu_allocated_seconds_total", common.STEP)
BUSY = common.selector("argoscope_step_gpu_busy_seconds_total", common.STEP)
# Below this utilisation a GPU held by a step counts as idle: the exporter's and the alert's
# definition too (the alert adds its own `for:`).
IDLE_BELOW = IDLE_GPU_UTILIZATION


def _efficiency_colors() -> builders.ThresholdsConfig:
    return common.share_colors(0.3, 0.7)


def _efficiency(by: str) -> str:
    """GPU-seconds busy divided by GPU-seconds held over the time range, per `by`."""
    return f"{common.total_over_range(BUSY, by)} / {common.total_over_range(ALLOCATED, by)}"


def build() -> builders.Dashboard:
    """The GPU efficiency dashboard."""
    layout = common.Layout()
    held = f"count by (cluster) ({UTILIZATION})"
    layout.stats(
        "GPUs held now",
        common.stat_panel("GPUs held by steps",
                          "GPUs attributed to live step pods (from dcgm-exporter).", "short", held),
        common.stat_panel(
            "Idle GPUs",
            f"GPUs held by a live step pod whose utilisation is below {IDLE_BELOW:.0%}.",
            "short", f"sum by (cluster) ({UTILIZATION} < bool {IDLE_BELOW})",
        ).thresholds(common.any_is("orange")),
        common.stat_panel(
            "GPU efficiency",
            "GPU-seconds busy divided by GPU-seconds held over the selected time range.",
            "percentunit", _efficiency("cluster"),
        ).thresholds(_efficiency_colors()),
        common.stat_panel(
            "Steps waiting for GPUs",
            "Live step pods the scheduler cannot place for lack of nvidia.com/gpu.",
            "short",
            "sum by (cluster) ("
            + common.selector("argoscope_steps_waiting_insufficient_resource", common.STEP,
                              'resource="nvidia.com/gpu"') + ")",
        ).thresholds(common.any_is("orange")),
        common.stat_panel(
            "GPUs not seen by DCGM",
            "GPUs requested by running step pods for which no dcgm-exporter reports any GPU: "
            "their utilisation is unknown (not idle).",
            "short",
            f"sum by (cluster) ({common.selector('argoscope_step_gpus_unobserved', common.STEP)})",
        ).no_value("0").thresholds(common.any_is("orange")),
        common.stat_panel(
            "GPU-hours held",
            "GPU-hours held by the selected steps' pods over the selected time range.",
            "h", f"{common.total_over_range(ALLOCATED)} / 3600"),
        common.stat_panel(
            "GPU-hours idle",
            "GPU-hours held but not busy (held minus busy) over the selected time range: the "
            "GPU time a right-sized request or a faster data loader would give back.",
            "h", f"({common.total_over_range(ALLOCATED)} "
            f"- {common.total_over_range(BUSY)}) / 3600"),
        common.stat_panel(
            "Mean GPU utilisation now",
            "Mean utilisation of the GPUs the selected live step pods hold.",
            "percentunit", f"avg by (cluster) ({UTILIZATION})",
        ).thresholds(_efficiency_colors()))

    layout.row("Utilisation")
    layout.add(common.timeseries_panel(
        "GPU utilisation by step", "Mean utilisation of the GPUs each live step pod holds.",
        "percentunit", common.target(f"avg by ({BY}) ({UTILIZATION})", "{{pipeline}}/{{step}}"),
    ).min(0).max(1), 12, 8)
    layout.add(common.timeseries_panel(
        "GPU memory used by step",
        "Framebuffer memory used on the GPUs each live step pod holds.",
        "bytes",
        common.target(
            f"sum by ({BY}) "
            f"({common.selector('argoscope_step_gpu_memory_used_bytes', common.STEP)})",
            "{{pipeline}}/{{step}}")), 12, 8)
    layout.add(common.table_panel(
        "Idle GPUs now",
        f"GPUs held by a live step pod with utilisation below {IDLE_BELOW:.0%}: candidates "
        "for a smaller request or a fix in the data loader.",
        "percentunit", common.instant_table_target(f"{UTILIZATION} < {IDLE_BELOW}"),
    ).with_transformation(common.rename_columns({"Value": "Utilisation"}))
    .links([common.panel_link("Pipeline drill-down", common.PIPELINE_UID)]), 24, 7)

    layout.row("GPU time busy against GPU time held")
    layout.add(common.timeseries_panel(
        "GPUs held and busy",
        "GPU-seconds held (allocated) and busy per second, by step: the average number of "
        "GPUs held against the number effectively used.",
        "short",
        common.target(common.rate_by(ALLOCATED, BY), "{{pipeline}}/{{step}} held", "A"),
        common.target(common.rate_by(BUSY, BY), "{{pipeline}}/{{step}} busy", "B")), 12, 8)
    layout.add(common.bargauge_panel(
        "GPU efficiency by step",
        "GPU-seconds busy divided by GPU-seconds held over the selected time range, by step.",
        "percentunit", _efficiency(BY), "{{pipeline}}/{{step}}",
    ).min(0).max(1).thresholds(_efficiency_colors()), 12, 8)
    layout.add(common.bargauge_panel(
        "GPU-hours held by step",
        "GPU-hours held by each step's pods over the selected time range.",
        "h", f"{common.total_over_range(ALLOCATED, BY)} / 3600", "{{pipeline}}/{{step}}"),
        24, 7)

    return common.new_dashboard(IDENTITY, common.pipeline_variables(), layout)
