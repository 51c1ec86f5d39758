"""Pipeline drill-down: each step's duration against its own history, retries, failure
reasons, pending time and resources."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as builders

from argoscope.dashboards import cost
from argoscope.dashboards._common import (
    COST_UID,
    GPU_UID,
    OVERVIEW_UID,
    PIPELINE_UID,
    QUALITY_UID,
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

BY = "cluster, namespace, pipeline, step"
STEP_DURATION = f'argoscope_step_duration_seconds_bucket{{{STEP}, phase="Succeeded"}}'
STEP_RUNS = f"argoscope_step_runs_total{{{STEP}}}"
FAILED_STEP_RUNS = f'argoscope_step_runs_total{{{STEP}, phase=~"Failed|Error"}}'
RETRIES = f"argoscope_step_retries_total{{{STEP}}}"
FAILURES = f"argoscope_step_failures_total{{{STEP}}}"
RESOURCES = f"argoscope_step_resource_seconds_total{{{STEP}}}"
# The history a step's duration is compared with: the week before the last hour, as the
# slow-step alert's recording rule (a slow hour does not raise its own bar).
HISTORY = "7d"


def build() -> builders.Dashboard:
    """The pipeline drill-down dashboard."""
    layout = Layout()
    layout.row("Steps over the selected time range")
    layout.add(stat_panel(
        "Step attempts",
        "Finished step attempts of the selected steps in the selected time range.",
        "short", f"sum by (cluster) ({increase_over_range(STEP_RUNS)})"), 6, 4)
    layout.add(stat_panel(
        "Failed step attempts",
        "Step attempts that ended Failed or Error in the selected time range.",
        "short", f"sum by (cluster) ({increase_over_range(FAILED_STEP_RUNS)})",
    ).thresholds(thresholds((None, "green"), (1, "red"))), 6, 4)
    layout.add(stat_panel(
        "Retries",
        "Step attempts beyond the first in the selected time range.",
        "short", f"sum by (cluster) ({increase_over_range(RETRIES)})",
    ).thresholds(thresholds((None, "green"), (1, "orange"))), 6, 4)
    layout.add(stat_panel(
        "Pods waiting now",
        "Live step pods stuck waiting (unschedulable, image pull, ...).",
        "short", f"sum by (cluster) (argoscope_steps_waiting{{{STEP}}})",
    ).thresholds(thresholds((None, "green"), (1, "orange"))), 6, 4)

    layout.row("Durations against history")
    layout.add(timeseries_panel(
        "Step duration p95 against its history",
        "p95 duration of successful attempts finishing in each interval against the "
        f"same step's p95 over the {HISTORY} before the last hour (\"history\", the slow-step "
        "alert's reference): a step far above its own history is slower than usual.",
        "s",
        target(f"histogram_quantile(0.95, sum by ({BY}, le) "
               f"(rate({STEP_DURATION}[$__rate_interval])))", "{{pipeline}}/{{step}} p95", "A"),
        target(f"histogram_quantile(0.95, sum by ({BY}, le) "
               f"(increase({STEP_DURATION}[{HISTORY}] offset 1h)))",
               "{{pipeline}}/{{step}} p95 history", "B"),
    ), 24, 9)
    layout.add(timeseries_panel(
        "Step duration p50",
        "Median duration of successful attempts finishing in each interval.",
        "s",
        target(f"histogram_quantile(0.5, sum by ({BY}, le) "
               f"(rate({STEP_DURATION}[$__rate_interval])))", "{{pipeline}}/{{step}} p50")), 12, 8)
    layout.add(timeseries_panel(
        "Pending time p95",
        "p95 of the time from a step attempt's start to its main container running: "
        "queueing, scheduling and image pulls.",
        "s",
        target(f"histogram_quantile(0.95, sum by ({BY}, le) (rate("
               f"argoscope_step_pending_seconds_bucket{{{STEP}}}[$__rate_interval])))",
               "{{pipeline}}/{{step}} p95")), 12, 8)

    layout.row("Failures and retries")
    layout.add(timeseries_panel(
        "Step attempts by phase",
        "Finished step attempts per second, by step and phase.",
        "ops",
        target(f"sum by ({BY}, phase) (rate({STEP_RUNS}[$__rate_interval]))",
               "{{pipeline}}/{{step}} {{phase}}")), 12, 8)
    layout.add(timeseries_panel(
        "Retries over time",
        "Step attempts beyond the first, per second, by step.",
        "ops",
        target(f"sum by ({BY}) (rate({RETRIES}[$__rate_interval]))", "{{pipeline}}/{{step}}")), 12, 8)
    layout.add(bargauge_panel(
        "Failure reasons",
        "Failed or errored step attempts in the selected time range by step and reason "
        "(OOMKilled, Error, DeadlineExceeded, Evicted, ImagePullBackOff, Unschedulable, ...).",
        "short",
        f"sum by ({BY}, reason) ({increase_over_range(FAILURES)})", "{{pipeline}}/{{step}}: {{reason}}"),
        12, 8)
    layout.add(table_panel(
        "Waiting pods by reason",
        "Live step pods stuck waiting, by step and reason (Unschedulable, ImagePullBackOff, "
        "...); the GPU efficiency dashboard shows those waiting for GPUs.",
        "short",
        instant_table_target(
            f"sum by ({BY}, reason) (argoscope_steps_waiting{{{STEP}}})", "A"),
    ).with_transformation(rename_columns({"Value": "Pods"})), 12, 8)

    layout.row("Resources")
    layout.add(timeseries_panel(
        "Resources held by steps",
        "Argo resourcesDuration accrued per second by finished attempts, by step and "
        "resource: the average number of CPUs, 100Mi memory units or GPUs held.",
        "short",
        target(f"sum by ({BY}, resource) (rate({RESOURCES}[$__rate_interval]))",
               "{{pipeline}}/{{step}} {{resource}}"),
    ).links([panel_link("GPU efficiency", GPU_UID)]), 12, 8)
    layout.add(table_panel(
        "Resource-hours by step",
        "Argo resourcesDuration of the attempts finished in the selected time range, in "
        "resource-hours (CPU-hours, 100Mi-memory-hours, GPU-hours).",
        "h",
        instant_table_target(
            f"sum by ({BY}, resource) ({increase_over_range(RESOURCES)}) / 3600"),
    ).with_transformation(rename_columns({"Value": "Resource-hours"}))
    .links([panel_link("Data quality", QUALITY_UID), panel_link("Overview", OVERVIEW_UID)]),
        12, 8)

    # With the exporter's --prices; empty without it.
    layout.row("Cost")
    layout.add(bargauge_panel(
        "Cost by step",
        "Cost of each step's finished attempts over the selected time range (effective "
        "requests x node price x the attempt's window), in the currency of "
        "argoscope_cost_info.",
        "short", cost.cost_by_step(), "{{pipeline}}/{{step}}",
    ).links([panel_link("Cost", COST_UID)]), 12, 8)
    layout.add(timeseries_panel(
        "Cost per run",
        "Mean cost of the runs finishing in each interval, by pipeline, in the currency of "
        "argoscope_cost_info.",
        "short", target(cost.mean_cost_per_run(), "{{pipeline}}")), 12, 8)

    return new_dashboard(
        PIPELINE_UID, "argoscope / Pipeline drill-down",
        "Per-step durations against their own history, retries, failure reasons, pending "
        "time and resources of the selected pipelines.",
        ["pipelines"], pipeline_variables(), layout)
