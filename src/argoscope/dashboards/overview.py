"""Pipelines overview: runs, success ratio, durations, last success and failures per pipeline."""

from __future__ import annotations

from grafana_foundation_sdk.builders import bargauge
from grafana_foundation_sdk.builders import dashboard as builders

from argoscope.dashboards._common import (
    OVERVIEW_UID,
    PIPELINE,
    PIPELINE_UID,
    WITHOUT_STEP,
    Layout,
    bargauge_panel,
    data_link,
    increase_over_range,
    instant_table_target,
    new_dashboard,
    pipeline_variables,
    rename_columns,
    stat_panel,
    table_panel,
    target,
    thresholds,
    timeseries_panel,
)

RUNS = f"argoscope_workflow_runs_total{{{PIPELINE}}}"
SUCCEEDED = f'argoscope_workflow_runs_total{{{PIPELINE}, phase="Succeeded"}}'
FAILED = f'argoscope_workflow_runs_total{{{PIPELINE}, phase=~"Failed|Error"}}'
DURATION = f"argoscope_workflow_duration_seconds_bucket{{{PIPELINE}}}"
BY = "cluster, namespace, pipeline"
TO_PIPELINE_FIELD = ("namespace=${__field.labels.namespace}",
                     "pipeline=${__field.labels.pipeline}")
TO_PIPELINE = ("namespace=${__data.fields.namespace}", "pipeline=${__data.fields.pipeline}")


def _per_pipeline(title: str, description: str, unit: str, expr: str) -> bargauge.Panel:
    """One bar per pipeline, linking to that pipeline's drill-down."""
    return bargauge_panel(title, description, unit, expr, "{{pipeline}}").data_links([
        data_link("Drill down into ${__field.labels.pipeline}", PIPELINE_UID,
                  *TO_PIPELINE_FIELD)])


def build() -> builders.Dashboard:
    """The pipelines overview dashboard."""
    layout = Layout()
    layout.row("Summary over the selected time range")
    layout.add(stat_panel(
        "Runs finished",
        "Runs that reached Succeeded, Failed or Error in the selected time range.",
        "short", f"sum by (cluster) ({increase_over_range(RUNS)})"), 6, 4)
    layout.add(stat_panel(
        "Success ratio",
        "Succeeded runs divided by finished runs in the selected time range.",
        "percentunit",
        f"sum by (cluster) ({increase_over_range(SUCCEEDED)}) "
        f"/ sum by (cluster) ({increase_over_range(RUNS)})",
    ).thresholds(thresholds((None, "red"), (0.9, "orange"), (0.99, "green"))), 6, 4)
    layout.add(stat_panel(
        "Failed runs",
        "Runs that ended Failed or Error in the selected time range.",
        "short", f"sum by (cluster) ({increase_over_range(FAILED)})",
    ).thresholds(thresholds((None, "green"), (1, "red"))), 6, 4)
    layout.add(stat_panel(
        "Running now",
        "Workflow objects currently in the Running phase.",
        "short", f'sum by (cluster) (argoscope_workflows{{{PIPELINE}, phase="Running"}})'), 6, 4)

    layout.row("Per pipeline over the selected time range (click a bar to drill down)")
    layout.add(_per_pipeline(
        "Runs by pipeline", "Finished runs of each pipeline in the selected time range.",
        "short", f"sum by ({BY}) ({increase_over_range(RUNS)})"), 6, 8)
    layout.add(_per_pipeline(
        "Success ratio by pipeline",
        "Succeeded runs divided by finished runs of each pipeline in the selected time range.",
        "percentunit",
        f"sum by ({BY}) ({increase_over_range(SUCCEEDED)}) "
        f"/ sum by ({BY}) ({increase_over_range(RUNS)})",
    ).min(0).max(1).thresholds(thresholds((None, "red"), (0.9, "orange"), (0.99, "green"))),
        6, 8)
    layout.add(_per_pipeline(
        "p95 run duration by pipeline",
        "95th percentile of the duration of each pipeline's runs finished in the selected "
        "time range (estimated from histogram buckets).",
        "s", f"histogram_quantile(0.95, sum by ({BY}, le) ({increase_over_range(DURATION)}))"),
        6, 8)
    layout.add(_per_pipeline(
        "Time since last success by pipeline",
        "Seconds since each pipeline's last Succeeded run finished.",
        "s", f"time() - max by ({BY}) "
        f"(argoscope_workflow_last_success_timestamp_seconds{{{PIPELINE}}})"), 6, 8)

    layout.row("Runs over time")
    layout.add(timeseries_panel(
        "Finished runs by phase",
        "Runs finishing per second, by pipeline and final phase.",
        "ops",
        target(f"sum by ({BY}, phase) (rate({RUNS}[$__rate_interval]))",
               "{{pipeline}} {{phase}}")), 12, 8)
    layout.add(timeseries_panel(
        "Success ratio over time",
        "Share of the runs finishing in each interval that succeeded, per pipeline.",
        "percentunit",
        target(f"sum by ({BY}) (rate({SUCCEEDED}[$__rate_interval])) "
               f"/ sum by ({BY}) (rate({RUNS}[$__rate_interval]))", "{{pipeline}}"),
    ).min(0).max(1), 12, 8)
    layout.add(timeseries_panel(
        "Run duration p50 / p95",
        "Percentiles of the duration of runs finishing in each interval, per pipeline "
        "(estimated from histogram buckets).",
        "s",
        target(f"histogram_quantile(0.5, sum by ({BY}, le) "
               f"(rate({DURATION}[$__rate_interval])))", "{{pipeline}} p50", "A"),
        target(f"histogram_quantile(0.95, sum by ({BY}, le) "
               f"(rate({DURATION}[$__rate_interval])))", "{{pipeline}} p95", "B")), 12, 8)
    layout.add(timeseries_panel(
        "Time since last success over time",
        "Seconds since each pipeline's last Succeeded run finished; a rising line is a "
        "pipeline that has stopped succeeding.",
        "s",
        target(f"time() - max by ({BY}) "
               f"(argoscope_workflow_last_success_timestamp_seconds{{{PIPELINE}}})",
               "{{pipeline}}")), 12, 8)

    layout.row("Failures and live runs")
    layout.add(table_panel(
        "Recent failed runs",
        "Recent runs (live or finished within the exporter's retention window) that ended "
        "Failed or Error.",
        "short",
        instant_table_target(
            f'max by ({BY}, workflow, phase) '
            f'(argoscope_workflow_run_info{{{PIPELINE}, phase=~"Failed|Error"}})'),
    ).with_transformation(rename_columns({}, hide=("Time", "Value")))
    .data_links([data_link("Drill down into ${__data.fields.pipeline}", PIPELINE_UID,
                           *TO_PIPELINE)]), 12, 8)
    layout.add(table_panel(
        "Live runs by age",
        "Runs that have not finished yet and how long they have been running.",
        "s",
        instant_table_target(
            f"max by ({BY}, workflow) (argoscope_workflow_run_age_seconds{{{PIPELINE}}})"),
    ).with_transformation(rename_columns({"Value": "Age"})), 12, 8)

    return new_dashboard(
        OVERVIEW_UID, "argoscope / Pipelines overview",
        "Runs, success ratio, durations, last success and failures of every pipeline.",
        ["pipelines"], pipeline_variables(with_step=OVERVIEW_UID not in WITHOUT_STEP), layout)
