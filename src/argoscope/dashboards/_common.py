"""Building blocks every argoscope dashboard shares: the datasource, variables, links, panels.

Each dashboard module composes these so that the conventions (a templated Prometheus
datasource on every panel and query, chained cluster / namespace / pipeline / step variables, a
unit and a description on every panel, cross-links that keep the variables) hold by
construction. The dashboards share one set of blocks rather than repeating them: the variable
chains (`variable_chain`, `pipeline_variables`), the scopes and selectors (`matchers`,
`selector`, `STEP`, ...), the PromQL idioms (`total_over_range`, `rate_by`, `quantile_by`),
the summary rows (`Layout.stats`, `count_stat`), the colour schemes and each dashboard's
`Identity`; `duplicates` finds no repeated block across the dashboard modules.

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


def matchers(*variables: str) -> str:
    """The label matchers the named variables feed (`cluster=~"$cluster", ...`); `=~` because
    the variables are multi-value."""
    return ", ".join(f'{name}=~"${name}"' for name in variables)


# The scopes every pipeline dashboard filters by, from the chained variables.
CLUSTER = matchers("cluster")
NAMESPACE = matchers("cluster", "namespace")
PIPELINE = matchers("cluster", "namespace", "pipeline")
STEP = matchers("cluster", "namespace", "pipeline", "step")
# Runs and step attempts that failed, whichever way.
FAILED_PHASES = 'phase=~"Failed|Error"'
# The series pipelines are listed from: the run counter and the recent-runs and last-success
# gauges (after an exporter restart the counter starts empty, finished runs are not replayed
# into it, while the gauges still list the pipelines).
PIPELINE_SERIES = ('{__name__=~"argoscope_workflow_runs_total|argoscope_workflow_run_info'
                   '|argoscope_workflow_last_success_timestamp_seconds"}')

Panel = cogbuilder.Builder[models.Panel]


def selector(series: str, scope: str, *more: str) -> str:
    """`series` (a metric name, or a `{...}` selector) filtered by `scope` and `more` matchers."""
    inner = ", ".join(part for part in (scope, *more) if part)
    if series.endswith("}"):
        return f"{series[:-1]}, {inner}}}"
    return f"{series}{{{inner}}}"


def increase_over_range(selector: str) -> str:
    """How much a counter (or histogram bucket) series grew over the dashboard's time range.

    The exporter creates a counter series at its first event, already at 1, and increase()
    cannot see the step from "no series" to 1: a pipeline that runs a few times a day would
    show too few runs. So, as the recording rules do, a series that did not exist when the
    range began counts at its full value, and increase() (which also handles an exporter
    restart's reset) counts every older one.
    """
    return f"(({selector} unless {selector} offset $__range) or increase({selector}[$__range]))"


def total_over_range(series: str, by: str = "cluster") -> str:
    """What the counters of `series` (a selector) grew by over the time range, summed `by`."""
    return f"sum by ({by}) ({increase_over_range(series)})"


def rate_by(series: str, by: str) -> str:
    """The per-second rate of the counters of `series` in each interval, summed `by`."""
    return f"sum by ({by}) (rate({series}[$__rate_interval]))"


def quantile_by(quantile: float, series: str, by: str) -> str:
    """A quantile of the histogram `series` (its buckets) over each interval, per `by`."""
    return f"histogram_quantile({quantile}, sum by ({by}, le) (rate({series}[$__rate_interval])))"


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


@dataclass(frozen=True)
class Level:
    """One variable of a chain: its name, label and description, and the series its values
    come from when not the chain's."""

    name: str
    label: str
    description: str
    series: str | None = None


def variable_chain(series: str, *levels: Level) -> list[builders.QueryVariable]:
    """cluster → levels, each variable's values the label values of the series filtered by
    the variables before it."""
    variables = [cluster_variable(series)]
    before = ["cluster"]
    for level in levels:
        source = selector(level.series or series, matchers(*before))
        variables.append(query_variable(level.name, level.label,
                                        f"label_values({source}, {level.name})",
                                        level.description))
        before.append(level.name)
    return variables


def pipeline_variables(with_step: bool = True) -> list[builders.QueryVariable]:
    """cluster → namespace → pipeline (→ step), listed from `PIPELINE_SERIES`."""
    levels = [
        Level("namespace", "Namespace", "Kubernetes namespaces that run argoscope pipelines."),
        Level("pipeline", "Pipeline",
              "Pipelines (WorkflowTemplate, CronWorkflow or generateName) in the namespaces."),
    ]
    if with_step:
        levels.append(Level("step", "Step", "DAG tasks or steps of the selected pipelines.",
                            series="argoscope_step_runs_total"))
    return variable_chain(PIPELINE_SERIES, *levels)


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


# Data links from a table row (`__data.fields`) or a series (`__field.labels`) to its pipeline.
TO_PIPELINE_ROW = ("namespace=${__data.fields.namespace}", "pipeline=${__data.fields.pipeline}")
TO_PIPELINE_SERIES = ("namespace=${__field.labels.namespace}",
                      "pipeline=${__field.labels.pipeline}")


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

    def stats(self, title: str, *panels: stat.Panel) -> None:
        """Start a titled row of single-value panels, four to a line (6 wide, 4 high)."""
        self.row(title)
        for panel in panels:
            self.add(panel, 6, 4)

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


def _last_value_query(expr: str, legend: str) -> prometheus.Dataquery:
    """An instant query whose last value a single-value or bar panel shows."""
    return (prometheus.Dataquery().expr(expr).ref_id("A").datasource(DATASOURCE).instant()
            .legend_format(legend))


def stat_panel(title: str, description: str, unit: str, expr: str) -> stat.Panel:
    """A single-value panel showing the last value of an instant query (one per cluster)."""
    return (
        stat.Panel().title(title).description(description).unit(unit).datasource(DATASOURCE)
        .with_target(_last_value_query(expr, "{{cluster}}")).reduce_options(_reduce_last())
        .graph_mode(common.BigValueGraphMode.NONE).color_mode(common.BigValueColorMode.VALUE)
    )


def count_stat(title: str, description: str, series: str,
               alarm: str | None = None) -> stat.Panel:
    """How many of `series` (a counter selector) over the selected time range, per cluster;
    with `alarm`, green at zero and that color from one."""
    panel = stat_panel(title, description, "short", total_over_range(series))
    return panel.thresholds(any_is(alarm)) if alarm else panel


def bargauge_panel(title: str, description: str, unit: str, expr: str,
                   legend: str) -> bargauge.Panel:
    """Horizontal bars, one per series, of an instant query's last value."""
    return (
        bargauge.Panel().title(title).description(description).unit(unit).datasource(DATASOURCE)
        .with_target(_last_value_query(expr, cluster_legend(legend)))
        .reduce_options(_reduce_last()).orientation(common.VizOrientation.HORIZONTAL)
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


def any_is(color: str) -> builders.ThresholdsConfig:
    """Green at zero, `color` from one: a count of what should not happen."""
    return thresholds((None, "green"), (1, color))


def share_colors(orange: float, green: float) -> builders.ThresholdsConfig:
    """Red below `orange`, orange below `green`, green above: a share that should be high."""
    return thresholds((None, "red"), (orange, "orange"), (green, "green"))


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


@dataclass(frozen=True)
class Identity:
    """What a dashboard is: its uid (links and provisioning refer to it), title, the tags it
    adds to `argoscope`, and description."""

    uid: str
    title: str
    tags: tuple[str, ...]
    description: str


def new_dashboard(identity: Identity, variables: list[builders.QueryVariable],
                  layout: Layout) -> builders.Dashboard:
    """A read-only dashboard with the shared tags, variables, links and the laid-out panels."""
    board = (
        builders.Dashboard(identity.title).uid(identity.uid).description(identity.description)
        .tags([TAG, *identity.tags]).readonly()
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
