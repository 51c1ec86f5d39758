"""Prometheus rules for SLOs: one rule group per SLO, rendered as a rule file.

Each group records, for every window an alert reads (5m ... 3d) and for the SLO window, the
SLI's events, its bad events and their ratio; then the objective and the error budget left
over the SLO window; then `ArgoscopeErrorBudgetBurn`, once per severity:

- critical (page): the budget burns `factor` x faster than sustainable over 1h and 5m, or
  over 6h and 30m, *and* the long window holds at least `min_events` events. A pipeline
  that runs a few times a day never has that many in an hour, so one failed run cannot page
  (PipelineRunFailed already tells of it); it can still open a ticket;
- warning (ticket): the same over 1d and 2h, or 3d and 6h, whatever the traffic.

Timeslices SLIs (freshness) evaluate once per slice (the group's `interval`), record 1 for a
bad slice and 0 for a good one, and count those samples as their events.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from argoscope.slo import records, sli
from argoscope.slo.model import TIMESLICE_SLIS, Objective
from argoscope.slo.sli import number, quote
from argoscope.slo.windows import CONDITIONS, Condition, window_name, windows_for

GROUP_PREFIX = "argoscope.slo."
RUNBOOK_URL = "https://github.com/argoscope/argoscope/blob/main/docs/runbooks/{alert}.md"
DASHBOARD_UID = "argoscope-slo"
SUMMARIES = {
    "critical": "An SLO burns its error budget fast enough to page.",
    "warning": "An SLO burns its error budget faster than it can sustain.",
}


def _select(name: str, objective: Objective) -> str:
    return f"{name}{{slo={quote(objective.name)}}}"


def _window_rules(objective: Objective, window_s: int) -> list[dict[str, Any]]:
    events_name, errors_name = records.events(window_s), records.errors(window_s)
    if isinstance(objective.sli, TIMESLICE_SLIS):
        slices = f"{_select(records.TIMESLICE_ERROR, objective)}[{window_name(window_s)}]"
        events, errors = f"count_over_time({slices})", f"sum_over_time({slices})"
    else:
        events = sli.events(objective, window_s)
        errors = sli.errors(objective, window_s, sli.recorded_events(objective, window_s))
    ratio = (f"{_select(errors_name, objective)}\n/\n"
             f"({_select(events_name, objective)} > 0)")
    return [{"record": events_name, "expr": events},
            {"record": errors_name, "expr": errors},
            {"record": records.error_ratio(window_s), "expr": ratio}]


def _condition(objective: Objective, condition: Condition) -> str:
    budget = number(1 - objective.objective)
    factor = number(condition.factor(objective.window_s))
    long_ratio = _select(records.error_ratio(condition.long_s), objective)
    short_ratio = _select(records.error_ratio(condition.short_s), objective)
    parts = [f"{long_ratio} / {budget} > {factor}", f"{short_ratio} / {budget} > {factor}"]
    if condition.pages:
        parts.append(f"{_select(records.events(condition.long_s), objective)} "
                     f">= {objective.min_events}")
    return "(\n    " + "\n  and\n    ".join(parts) + "\n)"


def _thresholds(objective: Objective, severity: str) -> str:
    return " or ".join(
        f"{c.factor(objective.window_s):.4g}x over {window_name(c.long_s)} and "
        f"{window_name(c.short_s)}" for c in CONDITIONS if c.severity == severity)


def _budget_left(objective: Objective) -> str:
    """A template that queries the budget left of the alert's own series."""
    query = (f'printf "{records.BUDGET_REMAINING}{{slo=%q,cluster=%q,namespace=%q,pipeline=%q}}" '
             f'"{objective.name}" $labels.cluster $labels.namespace $labels.pipeline')
    return (f"{{{{ with {query} | query }}}}{{{{ . | first | value | humanizePercentage }}}}"
            "{{ else }}unknown{{ end }}")


def _description(objective: Objective, severity: str) -> str:
    scope = objective.scope
    what = f"SLO {objective.name}"
    if scope is not None:
        what += " (pipeline {{ $labels.pipeline }} in namespace {{ $labels.namespace }})"
    action = "pages" if severity == "critical" else "opens a ticket"
    gate = (f", with at least {objective.min_events} events in the long window"
            if severity == "critical" else "")
    return (f"{what} burns its error budget at {{{{ $value | humanize }}}}x the rate its "
            f"objective ({number(objective.objective * 100)}% over {window_name(objective.window_s)}) "
            f"sustains; it {action} above {_thresholds(objective, severity)}{gate}. "
            f"Error budget left: {_budget_left(objective)}.")


def _alert(objective: Objective, severity: str) -> dict[str, Any]:
    conditions = [_condition(objective, c) for c in CONDITIONS if c.severity == severity]
    return {
        "alert": records.ALERT,
        "expr": "\nor\n".join(conditions),
        "for": "2m" if severity == "critical" else "15m",
        "labels": {"severity": severity, "team": objective.team, "slo": objective.name},
        "annotations": {
            "summary": SUMMARIES[severity],
            "description": _description(objective, severity),
            "value": "{{ $value | humanize }}x",
            "runbook_url": RUNBOOK_URL.format(alert=records.ALERT),
            "dashboard": f"/d/{DASHBOARD_UID}?var-slo={objective.name}",
        },
    }


def group(objective: Objective) -> dict[str, Any]:
    """The rule group of one SLO."""
    rules: list[dict[str, Any]] = []
    if objective.slice_s is not None:
        rules.append({"record": records.TIMESLICE_ERROR, "expr": sli.slice_error(objective)})
    for window_s in windows_for(objective.window_s):
        rules += _window_rules(objective, window_s)
    slo_window = records.error_ratio(objective.window_s)
    rules.append({"record": records.OBJECTIVE,
                  "expr": f"0 * {_select(records.events(objective.window_s), objective)} "
                          f"+ {number(objective.objective)}"})
    rules.append({"record": records.BUDGET_REMAINING,
                  "expr": f"1 - {_select(slo_window, objective)} / {number(1 - objective.objective)}"})
    for rule in rules:
        rule["labels"] = {"slo": objective.name}
    rules += [_alert(objective, severity) for severity in ("critical", "warning")]
    result: dict[str, Any] = {"name": GROUP_PREFIX + objective.name}
    if objective.slice_s is not None:
        # One evaluation per slice: each recorded sample is one slice of time.
        result["interval"] = window_name(objective.slice_s)
    result["rules"] = rules
    return result


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (expressions) as literal blocks, so the file reads like hand-written rules."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value,
                                   style="|" if "\n" in value else None)


_Dumper.add_representer(str, _represent_str)


def render(objectives: Sequence[Objective], sources: Sequence[str]) -> str:
    """The rule file for `objectives`, read from the spec files `sources`."""
    body = yaml.dump({"groups": [group(objective) for objective in objectives]}, Dumper=_Dumper,
                     sort_keys=False, width=1_000_000, allow_unicode=True,
                     default_flow_style=False)
    header = ("# Prometheus rules for service level objectives: error ratios per window, error\n"
              "# budget left, and ArgoscopeErrorBudgetBurn (docs/slo.md).\n"
              f"# Generated by `argoscope slo generate {' '.join(sources)}`: do not edit by hand.\n")
    return header + body
