"""Gates: a model metric compared with a threshold, e.g. ``accuracy > 0.85``."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable

from argoscope.checks import arguments
from argoscope.checks.results import CheckResult, Severity, verdict

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
    "==": operator.eq, "!=": operator.ne,
}


def gate(name: str, value: float, op: str, threshold: float,
         severity: Severity = "critical") -> CheckResult:
    """Compare `value` with `threshold`; a value that is not a finite number is an `error`
    result (the metric is data), a wrong name, operator, threshold or severity an input
    error (the call is wrong)."""
    arguments.name(name, "gate name")
    arguments.choice("gate operator", op, list(OPERATORS))
    severity = arguments.severity(severity)
    threshold = arguments.number(f"gate {name!r}: threshold", threshold)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return CheckResult(name, "gate", "error", None, float(threshold), severity,
                           f"value {type(value).__name__} is not a number", op)
    if not math.isfinite(number):
        return CheckResult(name, "gate", "error", None, float(threshold), severity,
                           "value is not a finite number", op)
    ok = OPERATORS[op](number, float(threshold))
    return CheckResult(name, "gate", verdict(ok, severity), number, float(threshold), severity,
                       f"{name} {number:g} {op} {float(threshold):g}: {'met' if ok else 'not met'}",
                       op)
