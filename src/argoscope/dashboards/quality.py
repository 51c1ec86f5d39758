"""Data quality and drift: check results over time, drift share, per-feature drift scores and
model gates."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as builders
from grafana_foundation_sdk.models import dashboard as models

from argoscope.dashboards._common import (
    PIPELINE_UID,
    QUALITY_UID,
    STEP,
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

BY = "cluster, namespace, pipeline, step, check"
RESULTS = f"argoscope_check_results_total{{{STEP}}}"
FAILED_RESULTS = f'argoscope_check_results_total{{{STEP}, status=~"failed|error"}}'
DRIFT = f'{STEP}, kind="drift"'
GATE = f'{STEP}, kind="gate"'
TO_PIPELINE = ("namespace=${__data.fields.namespace}", "pipeline=${__data.fields.pipeline}")


def _status_mapping() -> list[models.ValueMapping]:
    """`argoscope_check_status` is 1 for passed or warning and 0 for failed or error."""
    return [models.ValueMap(options={
        "0": models.ValueMappingResult(text="failed", color="red", index=0),
        "1": models.ValueMappingResult(text="passed", color="green", index=1),
    })]


def build() -> builders.Dashboard:
    """The data quality and drift dashboard."""
    layout = Layout()
    layout.row("Checks over the selected time range")
    layout.add(stat_panel(
        "Check results",
        "Check results reported by pipeline steps in the selected time range.",
        "short", f"sum by (cluster) ({increase_over_range(RESULTS)})"), 6, 4)
    layout.add(stat_panel(
        "Failed checks",
        "Check results with status failed or error in the selected time range.",
        "short", f"sum by (cluster) ({increase_over_range(FAILED_RESULTS)})",
    ).thresholds(thresholds((None, "green"), (1, "red"))), 6, 4)
    layout.add(stat_panel(
        "Checks failing now",
        "Checks whose latest result is failed or error.",
        # `== bool 0` counts 0 per cluster when none fail (an `or vector(0)` would add a
        # series without `cluster` next to each cluster's count).
        "short", f"sum by (cluster) (argoscope_check_status{{{STEP}}} == bool 0)",
    ).no_value("0").thresholds(thresholds((None, "green"), (1, "red"))), 6, 4)
    layout.add(stat_panel(
        "Largest drift share now",
        "The largest latest drift value (share of drifted features) of any drift check.",
        "percentunit", f"max by (cluster) (argoscope_check_value{{{DRIFT}}})"), 6, 4)

    layout.add(timeseries_panel(
        "Check results by kind and status",
        "Check results per second by kind (expectation, drift, gate, ...) and status.",
        "ops",
        target(f"sum by (cluster, kind, status) (rate({RESULTS}[$__rate_interval]))",
               "{{kind}} {{status}}")), 12, 8)
    layout.add(table_panel(
        "Latest check status",
        "The latest result of every check: passed (or warning) or failed (or error). Click "
        "a row to open the pipeline.",
        "short",
        instant_table_target(f"max by ({BY}, kind) (argoscope_check_status{{{STEP}}})"),
    )
    .with_transformation(rename_columns({"Value": "Status"}))
    .mappings(_status_mapping())
    .data_links([data_link("Open ${__data.fields.pipeline}", PIPELINE_UID, *TO_PIPELINE)]),
        12, 8)
    layout.add(table_panel(
        "Latest check values and thresholds",
        "The latest measured value of every check and the threshold it was compared with.",
        "short",
        instant_table_target(f"max by ({BY}, kind) (argoscope_check_value{{{STEP}}})", "A"),
        instant_table_target(
            f"max by ({BY}, kind) (argoscope_check_threshold{{{STEP}}})", "B"),
    ).with_transformation(rename_columns({"Value #A": "Value", "Value #B": "Threshold"})),
        24, 8)

    layout.row("Drift")
    layout.add(timeseries_panel(
        "Drift share",
        "Latest value of each drift check (share of drifted features, or the check's own "
        "statistic) against its threshold.",
        "percentunit",
        target(f"max by ({BY}) (argoscope_check_value{{{DRIFT}}})", "{{step}}/{{check}}", "A"),
        target(f"max by ({BY}) (argoscope_check_threshold{{{DRIFT}}})",
               "{{step}}/{{check}} threshold", "B"),
    ), 12, 8)
    layout.add(bargauge_panel(
        "Feature drift scores now",
        "Latest per-feature drift score of each drift check (method-specific: Wasserstein "
        "distance, PSI, ...), largest first.",
        "short",
        f"sort_desc(max by ({BY}, feature) "
        f"(argoscope_feature_drift_score{{{STEP}}}))", "{{check}}: {{feature}}"), 12, 8)
    layout.add(timeseries_panel(
        "Feature drift scores over time",
        "Per-feature drift scores of each drift check as they were reported.",
        "short",
        target(f"max by ({BY}, feature) (argoscope_feature_drift_score{{{STEP}}})",
               "{{check}}: {{feature}}")), 24, 8)

    layout.row("Model gates")
    layout.add(timeseries_panel(
        "Model gate values against thresholds",
        "Latest value of each model gate (for example accuracy) and the threshold it must "
        "meet.",
        "short",
        target(f"max by ({BY}) (argoscope_check_value{{{GATE}}})", "{{step}}/{{check}}", "A"),
        target(f"max by ({BY}) (argoscope_check_threshold{{{GATE}}})",
               "{{step}}/{{check}} threshold", "B"),
    ), 12, 8)
    layout.add(table_panel(
        "Model gates now",
        "Latest status of each model gate: passed or failed.",
        "short",
        instant_table_target(f"max by ({BY}) (argoscope_check_status{{{GATE}}})"),
    ).with_transformation(rename_columns({"Value": "Status"})).mappings(_status_mapping()),
        12, 8)

    return new_dashboard(
        QUALITY_UID, "argoscope / Data quality and drift",
        "Data-quality check results, drift share and per-feature drift scores, and model "
        "gates reported by pipeline steps.",
        ["data-quality"], pipeline_variables(), layout)
