"""The step report: one self-contained HTML page with a step's checks.

Expectations as a table, each drift check with its share of drifted features against the
threshold and, per feature, the method, score, threshold and verdict with the reference and
current distributions drawn over each other (drifted features first), and gates as value
against threshold. :class:`argoscope.checks.Checks` writes its data document (`report.json`:
the results and distributions) when asked (``report=`` or ``$ARGOSCOPE_REPORT_PATH``) and
finds :func:`write_step_page` by name (`argoscope.checks.report_hook`) to draw the page
beside it; a run report renders that document itself, never the page's markup.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from argoscope import __version__
from argoscope.checks.distributions import Distribution
from argoscope.checks.drift_stattests import TESTS
from argoscope.checks.identity import RunIdentity
from argoscope.checks.results import STATUSES, CheckResult
from argoscope.checks.step_document import write_step_document
from argoscope.local.verdict import Verdict
from argoscope.reports import documents
from argoscope.reports.render import markup, render, require, write_page

# Page bounds (documented in docs/design.md): charts per drift check, feature rows per drift
# check (the most drifted first), expectation rows (groups) per step. Beyond them the page
# says how many more there are; the verdicts still count every one.
MAX_FIGURES = 60
MAX_FEATURE_ROWS = 200
MAX_EXPECTATION_ROWS = 200
_DESCRIBED = re.compile(r"^(?P<type>expect_\w+)\((?P<params>.*)\)(?:: (?P<rest>.*))?$", re.S)
_COLUMN = re.compile(r"""^column=('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")(?:, )?""")
_RULE_WORDS = {"lt": "<", "le": "≤", "gt": ">", "ge": "≥"}


@dataclass
class ChecksView:
    """What the checks section shows, grouped by kind (result entries as plain dicts)."""

    expectations: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    groups_dropped: int = 0
    drifts: list[dict[str, Any]] = field(default_factory=list)
    gates: list[dict[str, Any]] = field(default_factory=list)
    others: list[dict[str, Any]] = field(default_factory=list)
    counts: list[tuple[str, int]] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Number of checks shown."""
        return len(self.expectations) + len(self.drifts) + len(self.gates) + len(self.others)

    @property
    def failed_critical(self) -> int:
        """Critical checks that failed or could not run (they fail a step)."""
        return sum(1 for r in self.all() if r["status"] in ("failed", "error")
                   and r.get("severity") != "warning")

    @property
    def warnings(self) -> int:
        """Checks that warn: warning-severity failures, and `warning` results."""
        return sum(1 for r in self.all() if r["status"] == "warning" or (
            r["status"] in ("failed", "error") and r.get("severity") == "warning"))

    def all(self) -> list[dict[str, Any]]:
        """Every result shown."""
        return [*self.gates, *(d["result"] for d in self.drifts), *self.expectations,
                *self.others]


def _entry(result: CheckResult | Mapping[str, Any]) -> dict[str, Any]:
    raw = result.to_dict() if isinstance(result, CheckResult) else result
    entry = documents.result(raw) or {"check": "?", "kind": "check", "status": "unknown",
                                      "value": None, "threshold": None, "severity": "critical",
                                      "message": "", "op": None, "details": {}}
    entry["details"] = {"element_count": None, "missing_count": None,
                        "unexpected_count": None, "unexpected_percent": None,
                        **entry["details"]}
    return entry


def statistic(method: str | None) -> tuple[str, str]:
    """What a feature's score is ("p-value", "distance", or "score") and the drift rule in
    words ("lower means drift")."""
    test = TESTS.get(method or "")
    if test is None:
        return "score", ""
    return ("p-value", "lower means drift") if test.p_value else ("distance",
                                                                 "higher means drift")


def _drift_strength(feature: Mapping[str, Any]) -> float:
    """How far a feature is into drift: lower is more drifted, whatever the statistic."""
    score, threshold = feature.get("score"), feature.get("threshold")
    if score is None or not threshold:
        return math.inf
    kind, _ = statistic(feature.get("method"))
    if kind == "p-value":
        return float(score) / float(threshold)
    return float(threshold) / float(score) if score else math.inf


def _features(entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A drift check's features, the most drifted first, each with its statistic named."""
    features = []
    for feature in entry.get("features") or []:
        kind, meaning = statistic(feature.get("method"))
        test = TESTS.get(feature.get("method") or "")
        rule = f"{kind} {_RULE_WORDS.get(test.rule, '?')} threshold" if test else ""
        features.append({**feature, "statistic": kind, "meaning": meaning, "rule": rule})
    features.sort(key=lambda f: (not f.get("drifted"), _drift_strength(f), str(f["feature"])))
    return features


def _group_expectations(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Expectations that differ only in their column, as one row (Data Docs' long lists of
    near-identical rows, folded): the type, the shared parameters and the columns."""
    groups: dict[tuple[str, ...], dict[str, Any]] = {}
    for entry in entries:
        found = _DESCRIBED.match(entry.get("message") or "")
        if found:
            kind, params = found["type"], found["params"]
            column = _COLUMN.match(params)
            shared = params[column.end():] if column else params
            name = column.group(1)[1:-1] if column else None
        else:
            kind, shared, name = (entry.get("message") or entry["check"]), "", None
        key = (kind, shared, entry["status"], str(entry.get("severity")),
               str(entry.get("threshold")))
        group = groups.setdefault(key, {
            "type": kind, "params": shared, "status": entry["status"],
            "severity": entry.get("severity"), "threshold": entry.get("threshold"),
            "columns": [], "checks": [], "entries": []})
        group["columns"].append(name if name is not None else entry["check"])
        group["checks"].append(entry["check"])
        group["entries"].append(entry)
    shown = []
    for group in groups.values():
        details = [e["details"] for e in group["entries"]]
        percents = [d["unexpected_percent"] for d in details if d["unexpected_percent"] is not None]
        counts = {d["element_count"] for d in details if d["element_count"] is not None}
        worst = max(group["entries"], key=lambda e: e["details"]["unexpected_percent"] or 0.0)
        group.update(
            count=len(group["entries"]), worst=max(percents) if percents else None,
            worst_column=(group["columns"][group["entries"].index(worst)] if percents else None),
            rows=counts.pop() if len(counts) == 1 else None,
            unexpected=sum(d["unexpected_count"] or 0 for d in details),
            value=group["entries"][0]["value"] if len(group["entries"]) == 1 else None)
        shown.append(group)
    order = {"error": 0, "failed": 1, "warning": 2, "passed": 3}
    shown.sort(key=lambda g: (order.get(g["status"], 4), -g["count"]))
    return shown


def checks_view(results: Sequence[CheckResult | Mapping[str, Any]],
                distributions: Mapping[str, Sequence[Distribution]] | None = None,
                *, charts: bool = True) -> ChecksView:
    """Group results for the page: gates, drift checks (their features the most drifted first,
    with a chart per feature whose distributions were captured), expectations grouped."""
    from argoscope.reports.charts import distribution_svg

    view = ChecksView()
    statuses: dict[str, int] = {}
    for result in results:
        entry = _entry(result)
        status = str(entry["status"])
        statuses[status] = statuses.get(status, 0) + 1
        kind = entry.get("kind")
        if kind == "expectation":
            view.expectations.append(entry)
        elif kind == "gate":
            view.gates.append(entry)
        elif kind == "drift":
            features = _features(entry)
            by_feature = {f["feature"]: f for f in features}
            captured = {d.feature: d for d in (distributions or {}).get(str(entry["check"]), [])}
            figures: list[dict[str, Any]] = []
            ordered = [str(f["feature"]) for f in features] or list(captured)
            for name in ordered:
                distribution = captured.get(name)
                if distribution is None or not charts or len(figures) >= MAX_FIGURES:
                    continue
                feature = by_feature.get(name, {})
                figures.append({
                    "feature": name, "drifted": bool(feature.get("drifted")),
                    "method": feature.get("method"), "score": feature.get("score"),
                    "threshold": feature.get("threshold"),
                    "statistic": feature.get("statistic", "score"),
                    "svg": markup(distribution_svg(distribution)),
                    "reference": distribution.reference_summary.to_dict(),
                    "current": distribution.current_summary.to_dict(),
                    "sampled": distribution.sampled})
            with_charts = sum(1 for name in ordered if name in captured)
            sampled = max((f["sampled"] or 0 for f in figures), default=0)
            moved = [f for f in features if f.get("drifted")]
            stable = [f for f in features if not f.get("drifted")]
            view.drifts.append({
                "result": entry, "moved": moved[:MAX_FEATURE_ROWS],
                "stable": stable[:max(0, MAX_FEATURE_ROWS - len(moved))],
                "rows_dropped": max(0, len(features) - MAX_FEATURE_ROWS)
                + int(entry.get("features_dropped") or 0),
                "statistics": sorted({f["statistic"] for f in features}),
                "figures": figures, "figures_dropped": max(0, with_charts - len(figures)),
                "sampled": sampled or None})
        else:
            view.others.append(entry)
    grouped = _group_expectations(view.expectations)
    view.groups = grouped[:MAX_EXPECTATION_ROWS]
    view.groups_dropped = max(0, len(grouped) - MAX_EXPECTATION_ROWS)
    view.counts = [(s, statuses[s]) for s in (*STATUSES, *sorted(set(statuses) - set(STATUSES)))
                   if s in statuses]
    return view


def render_step_report(results: Sequence[CheckResult | Mapping[str, Any]],
                       distributions: Mapping[str, Sequence[Distribution]] | None = None,
                       identity: RunIdentity | None = None) -> str:
    """The step report page as HTML text."""
    require()
    who = identity or RunIdentity.from_env({})
    view = checks_view(results, distributions)
    counted = Verdict.of("passed", ((str(r["status"]), str(r.get("severity")))
                                    for r in view.all()))
    label = "failed" if counted.failed else "warning" if counted.warnings else "passed"
    return render("step.html.j2", view=view, step=who.step,
                  verdict=Verdict(label, counted.checks, counted.failed, counted.warnings),
                  workflow=who.workflow, namespace=who.namespace, node_id=who.node_id,
                  written=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
                  version=__version__)


def write_step_page(path: Path, results: Sequence[CheckResult | Mapping[str, Any]],
                    distributions: Mapping[str, Sequence[Distribution]],
                    identity: RunIdentity) -> Path:
    """Write the step report page for `results` to `path`; returns its path.

    The check library's page writer (`argoscope.checks.report_hook.PAGE_WRITER` names it):
    raises ReportsUnavailable when the `reports` extra is missing and OSError when the page
    cannot be written.
    """
    return write_page(path, render_step_report(results, distributions, identity))


def write_step_report(path: str | Path, results: Sequence[CheckResult | Mapping[str, Any]],
                      distributions: Mapping[str, Sequence[Distribution]] | None = None,
                      identity: RunIdentity | None = None) -> Path:
    """Write the step report's data document (results and distributions, `report.json`,
    which a run report reads instead of the page) and the page for `results` at `path`;
    returns the page's path.

    Raises ReportsUnavailable when the `reports` extra is missing (the data document is
    written all the same) and OSError when a file cannot be written.
    """
    page = Path(path)
    write_step_document(page, results, distributions)
    return write_step_page(page, results, distributions or {},
                           identity or RunIdentity.from_env({}))
