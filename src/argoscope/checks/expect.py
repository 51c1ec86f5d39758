"""Expectations: choose the engine for a suite and turn its outcomes into check results."""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd

from argoscope.checks import expect_native
from argoscope.checks.expect_native import Outcome
from argoscope.checks.results import CheckInputError, CheckResult, verdict
from argoscope.checks.suites import Expectation, Suite, load_suite

Engine = Literal["native", "ge", "auto"]


def to_result(exp: Expectation, outcome: Outcome, error: str = "") -> CheckResult:
    """One expectation's check result, the same whichever engine produced `outcome`."""
    if error:
        return CheckResult(exp.name, "expectation", "error", severity=exp.severity,
                           message=f"{exp.type}: {error}")
    details = {key: value for key, value in (
        ("element_count", outcome.element_count), ("missing_count", outcome.missing_count),
        ("unexpected_count", outcome.unexpected_count),
        ("unexpected_percent", outcome.unexpected_percent)) if value is not None}
    if outcome.unexpected_percent is not None:
        mostly = float(exp.kwargs.get("mostly", 1.0))
        value: float | None = outcome.unexpected_percent
        threshold: float | None = round(100.0 * (1.0 - mostly), 12)
        message = f"{exp.type}: {outcome.unexpected_count:.0f} unexpected values"
    else:
        value = outcome.observed_value
        threshold = exp.kwargs.get("max_value", exp.kwargs.get("min_value"))
        threshold = float(threshold) if isinstance(threshold, (int, float)) else None
        message = exp.type
    return CheckResult(exp.name, "expectation", verdict(outcome.success, exp.severity),
                       value=value, threshold=threshold, severity=exp.severity,
                       message=message, details=details)


def validate(frame: pd.DataFrame, suite: Any, engine: Engine = "auto") -> list[CheckResult]:
    """Run every expectation of `suite` on `frame`.

    `native` refuses expectation types it lacks; `ge` always uses Great Expectations; `auto`
    (the default) runs natively when every expectation is supported and through GE otherwise.
    """
    if not isinstance(frame, pd.DataFrame):
        raise CheckInputError(f"expectations need a pandas DataFrame, not {type(frame).__name__}")
    loaded: Suite = load_suite(suite)
    expectations = list(loaded.expectations)
    for exp in expectations:
        if exp.column is not None and exp.column not in frame.columns:
            raise CheckInputError(f"suite {loaded.name!r}: {exp.type} names column "
                                  f"{exp.column!r}, which is not in the data")
    unsupported = [e.type for e in expectations if not expect_native.supports(e, frame)]
    if engine == "native" and unsupported:
        raise CheckInputError(
            f"suite {loaded.name!r}: the native engine lacks {sorted(set(unsupported))}; "
            "use engine='ge'")
    if engine == "ge" or (engine == "auto" and unsupported):
        from argoscope.checks import expect_ge

        results = [to_result(exp, outcome, error) for exp, (outcome, error) in
                   zip(expectations, expect_ge.run(frame, expectations), strict=True)]
    else:
        results = [to_result(exp, expect_native.run(frame, exp)) for exp in expectations]
    return unique_names(results)


def unique_names(results: list[CheckResult]) -> list[CheckResult]:
    """Number repeated check names (`name#2`, ...) so each result keeps its own series."""
    seen: dict[str, int] = {}
    for result in results:
        count = seen.get(result.check, 0) + 1
        seen[result.check] = count
        if count > 1:
            result.check = f"{result.check}#{count}"
    return results
