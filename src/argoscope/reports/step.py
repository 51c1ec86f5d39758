"""The step report: one self-contained HTML page with a step's checks.

Expectations as a table, each drift check with its share of drifted features against the
threshold and, per feature, the method, score, threshold and verdict with the reference and
current distributions drawn over each other (drifted features first), and gates as value
against threshold. :class:`argoscope.checks.Checks` writes it when asked (``report=`` or
``$ARGOSCOPE_REPORT_PATH``); the run report embeds its checks section.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from argoscope import __version__
from argoscope.checks.identity import RunIdentity
from argoscope.checks.results import STATUSES, CheckResult
from argoscope.reports.aggregates import Distribution
from argoscope.reports.render import markup, render, require, write_page

# Charts beyond this many features per drift check stay in the table only (page size).
MAX_FIGURES = 60


@dataclass
class ChecksView:
    """What the checks section shows, grouped by kind (result entries as plain dicts)."""

    expectations: list[dict[str, Any]] = field(default_factory=list)
    drifts: list[dict[str, Any]] = field(default_factory=list)
    gates: list[dict[str, Any]] = field(default_factory=list)
    others: list[dict[str, Any]] = field(default_factory=list)
    counts: list[tuple[str, int]] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Number of checks shown."""
        return len(self.expectations) + len(self.drifts) + len(self.gates) + len(self.others)


def _entry(result: CheckResult | Mapping[str, Any]) -> dict[str, Any]:
    entry = result.to_dict() if isinstance(result, CheckResult) else dict(result)
    entry["details"] = {"element_count": None, "missing_count": None,
                        "unexpected_count": None, "unexpected_percent": None,
                        **(entry.get("details") or {})}
    for key in ("value", "threshold", "message", "op", "severity"):
        entry.setdefault(key, None)
    return entry


def checks_view(results: Sequence[CheckResult | Mapping[str, Any]],
                distributions: Mapping[str, Sequence[Distribution]] | None = None,
                *, charts: bool = True) -> ChecksView:
    """Group results for the page; drift checks get their features, drifted first, and a
    chart per feature whose distributions were captured."""
    from argoscope.reports.charts import distribution_svg

    view = ChecksView()
    statuses: dict[str, int] = {}
    for result in results:
        entry = _entry(result)
        status = str(entry.get("status", "unknown"))
        statuses[status] = statuses.get(status, 0) + 1
        kind = entry.get("kind")
        if kind == "expectation":
            view.expectations.append(entry)
        elif kind == "gate":
            view.gates.append(entry)
        elif kind == "drift":
            features = sorted(entry.get("features") or [],
                              key=lambda f: (not f.get("drifted"), str(f.get("feature"))))
            by_feature = {f.get("feature"): f for f in features}
            captured = {d.feature: d for d in (distributions or {}).get(str(entry["check"]), [])}
            figures = []
            ordered = [str(f.get("feature")) for f in features] or list(captured)
            for name in ordered:
                distribution = captured.get(name)
                if distribution is None or not charts:
                    continue
                feature = by_feature.get(name, {})
                figures.append({
                    "feature": name, "drifted": bool(feature.get("drifted")),
                    "method": feature.get("method"), "score": feature.get("score"),
                    "threshold": feature.get("threshold"),
                    "svg": markup(distribution_svg(distribution)),
                    "reference": distribution.reference_summary.to_dict(),
                    "current": distribution.current_summary.to_dict(),
                    "sampled": distribution.sampled})
            sampled = max((f["sampled"] or 0 for f in figures), default=0)
            view.drifts.append({"result": entry, "features": features,
                                "figures": figures[:MAX_FIGURES],
                                "figures_dropped": max(0, len(figures) - MAX_FIGURES),
                                "sampled": sampled or None})
        else:
            view.others.append(entry)
    view.counts = [(s, statuses[s]) for s in (*STATUSES, *sorted(set(statuses) - set(STATUSES)))
                   if s in statuses]
    return view


def render_step_report(results: Sequence[CheckResult | Mapping[str, Any]],
                       distributions: Mapping[str, Sequence[Distribution]] | None = None,
                       identity: RunIdentity | None = None) -> str:
    """The step report page as HTML text."""
    require()
    who = identity or RunIdentity.from_env({})
    return render("step.html.j2", view=checks_view(results, distributions), step=who.step,
                  workflow=who.workflow, namespace=who.namespace, node_id=who.node_id,
                  written=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
                  version=__version__)


def write_step_report(path: str | Path, results: Sequence[CheckResult | Mapping[str, Any]],
                      distributions: Mapping[str, Sequence[Distribution]] | None = None,
                      identity: RunIdentity | None = None) -> Path:
    """Write the step report for `results` to `path`; returns the path.

    Raises ReportsUnavailable when the `reports` extra is missing and OSError when the file
    cannot be written; :class:`argoscope.checks.Checks` catches both (a report never fails
    a step).
    """
    return write_page(Path(path), render_step_report(results, distributions, identity))
