"""The engine seam and the shared document schema: names, selection rules, one contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from argoscope.checks import CheckInputError, Checks
from argoscope.checks._engine import (
    DRIFT_ENGINES,
    EXPECTATION_ENGINES,
    DriftEngine,
    ExpectationEngine,
    drift_engine,
    expectation_engine,
)
from argoscope.checks.expect import validate
from argoscope.checks.results import CheckResult, document
from argoscope.checks.schema import STATUSES
from argoscope.checks.suites import load_suite
from argoscope.exporter.checkdocs import parse_document

ROOT = Path(__file__).resolve().parents[2]
FRAME = pd.DataFrame({"x": [1.0, 2.0, 3.0], "s": ["a", "b", "c"]})


def test_every_engine_name_resolves_to_an_engine_of_its_kind() -> None:
    for name in DRIFT_ENGINES:
        engine = drift_engine(name)
        assert isinstance(engine, DriftEngine) and engine.name == name
    for name in EXPECTATION_ENGINES:
        if name == "auto":
            continue
        chosen = expectation_engine(name, FRAME, [], "s")
        assert isinstance(chosen, ExpectationEngine) and chosen.name == name


def test_auto_runs_natively_unless_the_native_engine_lacks_an_expectation() -> None:
    native = load_suite([{"type": "expect_column_values_to_not_be_null",
                          "kwargs": {"column": "x"}}]).expectations
    only_ge = load_suite([{"type": "expect_column_values_to_be_of_type",
                           "kwargs": {"column": "s", "type_": "str"}}]).expectations
    assert expectation_engine("auto", FRAME, native, "s").name == "native"
    assert expectation_engine("auto", FRAME, only_ge, "s").name == "ge"
    with pytest.raises(CheckInputError, match=r"the native engine lacks .*object column"):
        expectation_engine("native", FRAME, only_ge, "s")


def test_unknown_engine_names_are_input_errors_naming_the_known_ones() -> None:
    suite = [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "x"}}]
    with pytest.raises(CheckInputError, match=r"unknown expectation engine 'bogus'; known: auto"):
        validate(FRAME, suite, engine="bogus")  # type: ignore[arg-type]
    checks = Checks(path=os.devnull)
    # A wrong argument is the call's mistake: raised at once, never recorded as a result.
    with pytest.raises(CheckInputError, match=r"unknown drift engine 'bogus'; known: native, "
                                               "evidently"):
        checks.drift(FRAME, FRAME, engine="bogus")  # type: ignore[arg-type]
    assert checks.results == []


def test_every_status_the_library_writes_is_one_the_exporter_reads() -> None:
    results = [CheckResult(f"c{i}", "gate", status) for i, status in enumerate(STATUSES)]
    parsed = parse_document(json.dumps(document(results)), 10_000)
    assert [entry["status"] for entry in parsed] == list(STATUSES)


def test_the_schema_module_imports_nothing_heavy() -> None:
    code = ("import sys, argoscope.checks.schema, argoscope.checks._engine; "
            "print([m for m in ('pandas', 'numpy') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert out.stdout.strip() == "[]"
