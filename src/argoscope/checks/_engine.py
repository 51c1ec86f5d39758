"""The seam between the checks and the engines that compute them: one protocol per check kind.

An expectation engine (native, Great Expectations) turns a suite's expectations into
`Outcome`s; a drift engine (native, Evidently) turns two frames into `FeatureResult`s. Callers
(`expect.validate`, `Checks`, `argoscope check`) name an engine and get it from here; the
rules that pick one live here and nowhere else:

- expectations, `auto`: the native engine unless it lacks one of the suite's expectations
  (a type only GE runs, GE's own condition grammar, a type test on an object column), then GE
  for the whole suite; naming an engine that lacks one is an input error that says what.
- drift: the engine named; Evidently's text-content tests need its models, so the native
  engine hands text columns to `TEXT_DRIFT_ENGINE`.

Engine modules are imported on first use only (GE, Evidently and scipy are slow to import).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, cast, get_args, runtime_checkable

from argoscope.checks.results import CheckInputError

if TYPE_CHECKING:
    import pandas as pd

    from argoscope.checks.results import FeatureResult
    from argoscope.checks.suites import Expectation

ExpectationEngineName = Literal["auto", "native", "ge", "spark", "dask"]
DriftEngineName = Literal["native", "evidently", "spark", "dask"]
EXPECTATION_ENGINES: tuple[ExpectationEngineName, ...] = get_args(ExpectationEngineName)
DRIFT_ENGINES: tuple[DriftEngineName, ...] = get_args(DriftEngineName)
TEXT_DRIFT_ENGINE: DriftEngineName = "evidently"

# Each implementation module exposes its engine as `ENGINE` (or as the attribute after `:`);
# spark and dask are the distributed engines of `argoscope.checks.scale`.
_EXPECTATION_MODULES: dict[str, str] = {"native": "argoscope.checks.expect_native",
                                        "ge": "argoscope.checks.expect_ge",
                                        "spark": "argoscope.checks.scale.expect:SPARK",
                                        "dask": "argoscope.checks.scale.expect:DASK"}
_DRIFT_MODULES: dict[str, str] = {"native": "argoscope.checks.drift_native",
                                  "evidently": "argoscope.checks.drift_evidently",
                                  "spark": "argoscope.checks.scale.drift:SPARK",
                                  "dask": "argoscope.checks.scale.drift:DASK"}


@dataclass(slots=True)
class Outcome:
    """What an expectation engine found for one expectation; numbers only, never data values."""

    success: bool
    element_count: float | None = None
    missing_count: float | None = None
    unexpected_count: float | None = None
    unexpected_percent: float | None = None
    observed_value: float | None = None
    # Set by the distributed engines only (argoscope.checks.scale): whether the outcome is
    # exact and, if not, how far the observed value can be from the exact one.
    exact: bool | None = None
    error_bound: float | None = None


@runtime_checkable
class ExpectationEngine(Protocol):
    """Runs checked expectations (known types, valid arguments, columns present) on a frame."""

    name: str

    def lacks(self, frame: pd.DataFrame, expectations: Sequence[Expectation]) -> list[str]:
        """Why this engine cannot reproduce GE for some of `expectations`; [] when it can."""
        ...

    def run(self, frame: pd.DataFrame, expectations: Sequence[Expectation]
            ) -> list[tuple[Outcome, str]]:
        """One (outcome, error) per expectation, in order; a non-empty error is an `error`."""
        ...


@dataclass(frozen=True, slots=True)
class DriftOptions:
    """What a drift check asks of its engine (Evidently's DataDriftPreset arguments)."""

    columns: Sequence[object] | None = None
    method: str | None = None
    threshold: float | None = None
    per_column_method: Mapping[str, str] | None = None
    per_column_threshold: Mapping[str, float] | None = None
    drift_share: float = 0.5
    column_types: Mapping[str, str] | None = None
    # Where an engine that writes a report of its own (Evidently) keeps it; others ignore it.
    report_path: str | Path | None = None


@runtime_checkable
class DriftEngine(Protocol):
    """Compares a current frame with a reference, column by column."""

    name: str

    def run(self, reference: pd.DataFrame, current: pd.DataFrame,
            options: DriftOptions) -> list[FeatureResult]:
        """One feature result per tested column, in column order."""
        ...


def _named(kind: str, name: str, modules: Mapping[str, str], known: Sequence[str]) -> object:
    if name not in modules:
        raise CheckInputError(f"unknown {kind} engine {name!r}; known: {', '.join(known)}")
    module, _, attribute = modules[name].partition(":")
    return getattr(importlib.import_module(module), attribute or "ENGINE")


def drift_engine(name: str) -> DriftEngine:
    """The drift engine called `name`; CheckInputError for an unknown name."""
    return cast(DriftEngine, _named("drift", name, _DRIFT_MODULES, DRIFT_ENGINES))


def expectation_engine(name: str, frame: pd.DataFrame, expectations: Sequence[Expectation],
                       suite: str) -> ExpectationEngine:
    """The engine that runs `expectations` of `suite` on `frame` when `name` is asked for."""
    if name == "auto":
        native = expectation_engine("native", frame, [], suite)
        return native if not native.lacks(frame, expectations) else \
            expectation_engine("ge", frame, [], suite)
    engine = cast(ExpectationEngine,
                  _named("expectation", name, _EXPECTATION_MODULES, EXPECTATION_ENGINES))
    lacking = engine.lacks(frame, expectations)
    if lacking:
        raise CheckInputError(f"suite {suite!r}: the {name} engine lacks "
                              f"{', '.join(sorted(set(lacking)))}; use engine='ge' or 'auto'")
    return engine
