"""Expectations: check a suite, run it on the engine the seam picks, turn outcomes into results."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any, cast

import pandas as pd

from argoscope.checks._engine import ExpectationEngineName, Outcome, expectation_engine
from argoscope.checks.arguments import did_you_mean
from argoscope.checks.conditions import refusal
from argoscope.checks.expect_native import QUERY_PARSERS
from argoscope.checks.expect_types import CONDITION_PARSERS, GE_TYPES, NATIVE_ARGS
from argoscope.checks.parameters import is_parameter, resolve
from argoscope.checks.results import CheckInputError, CheckResult, verdict
from argoscope.checks.scale.route import ENGINES as SCALE_ENGINES
from argoscope.checks.scale.route import pick
from argoscope.checks.suites import Expectation, Suite, load_suite


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
        message = f"{described(exp)}: {outcome.unexpected_count:.0f} unexpected values"
    else:
        value = outcome.observed_value
        threshold = exp.kwargs.get("max_value", exp.kwargs.get("min_value"))
        threshold = float(threshold) if isinstance(threshold, (int, float)) else None
        message = described(exp)
    return CheckResult(exp.name, "expectation", verdict(outcome.success, exp.severity),
                       value=value, threshold=threshold, severity=exp.severity,
                       message=message, details=details, exact=outcome.exact,
                       error_bound=outcome.error_bound)


def described(exp: Expectation, limit: int = 200) -> str:
    """`type(column='age', min_value=0, mostly=0.99)`: what was expected, as Data Docs show it
    (the column first; long value sets cut), so a report can show each expectation's
    parameters and group expectations that differ only in their column."""
    def short(value: Any) -> str:
        if isinstance(value, (list, tuple, set, frozenset)):
            items = list(value)
            shown = ", ".join(short(v) for v in items[:8])
            return f"[{shown}{', …' if len(items) > 8 else ''}]"
        text = repr(value)
        return text if len(text) <= 40 else text[:39] + "…"
    keys = sorted(exp.kwargs, key=lambda k: (k != "column", k))
    params = ", ".join(f"{key}={short(exp.kwargs[key])}" for key in keys)
    text = f"{exp.type}({params})"
    return text if len(text) <= limit else text[:limit - 2] + "…)"


# GE's `ResultFormat` values, as a string or under "result_format" in a dict.
RESULT_FORMATS = ("BOOLEAN_ONLY", "BASIC", "SUMMARY", "COMPLETE")


def _did_you_mean(word: str, known: Iterable[str]) -> str:
    return did_you_mean(word, known)


def _unknown_type(kind: str, where: str) -> CheckInputError:
    native = ", ".join(sorted(NATIVE_ARGS))
    through_ge = ", ".join(sorted(GE_TYPES - set(NATIVE_ARGS)))
    return CheckInputError(f"{where}: unknown expectation type {kind!r}"
                           f"{_did_you_mean(kind, GE_TYPES)}; native: {native}; "
                           f"through Great Expectations: {through_ge}")


def _bound_accepted(value: Any) -> bool:
    """What GE's `min_value`/`max_value` fields take: a number, a parameter dict, a date or
    datetime, or a string pydantic coerces to one of those."""
    if value is None or isinstance(value, (int, float, dict, dt.date)):
        return True
    if isinstance(value, str):
        for parse in (float, dt.datetime.fromisoformat):
            try:
                parse(value)
                return True
            except ValueError:
                continue
    return False


def check_condition(exp: Expectation, where: str, trust_suite: bool) -> None:
    """A `row_condition` GE's pandas engine would hand to `DataFrame.query` must be in the
    safe comparison grammar (`conditions`) unless the suite is trusted; an empty one is
    refused, as GE refuses it."""
    condition = exp.kwargs.get("row_condition")
    if condition is None:
        return
    if isinstance(condition, str):
        if exp.kwargs.get("condition_parser") not in QUERY_PARSERS:
            return  # GE's own grammar: GE parses it and quotes what it builds
        texts = [condition]
    else:  # GE's Condition objects: only a pass-through filter reaches DataFrame.query as is
        texts = list(_pass_through_filters(condition))
    for text in texts:
        why = refusal(text) if isinstance(text, str) else "is not a string"
        if not why or (trust_suite and isinstance(text, str) and text.strip()):
            continue
        hint = "" if not isinstance(text, str) or not text.strip() else (
            "; if the suite is trusted, trust_suite=True (--trust-suite) lets Great "
            "Expectations' pandas engine evaluate it with DataFrame.query, which runs code")
        raise CheckInputError(f"{where}: row_condition {text!r} {why}{hint}")


def _pass_through_filters(condition: Any) -> Iterable[Any]:
    """The `pass_through_filter` strings of a GE Condition (dict or object), nested too."""
    if hasattr(condition, "dict") and not isinstance(condition, dict):
        condition = condition.dict()  # a GE Condition object (pydantic)
    if isinstance(condition, dict):
        if condition.get("type") == "pass_through" or "pass_through_filter" in condition:
            yield condition.get("pass_through_filter")
        for value in condition.values():
            if isinstance(value, (dict, list)):
                yield from _pass_through_filters(value)
    elif isinstance(condition, list):
        for item in condition:
            yield from _pass_through_filters(item)


def check_arguments(exp: Expectation, where: str) -> None:
    """Refuse what GE refuses before anything runs: an unknown type, an argument the type does
    not take (a typo would otherwise be ignored), an unknown `condition_parser`, a `mostly`
    outside [0, 1], bounds GE's fields reject, a row count range whose minimum is above its
    maximum. Values GE's fields coerce (`mostly: "0.9"`, `min_value: "3"`) are coerced alike."""
    if exp.type not in GE_TYPES:
        raise _unknown_type(exp.type, where)
    if "mostly" in exp.kwargs and exp.kwargs["mostly"] is None:  # GE: none is not allowed
        raise CheckInputError(f"{where}: mostly must be a number in [0, 1], not None")
    result_format = exp.kwargs.get("result_format")
    chosen_format = result_format.get("result_format") if isinstance(result_format, dict) \
        else result_format
    if result_format is not None and chosen_format not in RESULT_FORMATS:
        raise CheckInputError(f"{where}: unknown result_format {chosen_format!r}"
                              f"{_did_you_mean(str(chosen_format), RESULT_FORMATS)}; "
                              f"known: {', '.join(RESULT_FORMATS)}")
    parser = exp.kwargs.get("condition_parser")
    if parser is not None and parser not in CONDITION_PARSERS:
        raise CheckInputError(f"{where}: unknown condition_parser {parser!r}; "
                              f"known: {sorted(CONDITION_PARSERS)}")
    allowed = NATIVE_ARGS.get(exp.type)
    if allowed is None:
        return  # a type only GE runs: GE checks its arguments (see expect_ge)
    unknown = sorted(set(exp.kwargs) - allowed)
    if unknown:
        hint = _did_you_mean(unknown[0], allowed)
        raise CheckInputError(f"{where}: unknown argument(s) {', '.join(map(repr, unknown))}"
                              f"{hint}; {exp.type} takes "
                              f"{sorted(allowed - {'batch_id', 'windows'})}")
    mostly = exp.kwargs.get("mostly")
    if mostly is not None:
        # GE's pydantic field coerces (True, "0.5") and then requires [0, 1]; so do we.
        try:
            exp.kwargs["mostly"] = float(mostly)
        except (TypeError, ValueError):
            raise CheckInputError(f"{where}: mostly must be a number in [0, 1], "
                                  f"not {mostly!r}") from None
        if not 0 <= exp.kwargs["mostly"] <= 1:
            raise CheckInputError(f"{where}: mostly must be a number in [0, 1], not {mostly!r}")
    for name in ("min_value", "max_value"):
        if name in allowed and not _bound_accepted(exp.kwargs.get(name)):
            raise CheckInputError(f"{where}: {name} must be a number, a date or a parameter, "
                                  f"not {exp.kwargs[name]!r}")
        bound = exp.kwargs.get(name)
        if isinstance(bound, str):
            with contextlib.suppress(ValueError):  # "3" is 3.0 to GE's float field
                exp.kwargs[name] = float(bound)
    if exp.type == "expect_table_row_count_to_be_between":
        low, high = exp.kwargs.get("min_value"), exp.kwargs.get("max_value")
        for name, bound in (("min_value", low), ("max_value", high)):
            if bound is not None and (isinstance(bound, bool)
                                      or not isinstance(bound, (int, float))):
                raise CheckInputError(f"{where}: {name} must be a number, not {bound!r}")
        if low is not None and high is not None and low > high:
            raise CheckInputError(f"{where}: min_value ({low}) must be less than or equal to "
                                  f"max_value ({high})")


def validate(frame: pd.DataFrame, suite: Any, engine: ExpectationEngineName = "auto", *,
             trust_suite: bool = False,
             parameters: Mapping[str, Any] | None = None) -> list[CheckResult]:
    """Run every expectation of `suite` on `frame`.

    `native` refuses expectation types it lacks; `ge` always uses Great Expectations; `auto`
    (the default) runs natively when every expectation is supported and through GE otherwise.
    A `row_condition` outside the safe comparison grammar (`argoscope.checks.conditions`) is
    an input error unless `trust_suite`, when GE evaluates it (as code). GE's evaluation
    parameters (`{"$PARAMETER": "now() - timedelta(days=1)"}`) are evaluated first, by a safe
    evaluator (`parameters`), with `parameters` as the values of the names they use.
    A Spark or Dask frame runs on its own engine (`spark`, `dask`: `argoscope.checks.scale`).
    """
    engine = cast(ExpectationEngineName, pick(engine, (frame,), "auto"))  # Spark/Dask: theirs
    if engine not in SCALE_ENGINES and not isinstance(frame, pd.DataFrame):
        raise CheckInputError(f"expectations need a pandas DataFrame, not {type(frame).__name__}")
    loaded: Suite = load_suite(suite)
    expectations = list(loaded.expectations)
    for index, exp in enumerate(expectations):
        where = f"suite {loaded.name!r}: expectations[{index}]"
        if any(is_parameter(value) for value in exp.kwargs.values()):
            exp = expectations[index] = replace(
                exp, kwargs=resolve(exp.kwargs, parameters, where))
        check_arguments(exp, where)
        check_condition(exp, where, trust_suite)
    for exp in expectations:
        if exp.column is not None and exp.column not in frame.columns:
            raise CheckInputError(f"suite {loaded.name!r}: {exp.type} names column "
                                  f"{exp.column!r}, which is not in the data")
    chosen = expectation_engine(engine, frame, expectations, loaded.name)
    return unique_names([to_result(exp, outcome, error) for exp, (outcome, error) in
                         zip(expectations, chosen.run(frame, expectations), strict=True)])


def unique_names(results: list[CheckResult]) -> list[CheckResult]:
    """Number repeated check names (`name#2`, ...) so each result keeps its own series."""
    seen: dict[str, int] = {}
    for result in results:
        count = seen.get(result.check, 0) + 1
        seen[result.check] = count
        if count > 1:
            result.check = f"{result.check}#{count}"
    return results
