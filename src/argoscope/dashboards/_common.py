"""Building blocks every argoscope dashboard shares: the datasource, variables, links, panels.

Each dashboard module composes these so that the conventions (a templated Prometheus
datasource on every panel and query, chained cluster / namespace / pipeline / step variables, a
unit and a description on every panel, cross-links that keep the variables) hold by
construction.

Many clusters, one view: each cluster's Prometheus adds a `cluster` label (external label or
relabelling) and a central Prometheus, Thanos or Mimir holds them all. Every query filters on
the `cluster` variable and every aggregation keeps `cluster`, so that a panel shows one series
set per cluster. Where the label is absent (one cluster, one Prometheus) the variable offers no
value, its All value `.*` also matches the absent (empty) label, and the panels are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from grafana_foundation_sdk.builders import bargauge, prometheus, stat, table, timeseries
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as builders
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as models
from grafana_foundation_sdk.models import prometheus as prometheus_models

TAG = "argoscope"
DATASOURCE_VARIABLE = "datasource"
# Every panel and query points at the templated datasource, never at a fixed uid.
DATASOURCE = models.DataSourceRef(type_val="prometheus", uid="${" + DATASOURCE_VARIABLE + "}")

# Dashboard uids: stable, because links and provisioning refer to them.
OVERVIEW_UID = "argoscope-pipelines-overview"
PIPELINE_UID = "argoscope-pipeline"
GPU_UID = "argoscope-gpu-efficiency"
QUALITY_UID = "argoscope-data-quality"
EXPORTER_UID = "argoscope-exporter-health"
COST_UID = "argoscope-cost"
SLO_UID = "argoscope-slo"

# Dashboards without a `step` variable (links to them do not pass one).
WITHOUT_STEP = frozenset({OVERVIEW_UID, SLO_UID})

# Label matchers the variables feed; `=~` because the variables are multi-value.
CLUSTER = 'cluster=~"$cluster"'
NAMESPACE = f'{CLUSTER}, namespace=~"$namespace"'
PIPELINE = f'{NAMESPACE}, pipeline=~"$pipeline"'
STEP = f'{PIPELINE}, step=~"$step"'

Panel = cogbuilder.Builder[models.Panel]


def increase_over_range(selector: str) -> str:
    """How much a counter (or histogram bucket) series grew over the dashboard's time range.

    The exporter creates a counter series at its first event, already at 1, and increase()
    cannot see the step from "no series" to 1: a pipeline that runs a few times a day would
    show too few runs. So, as the recording rules do, a series that did not exist when the
    range began counts at its full value, and increase() (which also handles an exporter
    restart's reset) counts every older one.
    """
    return f"(({selector} unless {selector} offset $__range) or increase({selector}[$__range]))"


def datasource_variable() -> builders.DatasourceVariable:
    """The `datasource` variable (Prometheus) that every panel and query uses."""
    return (
        builders.DatasourceVariable(DATASOURCE_VARIABLE)
        .label("Data source")
        .type("prometheus")
        .description("Prometheus that scrapes the argoscope exporter.")
    )


def query_variable(name: str, label: str, query: str, description: str) -> builders.QueryVariable:
    """A multi-value `label_values` variable, refreshed when the time range changes."""
    return (
        builders.QueryVariable(name)
        .label(label)
        .description(description)
        .datasource(DATASOURCE)
        .query(query)
        .definition(query)
        .refresh(models.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(models.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        # `.*` keeps the query short with many values and matches series without the label.
        .all_value(".*")
    )


def cluster_variable(series: str) -> builders.QueryVariable:
    """The `cluster` variable: the `cluster` label values of `series` (a selector).

    With the label absent the query returns nothing; All (`.*`) then matches the empty value,
    so every query still returns what it would without the variable.
    """
    return query_variable(
        "cluster", "Cluster", f"label_values({series}, cluster)",
        "Clusters, from the `cluster` label each cluster's Prometheus adds (external label or "
        "relabelling); empty with a single cluster.")


def pipeline_variables(with_step: bool = True) -> list[builders.QueryVariable]:
    """cluster → namespace → pipeline (→ step), each chained on the ones before it.

    Namespaces and pipelines come from the run counter and from the recent-runs and
    last-success gauges: after an exporter restart the counter starts empty (finished runs are
    not replayed into it) while the gauges still list the pipelines.
    """
    series = ('__name__=~"argoscope_workflow_runs_total|argoscope_workflow_run_info'
              '|argoscope_workflow_last_success_timestamp_seconds"')
    variables = [
        cluster_variable(f"{{{series}}}"),
        query_variable(
            "namespace", "Namespace",
            f"label_values({{{series}, {CLUSTER}}}, namespace)",
            "Kubernetes namespaces that run argoscope pipelines."),
        query_variable(
            "pipeline", "Pipeline",
            f"label_values({{{series}, {NAMESPACE}}}, pipeline)",
            "Pipelines (WorkflowTemplate, CronWorkflow or generateName) in the namespaces."),
    ]
    if with_step:
        variables.append(query_variable(
            "step", "Step",
            f"label_values(argoscope_step_runs_total{{{PIPELINE}}}, step)",
            "DAG tasks or steps of the selected pipelines."))
    return variables


def dashboard_links() -> list[cogbuilder.Builder[models.DashboardLink]]:
    """A dropdown of every argoscope dashboard, keeping the time range and the variables."""
    return [
        builders.DashboardLink("argoscope dashboards")
        .type(models.DashboardLinkType.DASHBOARDS)
        .tags([TAG])
        .as_dropdown(True)
        .include_vars(True)
        .keep_time(True)
    ]


def dashboard_url(uid: str, *variables: str) -> str:
    """A link to another argoscope dashboard carrying the datasource, time range and variables.

    `variables` are `name=value` pairs (the value may use Grafana data-link macros); without
    them, the current values of namespace, pipeline and step are passed on. The current
    clusters are always passed on.
    """
    params = ["${datasource:queryparam}", "${__url_time_range}", "${cluster:queryparam}"]
    if variables:
        params.extend(f"var-{pair}" for pair in variables)
    else:
        params.extend(["${namespace:queryparam}", "${pipeline:queryparam}"])
        if uid not in WITHOUT_STEP:
            params.append("${step:queryparam}")
    return f"/d/{uid}?" + "&".join(params)


def data_link(title: str, uid: str, *variables: str) -> builders.DashboardLink:
    """A data link (click on a value) to another argoscope dashboard."""
    return builders.DashboardLink(title).url(dashboard_url(uid, *variables))


def panel_link(title: str, uid: str) -> builders.DashboardLink:
    """A panel header link to another argoscope dashboard with the current variables."""
    return builders.DashboardLink(title).url(dashboard_url(uid))


def cluster_legend(legend: str) -> str:
    """A legend that names the series' cluster first (nothing where the label is absent)."""
    return "{{cluster}} " + legend


def target(expr: str, legend: str = "", ref_id: str = "A") -> prometheus.Dataquery:
    """A range query on the templated datasource; the legend is prefixed with the cluster."""
    query = prometheus.Dataquery().expr(expr).ref_id(ref_id).datasource(DATASOURCE).range()
    return query.legend_format(cluster_legend(legend)) if legend else query


def instant_table_target(expr: str, ref_id: str = "A") -> prometheus.Dataquery:
    """An instant query returning a table (one row per series), on the templated datasource."""
    return (
        prometheus.Dataquery().expr(expr).ref_id(ref_id).datasource(DATASOURCE)
        .instant().format(prometheus_models.PromQueryFormat.TABLE)
    )


def _legend() -> common_builders.VizLegendOptions:
    return (
        common_builders.VizLegendOptions()
        .show_legend(True)
        .display_mode(common.LegendDisplayMode.TABLE)
        .placement(common.LegendPlacement.BOTTOM)
        .calcs(["lastNotNull", "max"])
    )


def _reduce_last() -> common_builders.ReduceDataOptions:
    return common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False)


@dataclass
class Layout:
    """Panels in order, numbered; the SDK places them left to right in rows of 24 units.

    Callers keep each line's widths summing to 24, so that lines wrap where intended.
    """

    panels: list[Panel | builders.Row] = field(default_factory=list)
    _next_id: int = 1

    def row(self, title: str) -> None:
        """Start a new titled row."""
        self.panels.append(builders.Row(title).id(self._take_id()))

    def add(self, panel: timeseries.Panel | stat.Panel | table.Panel | bargauge.Panel,
            width: int, height: int) -> None:
        """Add a panel of the given size."""
        self.panels.append(panel.id(self._take_id()).span(width).height(height))

    def _take_id(self) -> int:
        taken = self._next_id
        self._next_id += 1
        return taken


def timeseries_panel(title: str, description: str, unit: str,
                     *targets: prometheus.Dataquery) -> timeseries.Panel:
    """A time series panel with a table legend."""
    panel = (
        timeseries.Panel().title(title).description(description).unit(unit)
        .datasource(DATASOURCE).legend(_legend())
        .tooltip(common_builders.VizTooltipOptions()
                 .mode(common.TooltipDisplayMode.MULTI).sort(common.SortOrder.DESCENDING))
        .fill_opacity(10).line_width(1).show_points(common.VisibilityMode.NEVER)
    )
    for query in targets:
        panel.with_target(query)
    return panel


def stat_panel(title: str, description: str, unit: str, expr: str) -> stat.Panel:
    """A single-value panel showing the last value of an instant query (one per cluster)."""
    query = (prometheus.Dataquery().expr(expr).ref_id("A").datasource(DATASOURCE).instant()
             .legend_format("{{cluster}}"))
    return (
        stat.Panel().title(title).description(description).unit(unit)
        .datasource(DATASOURCE).with_target(query)
        .reduce_options(_reduce_last())
        .graph_mode(common.BigValueGraphMode.NONE)
        .color_mode(common.BigValueColorMode.VALUE)
    )


def bargauge_panel(title: str, description: str, unit: str, expr: str,
                   legend: str) -> bargauge.Panel:
    """Horizontal bars, one per series, of an instant query's last value."""
    query = (prometheus.Dataquery().expr(expr).ref_id("A").datasource(DATASOURCE)
             .instant().legend_format(cluster_legend(legend)))
    return (
        bargauge.Panel().title(title).description(description).unit(unit)
        .datasource(DATASOURCE).with_target(query)
        .reduce_options(_reduce_last())
        .orientation(common.VizOrientation.HORIZONTAL)
        .display_mode(common.BarGaugeDisplayMode.GRADIENT)
    )


def table_panel(title: str, description: str, unit: str,
                *targets: prometheus.Dataquery) -> table.Panel:
    """A table of instant queries, merged on their labels when there are several."""
    panel = (
        table.Panel().title(title).description(description).unit(unit)
        .datasource(DATASOURCE)
    )
    for query in targets:
        panel.with_target(query)
    if len(targets) > 1:
        panel.with_transformation(models.DataTransformerConfig(id_val="merge", options={}))
    return panel


def thresholds(*steps: tuple[float | None, str]) -> builders.ThresholdsConfig:
    """Absolute thresholds from (value, color) pairs; the first value is None (the base)."""
    return (
        builders.ThresholdsConfig().mode(models.ThresholdsMode.ABSOLUTE)
        .steps([models.Threshold(value=value, color=color) for value, color in steps])
    )


def rename_columns(renames: dict[str, str],
                   hide: tuple[str, ...] = ("Time",)) -> models.DataTransformerConfig:
    """An `organize` transformation: rename table columns and hide the listed ones."""
    return models.DataTransformerConfig(
        id_val="organize",
        options={"renameByName": renames, "excludeByName": {name: True for name in hide}},
    )


def builtin_annotations() -> builders.AnnotationQuery:
    """Grafana's own "Annotations & Alerts" (manual annotations and alert state changes).

    Written out because Grafana reads `annotations.list` and adds this entry on load; an
    explicit list keeps the committed JSON what Grafana shows and saves.
    """
    return (
        builders.AnnotationQuery()
        .name("Annotations & Alerts")
        .datasource(models.DataSourceRef(type_val="grafana", uid="-- Grafana --"))
        .built_in(1).enable(True).hide(True).icon_color("rgba(0, 211, 255, 1)")
        .type("dashboard")
    )


def new_dashboard(uid: str, title: str, description: str, extra_tags: list[str],
                  variables: list[builders.QueryVariable], layout: Layout) -> builders.Dashboard:
    """A read-only dashboard with the shared tags, variables, links and the laid-out panels."""
    board = (
        builders.Dashboard(title).uid(uid).description(description)
        .tags([TAG, *extra_tags]).readonly()
        .time("now-24h", "now").refresh("1m").timezone("browser")
        .tooltip(models.DashboardCursorSync.CROSSHAIR)
        .with_variable(datasource_variable())
        .links(dashboard_links())
        .annotation(builtin_annotations())
    )
    for variable in variables:
        board.with_variable(variable)
    for panel in layout.panels:
        if isinstance(panel, builders.Row):
            board.with_row(panel)
        else:
            board.with_panel(panel)
    return board
