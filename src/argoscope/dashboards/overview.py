"""Pipelines overview: runs, success ratio, durations, last success and failures per pipeline."""

from __future__ import annotations

from grafana_foundation_sdk.builders import bargauge
from grafana_foundation_sdk.builders import dashboard as builders

from argoscope.dashboards import _common as common

IDENTITY = common.Identity(common.OVERVIEW_UID, "argoscope / Pipelines overview", ("pipelines",), (
    "Runs, success ratio, durations, last success and failures of every pipeline."))

RUNS = common.selector("argoscope_workflow_runs_total", common.PIPELINE)
SUCCEEDED = common.selector("argoscope_workflow_runs_total", common.PIPELINE, 'phase="Succeeded"')
FAILED = common.selector("argoscope_workflow_runs_total", common.PIPELINE, common.FAILED_PHASES)
DURATION = common.selector("argoscope_workflow_duration_seconds_bucket", common.PIPELINE)
LAST_SUCCESS = common.selector("argoscope_workflow_last_success_timestamp_seconds",
                               common.PIPELINE)
RUNNING = common.selector("argoscope_workflows", common.PIPELINE, 'phase="Running"')
BY = "cluster, namespace, pipeline"


def _per_pipeline(title: str, description: str, unit: str, expr: str) -> bargauge.Panel:
    """One bar per pipeline, linking to that pipeline's drill-down."""
    return common.bargauge_panel(title, description, unit, expr, "{{pipeline}}").data_links([
        common.data_link("Drill down into ${__field.labels.pipeline}", common.PIPELINE_UID,
                         *common.TO_PIPELINE_SERIES)])


def _success_ratio(by: str) -> str:
    """Succeeded runs divided by finished runs over the time range, per `by`."""
    return (f"{common.total_over_range(SUCCEEDED, by)} "
            f"/ {common.total_over_range(RUNS, by)}")


def build() -> builders.Dashboard:
    """The pipelines overview dashboard."""
    layout = common.Layout()
    layout.stats(
        "Summary over the selected time range",
        common.count_stat("Runs finished",
                          "Runs that reached Succeeded, Failed or Error in the selected time range.",
                          RUNS),
        common.stat_panel("Success ratio",
                          "Succeeded runs divided by finished runs in the selected time range.",
                          "percentunit", _success_ratio("cluster"),
                          ).thresholds(common.share_colors(0.9, 0.99)),
        common.count_stat("Failed runs", "Runs that ended Failed or Error in the selected time range.",
                          FAILED, alarm="red"),
        common.stat_panel("Running now", "Workflow objects currently in the Running phase.", "short",
                          f"sum by (cluster) ({RUNNING})"))

    layout.row("Per pipeline over the selected time range (click a bar to drill down)")
    layout.add(_per_pipeline(
        "Runs by pipeline", "Finished runs of each pipeline in the selected time range.",
        "short", common.total_over_range(RUNS, BY)), 6, 8)
    layout.add(_per_pipeline(
        "Success ratio by pipeline",
        "Succeeded runs divided by finished runs of each pipeline in the selected time range.",
        "percentunit", _success_ratio(BY),
    ).min(0).max(1).thresholds(common.share_colors(0.9, 0.99)), 6, 8)
    layout.add(_per_pipeline(
        "p95 run duration by pipeline",
        "95th percentile of the duration of each pipeline's runs finished in the selected "
        "time range (estimated from histogram buckets).",
        "s", f"histogram_quantile(0.95, {common.total_over_range(DURATION, f'{BY}, le')})"),
        6, 8)
    layout.add(_per_pipeline(
        "Time since last success by pipeline",
        "Seconds since each pipeline's last Succeeded run finished.",
        "s", f"time() - max by ({BY}) ({LAST_SUCCESS})"), 6, 8)

    layout.row("Runs over time")
    layout.add(common.timeseries_panel(
        "Finished runs by phase", "Runs finishing per second, by pipeline and final phase.",
        "ops", common.target(common.rate_by(RUNS, f"{BY}, phase"), "{{pipeline}} {{phase}}")),
        12, 8)
    layout.add(common.timeseries_panel(
        "Success ratio over time",
        "Share of the runs finishing in each interval that succeeded, per pipeline.",
        "percentunit",
        common.target(f"{common.rate_by(SUCCEEDED, BY)} / {common.rate_by(RUNS, BY)}",
                      "{{pipeline}}"),
    ).min(0).max(1), 12, 8)
    layout.add(common.timeseries_panel(
        "Run duration p50 / p95",
        "Percentiles of the duration of runs finishing in each interval, per pipeline "
        "(estimated from histogram buckets).",
        "s",
        common.target(common.quantile_by(0.5, DURATION, BY), "{{pipeline}} p50", "A"),
        common.target(common.quantile_by(0.95, DURATION, BY), "{{pipeline}} p95", "B")), 12, 8)
    layout.add(common.timeseries_panel(
        "Time since last success over time",
        "Seconds since each pipeline's last Succeeded run finished; a rising line is a "
        "pipeline that has stopped succeeding.",
        "s", common.target(f"time() - max by ({BY}) ({LAST_SUCCESS})", "{{pipeline}}")), 12, 8)

    layout.row("Failures and live runs")
    layout.add(common.table_panel(
        "Recent failed runs",
        "Recent runs (live or finished within the exporter's retention window) that ended "
        "Failed or Error.",
        "short",
        common.instant_table_target(
            f"max by ({BY}, workflow, phase) ("
            f"{common.selector('argoscope_workflow_run_info', common.PIPELINE, common.FAILED_PHASES)})"),
    ).with_transformation(common.rename_columns({}, hide=("Time", "Value")))
    .data_links([common.data_link("Drill down into ${__data.fields.pipeline}",
                                  common.PIPELINE_UID, *common.TO_PIPELINE_ROW)]), 12, 8)
    layout.add(common.table_panel(
        "Live runs by age",
        "Runs that have not finished yet and how long they have been running.",
        "s",
        common.instant_table_target(
            f"max by ({BY}, workflow) "
            f"({common.selector('argoscope_workflow_run_age_seconds', common.PIPELINE)})"),
    ).with_transformation(common.rename_columns({"Value": "Age"})), 12, 8)

    variables = common.pipeline_variables(with_step=IDENTITY.uid not in common.WITHOUT_STEP)
    return common.new_dashboard(IDENTITY, variables, layout)
