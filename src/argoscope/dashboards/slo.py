"""Service level objectives: error budget left, burn rates and events per window, per SLO.

Reads only the series `argoscope slo generate` records (`argoscope_slo:*`, with `slo`,
`cluster`, `namespace` and `pipeline` labels), so it shows whatever SLOs the loaded rule
files define.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as builders

from argoscope.dashboards import _common as common
from argoscope.slo import records
from argoscope.slo.windows import CONDITIONS, alert_windows, window_name

IDENTITY = common.Identity(common.SLO_UID, "argoscope / Service level objectives", ("slo",), (
    "Error budgets and burn rates of the pipelines' SLOs (argoscope slo generate)."))

SLO = common.matchers("cluster", "namespace", "pipeline", "slo")
BY = "cluster, namespace, pipeline, slo"
BUDGET = f"{records.BUDGET_REMAINING}{{{SLO}}}"
OBJECTIVE = f"{records.OBJECTIVE}{{{SLO}}}"


def _burn_rate(window_s: int) -> str:
    """The error ratio over a window divided by the budget (1 - objective)."""
    ratio = f"{records.error_ratio(window_s)}{{{SLO}}}"
    return f"max by ({BY}) ({ratio}) / on ({BY}) (1 - max by ({BY}) ({OBJECTIVE}))"


def _variables() -> list[builders.QueryVariable]:
    return common.variable_chain(
        records.BUDGET_REMAINING,
        common.Level("namespace", "Namespace", "Namespaces of the pipelines that have SLOs."),
        common.Level("pipeline", "Pipeline", "Pipelines that have SLOs."),
        common.Level("slo", "SLO", "SLOs, by the name their spec gives them."))


def build() -> builders.Dashboard:
    """The SLO dashboard."""
    layout = common.Layout()
    layout.row("Error budget")
    layout.add(common.bargauge_panel(
        "Error budget left",
        "Share of each SLO's error budget left over its window (1 - error ratio / (1 - "
        "objective)); below zero the budget is overspent.",
        "percentunit", f"sort(max by ({BY}) ({BUDGET}))", "{{slo}}",
    ).thresholds(common.thresholds((None, "red"), (0.25, "orange"), (0.5, "green"))), 12, 8)
    layout.add(common.table_panel(
        "Objectives",
        "Each SLO's objective (share of good events or slices) and its budget left now.",
        "percentunit",
        common.instant_table_target(f"max by ({BY}) ({OBJECTIVE})", "A"),
        common.instant_table_target(f"max by ({BY}) ({BUDGET})", "B"),
    ).with_transformation(common.rename_columns({"Value #A": "Objective", "Value #B": "Budget left"})),
        12, 8)
    layout.add(common.timeseries_panel(
        "Error budget left over time",
        "How each SLO's budget was spent and recovered.",
        "percentunit", common.target(f"max by ({BY}) ({BUDGET})", "{{slo}}")), 24, 8)

    layout.row("Burn rates")
    for severity, title in (("critical", "page"), ("warning", "ticket")):
        conditions = [c for c in CONDITIONS if c.severity == severity]
        windows = sorted({w for c in conditions for w in (c.long_s, c.short_s)})
        layout.add(common.timeseries_panel(
            f"Burn rate over the {title} windows",
            f"Error ratio over each window divided by the error budget (1 = spending exactly "
            f"the budget over the SLO window). ArgoscopeErrorBudgetBurn {severity} fires when "
            "both windows of a pair are above the pair's factor ("
            + ", ".join(f"{c.reference_factor:g}x over {window_name(c.long_s)} and "
                        f"{window_name(c.short_s)}" for c in conditions)
            + " for a 30-day window, scaled to the SLO's).",
            "short",
            *[common.target(_burn_rate(w), f"{{{{slo}}}} {window_name(w)}", chr(ord("A") + i))
              for i, w in enumerate(windows)]), 12, 8)

    layout.row("Events")
    windows = alert_windows()
    layout.add(common.table_panel(
        "Events per window",
        "Events each SLO counted within each alert window (runs, step attempts, check "
        "results, or slices of time). A page needs at least the SLO's min_events within the "
        "long window (1h or 6h): rarely running pipelines can only open a ticket.",
        "short",
        *[common.instant_table_target(f"max by ({BY}) ({records.events(w)}{{{SLO}}})",
                               chr(ord("A") + i)) for i, w in enumerate(windows)],
    ).with_transformation(common.rename_columns(
        {f"Value #{chr(ord('A') + i)}": window_name(w) for i, w in enumerate(windows)})), 24, 8)
    layout.add(common.timeseries_panel(
        "Bad events per window",
        "Bad events (failed runs, slow attempts, failed checks, stale slices) within the 1h "
        "and 1d windows.",
        "short",
        common.target(f"max by ({BY}) ({records.errors(3600)}{{{SLO}}})", "{{slo}} 1h", "A"),
        common.target(f"max by ({BY}) ({records.errors(86400)}{{{SLO}}})", "{{slo}} 1d", "B"),
    ), 24, 8)

    return common.new_dashboard(IDENTITY, _variables(), layout)
