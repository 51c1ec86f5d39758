"""The `argoscope.checks/v1` document's contract, in one place (see DESIGN.md).

The check library writes documents with these values and the exporter reads them back, so
both import them from here. Nothing heavy is imported: the exporter runs without pandas.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args

__all__ = ["PARAMETER", "SCHEMA", "SEVERITIES", "STATUSES", "Severity", "Status", "well_typed"]

SCHEMA = "argoscope.checks/v1"
# The output parameter a step declares, through which Argo hands the document to the exporter.
PARAMETER = "argoscope-checks"
Status = Literal["passed", "warning", "failed", "error"]
Severity = Literal["critical", "warning"]
STATUSES: tuple[Status, ...] = get_args(Status)
SEVERITIES: tuple[Severity, ...] = get_args(Severity)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if number == number and abs(number) != float("inf") else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def well_typed(entry: Mapping[str, Any]) -> dict[str, Any]:
    """One result of a document with every field of the type this contract gives it: a field
    of another type is dropped (a number field becomes null), an unknown status is `error`,
    so a reader renders what a step wrote, never crashes on it."""
    status = entry.get("status")
    features = entry.get("features")
    details = entry.get("details")
    clean: dict[str, Any] = {
        "check": _text(entry.get("check")) or "?", "kind": _text(entry.get("kind")) or "check",
        "status": status if status in STATUSES else "error",
        "value": _number(entry.get("value")), "threshold": _number(entry.get("threshold")),
        "severity": entry.get("severity") if entry.get("severity") in SEVERITIES
        else "critical",
        "message": _text(entry.get("message")) or "", "op": _text(entry.get("op")),
        "features": [{"feature": str(f.get("feature")), "method": _text(f.get("method")) or "?",
                      "score": _number(f.get("score")), "threshold": _number(f.get("threshold")),
                      "drifted": f.get("drifted") is True}
                     for f in (features if isinstance(features, list) else [])
                     if isinstance(f, Mapping)],
        "details": {str(k): _number(v) for k, v in
                    (details.items() if isinstance(details, Mapping) else [])},
    }
    return clean
