"""The check-result model and the `argoscope.checks/v1` document (see DESIGN.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

# The document's contract lives in `schema`, shared with the exporter; re-exported here.
from argoscope.checks.schema import SCHEMA, SEVERITIES, STATUSES, Severity, Status

__all__ = ["SCHEMA", "SEVERITIES", "STATUSES", "CheckFailed", "CheckInputError", "CheckResult",
           "FeatureResult", "Severity", "Status", "document", "finite_or_none", "verdict",
           "with_exactness"]

# Messages are summaries; anything longer is cut so the document stays small.
MAX_MESSAGE = 300


def verdict(ok: bool, severity: Severity) -> Status:
    """The status of a check that ran: a failure of a warning-severity check is a warning."""
    if ok:
        return "passed"
    return "failed" if severity == "critical" else "warning"


def finite_or_none(value: float | None) -> float | None:
    """JSON has no NaN or infinity: such values are written as null."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


@dataclass(slots=True)
class FeatureResult:
    """One feature's drift: its method, score, threshold and verdict."""

    feature: str
    method: str
    score: float
    threshold: float
    drifted: bool
    # Set by the distributed engines only (argoscope.checks.scale): whether `score` is exact,
    # and for an approximate one how far, in the score's own units, it can be from the exact.
    exact: bool | None = None
    error_bound: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The feature entry of the document."""
        out: dict[str, Any] = {"feature": self.feature, "method": self.method,
                               "score": finite_or_none(self.score), "threshold": self.threshold,
                               "drifted": self.drifted}
        return with_exactness(out, self.exact, self.error_bound)


@dataclass(slots=True)
class CheckResult:
    """One check's outcome, as written to the document, logged and traced."""

    check: str
    kind: str
    status: Status
    value: float | None = None
    threshold: float | None = None
    severity: Severity = "critical"
    message: str = ""
    op: str | None = None
    features: list[FeatureResult] = field(default_factory=list)
    # Engine-specific counts (element_count, unexpected_count, ...): numbers only, never data.
    details: dict[str, float] = field(default_factory=dict)
    # As on FeatureResult: set by the distributed engines only; `error_bound` is in the
    # units of `value`.
    exact: bool | None = None
    error_bound: float | None = None

    @property
    def blocking(self) -> bool:
        """True when this result must fail the step: a critical check that failed or errored."""
        return self.severity == "critical" and self.status in ("failed", "error")

    def to_dict(self) -> dict[str, Any]:
        """The result entry of the document (no raw data values ever appear here)."""
        out: dict[str, Any] = {"check": self.check, "kind": self.kind, "status": self.status,
                               "value": finite_or_none(self.value),
                               "threshold": finite_or_none(self.threshold),
                               "severity": self.severity}
        if self.message:
            out["message"] = self.message[:MAX_MESSAGE]
        if self.op is not None:
            out["op"] = self.op
        if self.features:
            out["features"] = [feature.to_dict() for feature in self.features]
        if self.details:
            out["details"] = {k: finite_or_none(v) for k, v in self.details.items()}
        return with_exactness(out, self.exact, self.error_bound)


def with_exactness(entry: dict[str, Any], exact: bool | None,
                   error_bound: float | None) -> dict[str, Any]:
    """`entry` with `exact` and `error_bound` when an engine said how exact it is; the keys
    are absent otherwise, so documents from the in-memory engines do not change."""
    if exact is not None:
        entry["exact"] = exact
        if not exact:
            entry["error_bound"] = finite_or_none(error_bound)
    return entry


def document(results: list[CheckResult]) -> dict[str, Any]:
    """The whole `argoscope-checks` document for a list of results."""
    return {"schema": SCHEMA, "results": [result.to_dict() for result in results]}


class CheckFailed(RuntimeError):
    """Raised at the end of a step when a critical check failed; carries the blocking results."""

    def __init__(self, failures: list[CheckResult]) -> None:
        self.failures = failures
        names = ", ".join(f"{r.check} ({r.status})" for r in failures)
        super().__init__(f"critical checks failed: {names}")


class CheckInputError(ValueError):
    """Bad input to a check: a missing file or column, empty data, an unknown expectation."""
