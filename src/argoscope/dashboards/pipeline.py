"""Pipeline drill-down: each step's duration against its own history, retries, failure
reasons, pending time and resources."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as builders

from argoscope.dashboards import _common as common
from argoscope.dashboards import cost

IDENTITY = common.Identity(common.PIPELINE_UID, "argoscope / Pipeline drill-down", ("pipelines",), (
    "Per-step durations against their own history, retries, failure reasons, pending "
    "time and resources of the selected pipelines."))

BY = "cluster, namespace, pipeline, step"
STEP_DURATION = common.selector("argoscope_step_duration_seconds_bucket", common.STEP,
                                'phase="Succeeded"')
STEP_RUNS = common.selector("argoscope_step_runs_total", common.STEP)
FAILED_STEP_RUNS = common.selector("argoscope_step_runs_total", common.STEP,
                                   common.FAILED_PHASES)
RETRIES = common.selector("argoscope_step_retries_total", common.STEP)
FAILURES = common.selector("argoscope_step_failures_total", common.STEP)
RESOURCES = common.selector("argoscope_step_resource_seconds_total", common.STEP)
WAITING = common.selector("argoscope_steps_waiting", common.STEP)
# The history a step's duration is compared with: the week before the last hour, as the
# slow-step alert's recording rule (a slow hour does not raise its own bar).
HISTORY = "7d"


def build() -> builders.Dashboard:
    """The pipeline drill-down dashboard."""
    layout = common.Layout()
    layout.stats(
        "Steps over the selected time range",
        # (title, description, counter, alarm colour)
        *(common.count_stat(*count) for count in (
            ("Step attempts",
             "Finished step attempts of the selected steps in the selected time range.",
             STEP_RUNS, None),
            ("Failed step attempts",
             "Step attempts that ended Failed or Error in the selected time range.",
             FAILED_STEP_RUNS, "red"),
            ("Retries", "Step attempts beyond the first in the selected time range.", RETRIES,
             "orange"))),
        common.stat_panel(
            "Pods waiting now", "Live step pods stuck waiting (unschedulable, image pull, ...).",
            "short", f"sum by (cluster) ({WAITING})",
        ).thresholds(common.any_is("orange")))

    layout.row("Durations against history")
    layout.add(common.timeseries_panel(
        "Step duration p95 against its history",
        "p95 duration of successful attempts finishing in each interval against the "
        f"same step's p95 over the {HISTORY} before the last hour (\"history\", the slow-step "
        "alert's reference): a step far above its own history is slower than usual.",
        "s",
        common.target(common.quantile_by(0.95, STEP_DURATION, BY),
                      "{{pipeline}}/{{step}} p95", "A"),
        common.target(f"histogram_quantile(0.95, sum by ({BY}, le) "
                      f"(increase({STEP_DURATION}[{HISTORY}] offset 1h)))",
                      "{{pipeline}}/{{step}} p95 history", "B"),
    ), 24, 9)
    layout.add(common.timeseries_panel(
        "Step duration p50",
        "Median duration of successful attempts finishing in each interval.",
        "s", common.target(common.quantile_by(0.5, STEP_DURATION, BY),
                           "{{pipeline}}/{{step}} p50")), 12, 8)
    layout.add(common.timeseries_panel(
        "Pending time p95",
        "p95 of the time from a step attempt's start to its main container running: "
        "queueing, scheduling and image pulls.",
        "s",
        common.target(common.quantile_by(
            0.95, common.selector("argoscope_step_pending_seconds_bucket", common.STEP), BY),
            "{{pipeline}}/{{step}} p95")), 12, 8)

    layout.row("Failures and retries")
    layout.add(common.timeseries_panel(
        "Step attempts by phase", "Finished step attempts per second, by step and phase.",
        "ops", common.target(common.rate_by(STEP_RUNS, f"{BY}, phase"),
                             "{{pipeline}}/{{step}} {{phase}}")), 12, 8)
    layout.add(common.timeseries_panel(
        "Retries over time", "Step attempts beyond the first, per second, by step.",
        "ops", common.target(common.rate_by(RETRIES, BY), "{{pipeline}}/{{step}}")), 12, 8)
    layout.add(common.bargauge_panel(
        "Failure reasons",
        "Failed or errored step attempts in the selected time range by step and reason "
        "(OOMKilled, Error, DeadlineExceeded, Evicted, ImagePullBackOff, Unschedulable, ...).",
        "short", common.total_over_range(FAILURES, f"{BY}, reason"),
        "{{pipeline}}/{{step}}: {{reason}}"), 12, 8)
    layout.add(common.table_panel(
        "Waiting pods by reason",
        "Live step pods stuck waiting, by step and reason (Unschedulable, ImagePullBackOff, "
        "...); the GPU efficiency dashboard shows those waiting for GPUs.",
        "short", common.instant_table_target(f"sum by ({BY}, reason) ({WAITING})", "A"),
    ).with_transformation(common.rename_columns({"Value": "Pods"})), 12, 8)

    layout.row("Resources")
    layout.add(common.timeseries_panel(
        "Resources held by steps",
        "Argo resourcesDuration accrued per second by finished attempts, by step and "
        "resource: the average number of CPUs, 100Mi memory units or GPUs held.",
        "short",
        common.target(common.rate_by(RESOURCES, f"{BY}, resource"),
                      "{{pipeline}}/{{step}} {{resource}}"),
    ).links([common.panel_link("GPU efficiency", common.GPU_UID)]), 12, 8)
    layout.add(common.table_panel(
        "Resource-hours by step",
        "Argo resourcesDuration of the attempts finished in the selected time range, in "
        "resource-hours (CPU-hours, 100Mi-memory-hours, GPU-hours).",
        "h",
        common.instant_table_target(
            f"{common.total_over_range(RESOURCES, f'{BY}, resource')} / 3600"),
    ).with_transformation(common.rename_columns({"Value": "Resource-hours"}))
    .links([common.panel_link("Data quality", common.QUALITY_UID),
            common.panel_link("Overview", common.OVERVIEW_UID)]), 12, 8)

    # With the exporter's --prices; empty without it.
    layout.row("Cost")
    layout.add(common.bargauge_panel(
        "Cost by step",
        "Cost of each step's finished attempts over the selected time range (effective "
        "requests x node price x the attempt's window), in the currency of "
        "argoscope_cost_info.",
        "short", cost.cost_by_step(), "{{pipeline}}/{{step}}",
    ).links([common.panel_link("Cost", common.COST_UID)]), 12, 8)
    layout.add(common.timeseries_panel(
        "Cost per run",
        "Mean cost of the runs finishing in each interval, by pipeline, in the currency of "
        "argoscope_cost_info.",
        "short", common.target(cost.mean_cost_per_run(), "{{pipeline}}")), 12, 8)

    return common.new_dashboard(IDENTITY, common.pipeline_variables(), layout)
