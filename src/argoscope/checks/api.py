"""The API step code uses: collect checks during a step, emit them once at its end."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from argoscope.checks import arguments, report_hook, telemetry
from argoscope.checks import emit as emission
from argoscope.checks._engine import (
    DRIFT_ENGINES,
    DriftEngineName,
    DriftOptions,
    ExpectationEngineName,
    drift_engine,
)
from argoscope.checks.gates import gate as make_gate
from argoscope.checks.identity import RunIdentity
from argoscope.checks.results import CheckFailed, CheckResult, FeatureResult, Severity, verdict
from argoscope.checks.scale.route import engine_of, pick
from argoscope.checks.step_document import report_path_from_env, write_step_document

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("argoscope.checks")


def drift_result(name: str, features: list[FeatureResult], drift_share: float,
                 severity: Severity) -> CheckResult:
    """A drift check's result: the share of drifted features against `drift_share`."""
    drifted = sum(1 for feature in features if feature.drifted)
    share = drifted / len(features)
    return CheckResult(name, "drift", verdict(share < drift_share, severity), share, drift_share,
                       severity, f"{drifted} of {len(features)} features drifted",
                       features=features,
                       details={"drifted_count": float(drifted), "feature_count": float(len(features))})


class Checks:
    """The checks of one pipeline step.

    Use it as a context manager (emits on exit) or call :meth:`emit` yourself::

        with Checks(step="validate") as checks:
            checks.expect(frame, "suite.json")
            checks.drift(reference, frame)
            checks.gate("accuracy", 0.91, ">", 0.85)

    Emission writes the `argoscope-checks` document, one file per gate, JSON log lines and,
    when `OTEL_*` names an exporter, spans and metrics, and, when `report` or
    `$ARGOSCOPE_REPORT_PATH` names a file, the step report's data document and (with the
    `reports` extra) its HTML page; none of it can fail the step. A critical check that failed
    makes :meth:`emit` raise :class:`CheckFailed` (so the step exits non-zero);
    warning-severity checks only report.
    """

    def __init__(self, step: str = "", *, path: str | Path | None = None,
                 outputs_dir: str | Path | None = None,
                 env: Mapping[str, str] | None = None,
                 report: str | Path | None = None) -> None:
        self.identity = RunIdentity.from_env(env, step=step)
        self.path = Path(path) if path is not None else emission.document_path(env)
        self.outputs_dir = (Path(outputs_dir) if outputs_dir is not None
                            else emission.outputs_dir(env) if path is None else self.path.parent)
        self._env = env
        self.report_path = Path(report) if report is not None else report_path_from_env(env)
        self._distributions: dict[str, Any] = {}  # drift check name -> its distributions
        self.results: list[CheckResult] = []
        self.emitted = False

    def add(self, result: CheckResult) -> CheckResult:
        """Record a result computed elsewhere."""
        self.results.append(result)
        return result

    def expect(self, frame: pd.DataFrame | Any, suite: Any,
               engine: ExpectationEngineName = "auto", *, trust_suite: bool = False,
               parameters: Mapping[str, Any] | None = None) -> list[CheckResult]:
        """Run an expectation suite (GE JSON path, dict, list or ExpectationSuite) on `frame`.

        A `row_condition` must be in GE's comparison grammar (no calls, no `@`-references):
        `trust_suite=True` hands other conditions to GE's pandas engine, which runs them as
        code (`DataFrame.query`), so pass it only for a suite you would run as code.
        GE's `{"$PARAMETER": ...}` bounds are evaluated safely, with `parameters` as the
        values of the names they use.

        A suite that cannot run at all is recorded as one critical `error` result; a call
        with an unknown `engine` or a `frame` that is not a DataFrame raises CheckInputError.
        """
        from argoscope.checks._engine import EXPECTATION_ENGINES
        from argoscope.checks.expect import validate

        arguments.frame(frame, "frame")
        arguments.choice("expectation engine", engine, EXPECTATION_ENGINES)

        try:
            results = validate(frame, suite, engine, trust_suite=trust_suite,
                               parameters=parameters)
        except Exception as exc:  # recorded as an error result, raised at emit
            name = getattr(suite, "name", None) or (Path(suite).stem if isinstance(
                suite, (str, Path)) else "expectations")
            results = [CheckResult(str(name), "expectation", "error", message=str(exc))]
        self.results.extend(results)
        return results

    def drift(self, reference: pd.DataFrame | Any, current: pd.DataFrame | Any, *,
              name: str = "drift", columns: Sequence[str] | None = None,
              engine: DriftEngineName = "native", method: str | None = None,
              threshold: float | None = None,
              per_column_method: Mapping[str, str] | None = None,
              per_column_threshold: Mapping[str, float] | None = None,
              drift_share: float = 0.5, severity: Severity = "critical",
              report_path: str | Path | None = None,
              column_types: Mapping[str, str] | None = None) -> CheckResult:
        """Compare `current` with `reference` column by column, as Evidently's DataDriftPreset.

        Fails when at least `drift_share` of the columns drifted. Column types are Evidently's
        own inference unless `column_types` declares them (``{"age": "numerical"}``;
        numerical, categorical or text). `engine="evidently"` runs Evidently itself and can
        keep its full JSON report at `report_path`. Spark and Dask frames run on their own
        engine (`engine="spark"`/`"dask"`, see docs/scale.md): each feature then says whether
        it is `exact`, and an approximate one its `error_bound`. Arguments are checked first
        (see `argoscope.checks.arguments`): a mistake raises CheckInputError; what only the
        data can refuse is recorded as a critical `error` result.
        """
        arguments.name(name, "name")
        severity = arguments.severity(severity)
        arguments.drift_call(reference, current, engine=engine, engines=DRIFT_ENGINES,
                             columns=columns, method=method, threshold_=threshold,
                             per_column_method=per_column_method,
                             per_column_threshold=per_column_threshold,
                             drift_share_=drift_share, column_types=column_types)
        options = DriftOptions(columns, method, threshold, per_column_method,
                               per_column_threshold, drift_share, column_types, report_path)
        try:
            engine = cast(DriftEngineName, pick(engine, (reference, current), "native"))
            features = drift_engine(engine).run(reference, current, options)
            result = drift_result(name, features, drift_share, severity)
        except Exception as exc:  # recorded as an error result, raised at emit
            result = CheckResult(name, "drift", "error", threshold=drift_share,
                                 severity=severity, message=str(exc))
        if self.report_path is not None and engine_of(reference) is None:  # pandas only
            self._capture_distributions(name, reference, current, result)
        return self.add(result)

    def _capture_distributions(self, name: str, reference: pd.DataFrame,
                               current: pd.DataFrame, result: CheckResult) -> None:
        # Aggregates only (bins, category shares), for the step report; never fails a step.
        try:
            from argoscope.checks.distributions import distributions

            self._distributions[name] = distributions(
                reference, current, [feature.feature for feature in result.features])
        except Exception as exc:
            log.warning("step report: could not summarise the data of %s: %s", name, exc)

    def gate(self, name: str, value: float, op: str, threshold: float,
             severity: Severity = "critical") -> CheckResult:
        """Gate a model metric, e.g. ``gate("accuracy", 0.91, ">", 0.85)``; also written as a
        file named after the gate, for a DAG `when:`. An unknown operator or severity, or a
        threshold that is not a finite number, raises CheckInputError."""
        return self.add(make_gate(name, value, op, threshold, severity))

    @property
    def failures(self) -> list[CheckResult]:
        """Results that fail the step: critical checks that failed or errored."""
        return [result for result in self.results if result.blocking]

    def emit(self, *, raise_on_failure: bool = True) -> list[CheckResult]:
        """Write everything out once; raise CheckFailed when a critical check failed."""
        if not self.emitted:
            self.emitted = True
            emission.write_document(self.results, self.path)
            emission.write_gates(self.results, self.outputs_dir)
            emission.log_results(self.results, self.identity)
            telemetry.export(self.results, self.identity, self._env)
            if self.report_path is not None:
                self._write_report(self.report_path)
        if raise_on_failure and self.failures:
            raise CheckFailed(self.failures)
        return self.results

    def _write_report(self, path: Path) -> None:
        # A report is telemetry: it never fails the step, and a problem is one warning. The
        # data document is the check library's own; the page is drawn by a writer found by
        # name (`report_hook`), which needs the `reports` extra.
        try:
            document = write_step_document(path, self.results, self._distributions)
            report_hook.page_writer()(path, self.results, self._distributions, self.identity)
        except report_hook.ReportsUnavailable as exc:
            log.warning("step report page %s skipped (its data document is at %s): %s",
                        path, document, exc)
        except Exception as exc:
            log.warning("could not write the step report to %s: %s", path, exc)

    def __enter__(self) -> Checks:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        # Emit even when the step body raised: what ran is still reported; its error wins.
        self.emit(raise_on_failure=kind is None)
