"""Exporter health: is argoscope up, ready and fed by its sources (Kubernetes watches and
dcgm-exporter targets), and is it dropping series."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as builders
from grafana_foundation_sdk.builders import timeseries

from argoscope.dashboards import _common as common

# The exporter's own series are per scrape target, so this dashboard filters by job and
# instance (the pipeline dashboards do not: their series do not depend on which replica
# served them).
IDENTITY = common.Identity(common.EXPORTER_UID, "argoscope / Exporter health", ("exporter",), (
    "Whether the argoscope exporter is up and ready, how its sources and dcgm-exporter "
    "targets are doing, and whether it is dropping series."))

TARGET = common.matchers("cluster", "job", "instance")
DROPPED = common.selector("argoscope_exporter_series_dropped_total", TARGET)


def _variables() -> list[builders.QueryVariable]:
    return common.variable_chain(
        "argoscope_exporter_build_info",
        common.Level("job", "Job", "Prometheus scrape jobs of the argoscope exporter."),
        common.Level("instance", "Instance",
                     "Exporter instances (scrape targets) of the selected jobs."))


def _series(name: str) -> str:
    """The exporter's own `argoscope_exporter_<name>` of the selected targets."""
    return common.selector(f"argoscope_exporter_{name}", TARGET)


def _per_second(title: str, description: str, name: str, labels: str,
                legend: str) -> timeseries.Panel:
    """The per-second rate of the exporter counter `name` of the selected targets, by
    cluster and `labels`."""
    return common.timeseries_panel(title, description, "ops", common.target(
        common.rate_by(_series(name), f"cluster, {labels}"), legend))


def build() -> builders.Dashboard:
    """The exporter health dashboard."""
    layout = common.Layout()
    layout.stats(
        "Status",
        common.stat_panel(
            "Targets up", "Exporter scrape targets Prometheus reached on its last scrape.",
            "short", f"sum by (cluster) ({common.selector('up', TARGET)})",
        ).thresholds(common.thresholds((None, "red"), (1, "green"))),
        common.stat_panel(
            "Targets ready",
            "Exporter instances whose sources have all delivered their first complete list.",
            "short", f"sum by (cluster) ({_series('ready')})",
        ).thresholds(common.thresholds((None, "red"), (1, "green"))),
        common.stat_panel(
            "Oldest source silence",
            "The longest time since any source (watch, file, state directory) delivered "
            "anything; a watch that stays silent for long may be stale.",
            "s", f"max by (cluster) ({_series('last_event_age_seconds')})",
        ).thresholds(common.thresholds((None, "green"), (300, "orange"), (900, "red"))),
        common.count_stat("Series dropped", "Series not exported in the selected time range "
                          "because a cardinality cap was reached.", DROPPED, alarm="orange"))

    layout.row("Sources")
    layout.add(_per_second(
        "Source events", "Objects received from the sources per second, by resource and event "
        "type.", "events_total", "resource, type", "{{resource}} {{type}}"), 12, 8)
    layout.add(common.timeseries_panel(
        "Time since last source event",
        "Seconds since each source last delivered an event, a bookmark or a list.",
        "s",
        common.target(f"max by (cluster, instance, resource) "
                      f"({_series('last_event_age_seconds')})", "{{instance}} {{resource}}")),
        12, 8)
    layout.add(common.timeseries_panel(
        "Sources up",
        "Whether each source (Kubernetes watch, file, state directory) is running: 0 while "
        "its thread is down and being restarted, or the API server refuses it "
        "(ArgoscopeExporterSourceDown fires after 5 minutes).",
        "short",
        common.target(f"min by (cluster, instance, source) ({_series('source_up')})",
                      "{{instance}} {{source}}")), 12, 8)
    layout.add(_per_second(
        "Watch restarts", "Watches restarted per second, by resource and reason (dropped, expired, error).",
        "watch_restarts_total", "resource, reason", "{{resource}} {{reason}}"), 12, 8)
    layout.add(common.timeseries_panel(
        "Objects skipped and series dropped",
        "Malformed or unknown objects skipped per second, and series dropped per second "
        "by the cardinality caps, by family.",
        "ops",
        common.target(common.rate_by(_series("objects_skipped_total"), "cluster, resource, reason"),
                      "skipped {{resource}} {{reason}}", "A"),
        common.target(common.rate_by(DROPPED, "cluster, family"), "dropped {{family}}", "B")),
        12, 8)

    layout.stats(
        "dcgm-exporter targets",
        common.stat_panel(
            "DCGM targets up", "dcgm-exporter targets whose latest scrape by argoscope succeeded.",
            "short", f"sum by (cluster) ({_series('dcgm_up')})",
        ).no_value("no DCGM targets"),
        common.stat_panel(
            "DCGM targets down",
            "dcgm-exporter targets whose latest scrape by argoscope failed: GPU utilisation of "
            "the steps on those nodes is unknown.",
            "short", f"count by (cluster) ({_series('dcgm_up')} == 0)",
        ).no_value("0").thresholds(common.any_is("red")),
        common.stat_panel(
            "Slowest DCGM scrape", "Duration of the slowest latest scrape of a dcgm-exporter target.",
            "s", f"max by (cluster) ({_series('dcgm_scrape_duration_seconds')})",
        ).no_value("no DCGM targets"),
        common.stat_panel(
            "GPUs not attributed to steps",
            "GPUs in the latest DCGM scrapes that argoscope could not attribute to a step pod "
            "(no pod labels, the exporter's own pod, or not a step pod).",
            "short", f"sum by (cluster) ({_series('dcgm_gpus_unattributed')})",
        ).no_value("0"))
    layout.add(_per_second(
        "DCGM scrape errors",
        "Failed scrapes of dcgm-exporter targets per second, by target and reason (down, "
        "timeout, garbage, too_large; target \"discovery\" for failed discovery).",
        "dcgm_scrape_errors_total", "target, reason", "{{target}} {{reason}}"), 12, 8)
    unattributed = f"sum by (cluster, target, reason) ({_series('dcgm_gpus_unattributed')})"
    layout.add(common.timeseries_panel(
        "GPUs not attributed by reason",
        "GPUs in the latest scrape of each dcgm-exporter target not attributed to a step pod, "
        "by reason.", "short", common.target(unattributed, "{{target}} {{reason}}")), 12, 8)

    layout.row("Build")
    layout.add(common.table_panel(
        "Exporter builds", "Version and Python version of each exporter instance.",
        "short", common.instant_table_target(_series("build_info")),
    ).with_transformation(common.rename_columns({}, hide=("Time", "Value", "__name__"))), 24, 6)

    return common.new_dashboard(IDENTITY, _variables(), layout)
