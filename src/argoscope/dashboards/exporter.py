"""Exporter health: is argoscope up, ready and fed by its sources (Kubernetes watches and
dcgm-exporter targets), and is it dropping series."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as builders

from argoscope.dashboards._common import (
    CLUSTER,
    EXPORTER_UID,
    Layout,
    cluster_variable,
    increase_over_range,
    instant_table_target,
    new_dashboard,
    query_variable,
    rename_columns,
    stat_panel,
    table_panel,
    target,
    thresholds,
    timeseries_panel,
)

# The exporter's own series are per scrape target, so this dashboard filters by job and
# instance (the pipeline dashboards do not: their series do not depend on which replica
# served them).
TARGET = f'{CLUSTER}, job=~"$job", instance=~"$instance"'
DROPPED = f"argoscope_exporter_series_dropped_total{{{TARGET}}}"


def _variables() -> list[builders.QueryVariable]:
    return [
        cluster_variable("argoscope_exporter_build_info"),
        query_variable(
            "job", "Job", f"label_values(argoscope_exporter_build_info{{{CLUSTER}}}, job)",
            "Prometheus scrape jobs of the argoscope exporter."),
        query_variable(
            "instance", "Instance",
            f'label_values(argoscope_exporter_build_info{{{CLUSTER}, job=~"$job"}}, instance)',
            "Exporter instances (scrape targets) of the selected jobs."),
    ]


def build() -> builders.Dashboard:
    """The exporter health dashboard."""
    layout = Layout()
    layout.row("Status")
    layout.add(stat_panel(
        "Targets up",
        "Exporter scrape targets Prometheus reached on its last scrape.",
        "short", f"sum by (cluster) (up{{{TARGET}}})",
    ).thresholds(thresholds((None, "red"), (1, "green"))), 6, 4)
    layout.add(stat_panel(
        "Targets ready",
        "Exporter instances whose sources have all delivered their first complete list.",
        "short", f"sum by (cluster) (argoscope_exporter_ready{{{TARGET}}})",
    ).thresholds(thresholds((None, "red"), (1, "green"))), 6, 4)
    layout.add(stat_panel(
        "Oldest source silence",
        "The longest time since any source (watch, file, state directory) delivered "
        "anything; a watch that stays silent for long may be stale.",
        "s", f"max by (cluster) (argoscope_exporter_last_event_age_seconds{{{TARGET}}})",
    ).thresholds(thresholds((None, "green"), (300, "orange"), (900, "red"))), 6, 4)
    layout.add(stat_panel(
        "Series dropped",
        "Series not exported in the selected time range because a cardinality cap was "
        "reached.",
        "short",
        f"sum by (cluster) ({increase_over_range(DROPPED)})",
    ).thresholds(thresholds((None, "green"), (1, "orange"))), 6, 4)

    layout.row("Sources")
    layout.add(timeseries_panel(
        "Source events",
        "Objects received from the sources per second, by resource and event type.",
        "ops",
        target(f"sum by (cluster, resource, type) (rate(argoscope_exporter_events_total{{{TARGET}}}"
               f"[$__rate_interval]))", "{{resource}} {{type}}")), 12, 8)
    layout.add(timeseries_panel(
        "Time since last source event",
        "Seconds since each source last delivered an event, a bookmark or a list.",
        "s",
        target(f"max by (cluster, instance, resource) "
               f"(argoscope_exporter_last_event_age_seconds{{{TARGET}}})",
               "{{instance}} {{resource}}")), 12, 8)
    layout.add(timeseries_panel(
        "Sources up",
        "Whether each source (Kubernetes watch, file, state directory) is running: 0 while "
        "its thread is down and being restarted, or the API server refuses it "
        "(ArgoscopeExporterSourceDown fires after 5 minutes).",
        "short",
        target(f"min by (cluster, instance, source) "
               f"(argoscope_exporter_source_up{{{TARGET}}})",
               "{{instance}} {{source}}")), 12, 8)
    layout.add(timeseries_panel(
        "Watch restarts",
        "Watches restarted per second, by resource and reason (dropped, expired, error).",
        "ops",
        target(f"sum by (cluster, resource, reason) (rate("
               f"argoscope_exporter_watch_restarts_total{{{TARGET}}}[$__rate_interval]))",
               "{{resource}} {{reason}}")), 12, 8)
    layout.add(timeseries_panel(
        "Objects skipped and series dropped",
        "Malformed or unknown objects skipped per second, and series dropped per second "
        "by the cardinality caps, by family.",
        "ops",
        target(f"sum by (cluster, resource, reason) (rate("
               f"argoscope_exporter_objects_skipped_total{{{TARGET}}}[$__rate_interval]))",
               "skipped {{resource}} {{reason}}", "A"),
        target(f"sum by (cluster, family) (rate({DROPPED}[$__rate_interval]))",
               "dropped {{family}}", "B")), 12, 8)

    layout.row("dcgm-exporter targets")
    layout.add(stat_panel(
        "DCGM targets up",
        "dcgm-exporter targets whose latest scrape by argoscope succeeded.",
        "short", f"sum by (cluster) (argoscope_exporter_dcgm_up{{{TARGET}}})",
    ).no_value("no DCGM targets"), 6, 4)
    layout.add(stat_panel(
        "DCGM targets down",
        "dcgm-exporter targets whose latest scrape by argoscope failed: GPU utilisation of "
        "the steps on those nodes is unknown.",
        "short", f"count by (cluster) (argoscope_exporter_dcgm_up{{{TARGET}}} == 0)",
    ).no_value("0").thresholds(thresholds((None, "green"), (1, "red"))), 6, 4)
    layout.add(stat_panel(
        "Slowest DCGM scrape",
        "Duration of the slowest latest scrape of a dcgm-exporter target.",
        "s", f"max by (cluster) (argoscope_exporter_dcgm_scrape_duration_seconds{{{TARGET}}})",
    ).no_value("no DCGM targets"), 6, 4)
    layout.add(stat_panel(
        "GPUs not attributed to steps",
        "GPUs in the latest DCGM scrapes that argoscope could not attribute to a step pod "
        "(no pod labels, the exporter's own pod, or not a step pod).",
        "short", f"sum by (cluster) (argoscope_exporter_dcgm_gpus_unattributed{{{TARGET}}})",
    ).no_value("0"), 6, 4)
    layout.add(timeseries_panel(
        "DCGM scrape errors",
        "Failed scrapes of dcgm-exporter targets per second, by target and reason (down, "
        "timeout, garbage, too_large; target \"discovery\" for failed discovery).",
        "ops",
        target(f"sum by (cluster, target, reason) (rate("
               f"argoscope_exporter_dcgm_scrape_errors_total{{{TARGET}}}[$__rate_interval]))",
               "{{target}} {{reason}}")), 12, 8)
    layout.add(timeseries_panel(
        "GPUs not attributed by reason",
        "GPUs in the latest scrape of each dcgm-exporter target not attributed to a step pod, "
        "by reason.",
        "short",
        target(f"sum by (cluster, target, reason) "
               f"(argoscope_exporter_dcgm_gpus_unattributed{{{TARGET}}})",
               "{{target}} {{reason}}")), 12, 8)

    layout.row("Build")
    layout.add(table_panel(
        "Exporter builds",
        "Version and Python version of each exporter instance.",
        "short",
        instant_table_target(f"argoscope_exporter_build_info{{{TARGET}}}"),
    ).with_transformation(rename_columns({}, hide=("Time", "Value", "__name__"))), 24, 6)

    return new_dashboard(
        EXPORTER_UID, "argoscope / Exporter health",
        "Whether the argoscope exporter is up and ready, how its sources and dcgm-exporter "
        "targets are doing, and whether it is dropping series.",
        ["exporter"], _variables(), layout)
