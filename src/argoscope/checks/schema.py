"""The `argoscope.checks/v1` document's contract, in one place (see DESIGN.md).

The check library writes documents with these values and the exporter reads them back, so
both import them from here. Nothing heavy is imported: the exporter runs without pandas.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["PARAMETER", "SCHEMA", "SEVERITIES", "STATUSES", "Severity", "Status"]

SCHEMA = "argoscope.checks/v1"
# The output parameter a step declares, through which Argo hands the document to the exporter.
PARAMETER = "argoscope-checks"
Status = Literal["passed", "warning", "failed", "error"]
Severity = Literal["critical", "warning"]
STATUSES: tuple[Status, ...] = get_args(Status)
SEVERITIES: tuple[Severity, ...] = get_args(Severity)
