"""Data quality and drift: check results over time, drift share, per-feature drift scores and
model gates."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as builders
from grafana_foundation_sdk.builders import prometheus
from grafana_foundation_sdk.models import dashboard as models

from argoscope.dashboards import _common as common

IDENTITY = common.Identity(common.QUALITY_UID, "argoscope / Data quality and drift", ("data-quality",), (
    "Data-quality check results, drift share and per-feature drift scores, and model "
    "gates reported by pipeline steps."))

BY = "cluster, namespace, pipeline, step, check"
RESULTS = common.selector("argoscope_check_results_total", common.STEP)
FAILED_RESULTS = common.selector("argoscope_check_results_total", common.STEP,
                                 'status=~"failed|error"')
DRIFT = f'{common.STEP}, kind="drift"'
GATE = f'{common.STEP}, kind="gate"'


def _status_mapping() -> list[models.ValueMapping]:
    """`argoscope_check_status` is 1 for passed or warning and 0 for failed or error."""
    return [models.ValueMap(options={
        "0": models.ValueMappingResult(text="failed", color="red", index=0),
        "1": models.ValueMappingResult(text="passed", color="green", index=1),
    })]


def _latest(metric: str, scope: str, by: str = BY) -> str:
    """The latest value of `metric` in `scope`, per `by` (each check by default)."""
    return f"max by ({by}) ({common.selector(metric, scope)})"


def _against_threshold(scope: str) -> list[prometheus.Dataquery]:
    """Each check's latest value (A) and the threshold it was compared with (B)."""
    return [common.target(_latest("argoscope_check_value", scope), "{{step}}/{{check}}", "A"),
            common.target(_latest("argoscope_check_threshold", scope), "{{step}}/{{check}} threshold", "B")]


def build() -> builders.Dashboard:
    """The data quality and drift dashboard."""
    layout = common.Layout()
    layout.stats(
        "Checks over the selected time range",
        common.count_stat("Check results", "Check results reported by pipeline steps in the "
                          "selected time range.", RESULTS),
        common.count_stat("Failed checks", "Check results with status failed or error in the "
                          "selected time range.", FAILED_RESULTS, alarm="red"),
        common.stat_panel(
            "Checks failing now", "Checks whose latest result is failed or error.",
            # `== bool 0` counts 0 per cluster when none fail (an `or vector(0)` would add a
            # series without `cluster` next to each cluster's count).
            "short",
            f"sum by (cluster) ({common.selector('argoscope_check_status', common.STEP)} "
            "== bool 0)",
        ).no_value("0").thresholds(common.any_is("red")),
        common.stat_panel(
            "Largest drift share now",
            "The largest latest drift value (share of drifted features) of any drift check.",
            "percentunit", _latest("argoscope_check_value", DRIFT, by="cluster")))

    layout.add(common.timeseries_panel(
        "Check results by kind and status",
        "Check results per second by kind (expectation, drift, gate, ...) and status.",
        "ops", common.target(common.rate_by(RESULTS, "cluster, kind, status"),
                             "{{kind}} {{status}}")), 12, 8)
    layout.add(common.table_panel(
        "Latest check status",
        "The latest result of every check: passed (or warning) or failed (or error). Click "
        "a row to open the pipeline.",
        "short", common.instant_table_target(_latest("argoscope_check_status", common.STEP, f"{BY}, kind")),
    )
    .with_transformation(common.rename_columns({"Value": "Status"}))
    .mappings(_status_mapping())
    .data_links([common.data_link("Open ${__data.fields.pipeline}", common.PIPELINE_UID,
                                  *common.TO_PIPELINE_ROW)]), 12, 8)
    layout.add(common.table_panel(
        "Latest check values and thresholds",
        "The latest measured value of every check and the threshold it was compared with.",
        "short",
        common.instant_table_target(_latest("argoscope_check_value", common.STEP, f"{BY}, kind"), "A"),
        common.instant_table_target(_latest("argoscope_check_threshold", common.STEP, f"{BY}, kind"), "B"),
    ).with_transformation(common.rename_columns({"Value #A": "Value", "Value #B": "Threshold"})),
        24, 8)

    layout.row("Drift")
    layout.add(common.timeseries_panel(
        "Drift share",
        "Latest value of each drift check (share of drifted features, or the check's own "
        "statistic) against its threshold.",
        "percentunit", *_against_threshold(DRIFT)), 12, 8)
    layout.add(common.bargauge_panel(
        "Feature drift scores now",
        "Latest per-feature drift score of each drift check (method-specific: Wasserstein "
        "distance, PSI, ...), largest first.",
        "short",
        f"sort_desc({_latest('argoscope_feature_drift_score', common.STEP, f'{BY}, feature')})",
        "{{check}}: {{feature}}"), 12, 8)
    layout.add(common.timeseries_panel(
        "Feature drift scores over time",
        "Per-feature drift scores of each drift check as they were reported.",
        "short",
        common.target(_latest("argoscope_feature_drift_score", common.STEP, f"{BY}, feature"),
                      "{{check}}: {{feature}}")), 24, 8)

    layout.row("Model gates")
    layout.add(common.timeseries_panel(
        "Model gate values against thresholds",
        "Latest value of each model gate (for example accuracy) and the threshold it must meet.",
        "short", *_against_threshold(GATE)), 12, 8)
    layout.add(common.table_panel(
        "Model gates now",
        "Latest status of each model gate: passed or failed.",
        "short", common.instant_table_target(_latest("argoscope_check_status", GATE)),
    ).with_transformation(common.rename_columns({"Value": "Status"})).mappings(_status_mapping()),
        12, 8)

    return common.new_dashboard(IDENTITY, common.pipeline_variables(), layout)
