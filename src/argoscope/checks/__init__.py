"""Data-quality, drift and model gates inside pipeline steps, emitted as metrics.

Importing this package is cheap: pandas, scipy, Great Expectations, Evidently and
OpenTelemetry are imported only when a check that needs them runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from argoscope.checks.api import Checks
    from argoscope.checks.results import CheckFailed, CheckInputError, CheckResult, FeatureResult

__all__ = ["CheckFailed", "CheckInputError", "CheckResult", "Checks", "FeatureResult"]


def __dir__() -> list[str]:
    # The lazily imported names are part of the package: `dir()` and completion show them.
    return sorted({*__all__, *(name for name in globals() if name.startswith("__"))})


def __getattr__(name: str) -> Any:
    if name == "Checks":
        from argoscope.checks.api import Checks

        return Checks
    if name in ("CheckFailed", "CheckInputError", "CheckResult", "FeatureResult"):
        from argoscope.checks import results

        return getattr(results, name)
    raise AttributeError(f"module 'argoscope.checks' has no attribute {name!r}")
