"""The Great Expectations engine: runs a suite through GE 1.x on a pandas DataFrame.

GE is imported here only, when this engine is first used. Only counts and numeric observed
values are read from GE's results: `partial_unexpected_list` and other raw values are dropped.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Sequence
from typing import Any

import pandas as pd

from argoscope.checks._engine import Outcome
from argoscope.checks.results import CheckInputError
from argoscope.checks.suites import Expectation

_INDEX_KEY = "argoscope_index"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _raised(info: Any) -> str:
    """GE's exception message, at the top level or (GE 1.x) under any metric id; else ''."""
    if not isinstance(info, dict):
        return ""
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "GE raised an exception")
    for nested in info.values():
        message = _raised(nested) if isinstance(nested, dict) else ""
        if message:
            return message
    return ""


def _outcome(raw: Any) -> tuple[Outcome, str]:
    result = raw.result or {}
    error = _raised(raw.exception_info)
    observed = _number(result.get("observed_value"))
    if isinstance(result.get("observed_value"), list):
        # expect_table_columns_to_match_set observes column names: keep only how many differ.
        details = result.get("details")
        mismatched = details.get("mismatched") if isinstance(details, dict) else None
        observed = float(sum(len(v) for v in mismatched.values() if isinstance(v, list))) \
            if isinstance(mismatched, dict) else 0.0
    percent = _number(result.get("unexpected_percent"))
    if percent is not None and math.isnan(percent):
        percent = None
    return Outcome(bool(raw.success), _number(result.get("element_count")),
                   _number(result.get("missing_count")), _number(result.get("unexpected_count")),
                   percent, observed), error


def run(frame: pd.DataFrame, expectations: Sequence[Expectation]) -> list[tuple[Outcome, str]]:
    """Validate `frame` against `expectations` with GE; one (outcome, error) per expectation."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    try:
        import great_expectations as gx
    except ImportError:
        raise CheckInputError("this suite needs Great Expectations, which is not installed: "
                              "pip install 'argoscope[engines]'") from None
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    context = gx.get_context(mode="ephemeral")
    with contextlib.suppress(Exception):  # cosmetic only; older configs lack the setting
        context.variables.progress_bars = {"globally": False}  # type: ignore[assignment]
    source = context.data_sources.add_pandas("argoscope")
    asset = source.add_dataframe_asset("frame")
    batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(
        batch_parameters={"dataframe": frame})
    # GE keeps one expectation per type and domain in a suite: repeats go to further suites.
    rounds: list[list[int]] = []
    seen: dict[tuple[str, str | None], int] = {}
    for index, exp in enumerate(expectations):
        key = (exp.type, exp.column)
        position = seen.get(key, 0)
        seen[key] = position + 1
        if position == len(rounds):
            rounds.append([])
        rounds[position].append(index)
    found: dict[int, tuple[Outcome, str]] = {}
    for number, indexes in enumerate(rounds):
        suite = gx.ExpectationSuite(name=f"argoscope-{number}")
        for index in indexes:
            config = expectations[index].to_ge()
            config["meta"][_INDEX_KEY] = index  # GE reorders results: find ours by index
            try:
                suite.add_expectation_configuration(ExpectationConfiguration(**config))
            except Exception as exc:  # GE rejects the configuration: bad input, named
                reason = " ".join(str(exc).split())
                raise CheckInputError(f"expectations[{index}] {config['type']}: "
                                      f"Great Expectations rejects it: {reason}") from None
        validation = batch.validate(suite, result_format="SUMMARY")
        for raw in validation.results:
            found_config = raw.expectation_config
            if found_config is None:
                continue
            found[int(found_config.meta[_INDEX_KEY])] = _outcome(raw)
    return [found.get(i, (Outcome(False), "GE returned no result")) for i in
            range(len(expectations))]


class GreatExpectations:
    """Great Expectations behind the expectation seam (`argoscope.checks._engine`)."""

    name = "ge"

    def lacks(self, frame: pd.DataFrame, expectations: Sequence[Expectation]) -> list[str]:
        """Nothing: GE runs every known type and checks its own arguments."""
        return []

    def run(self, frame: pd.DataFrame, expectations: Sequence[Expectation]
            ) -> list[tuple[Outcome, str]]:
        """One (outcome, error) per expectation, from one GE validation per round."""
        return run(frame, expectations)


ENGINE = GreatExpectations()
