"""Self-contained HTML reports a person can look at: one per step's checks, one per run.

Rendering needs the `reports` extra (Jinja2 and leather). What a report draws is the check
library's own data, computed and written with the base install (`argoscope.checks.distributions`
and `argoscope.checks.step_document`); the check library never imports this package and finds
the step page's writer by name (`argoscope.checks.report_hook`). Pages hold aggregates only
(bin counts, category shares, summary statistics), never rows; they fetch nothing and need no
JavaScript.
"""

from __future__ import annotations

from argoscope.reports.render import REPORT_PATH_ENV, ReportsUnavailable, report_path_from_env

__all__ = ["REPORT_PATH_ENV", "ReportsUnavailable", "report_path_from_env",
           "write_run_report", "write_step_report"]


def __getattr__(name: str) -> object:
    # The writers import the rendering libraries; load them only when asked for.
    if name == "write_step_report":
        from argoscope.reports.step import write_step_report

        return write_step_report
    if name == "write_run_report":
        from argoscope.reports.run import write_run_report

        return write_run_report
    raise AttributeError(name)
