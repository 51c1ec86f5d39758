"""Every argument of every public check call is checked at the boundary: a misspelled name, an
out-of-range number or a wrong type is an input error (with a hint), never a result.

Generated: misspellings of every enumerated name (operators, severities, engines, methods,
column types, column names) and values outside each range (`drift_share` in (0, 1], p-value
thresholds in (0, 1], distances above 0 and at most their maximum).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from argoscope.checks import CheckInputError, Checks
from argoscope.checks.arguments import COLUMN_TYPES, DISTANCE_MAX
from argoscope.checks.drift_stattests import TESTS, TEXT_TESTS
from argoscope.checks.expect import validate
from argoscope.checks.gates import OPERATORS
from argoscope.checks.schema import SEVERITIES
from argoscope.cli import main
from tests.support.untimed import UNTIMED_CHECKS

RNG = np.random.default_rng(0)
FRAME = pd.DataFrame({"age": RNG.normal(40, 10, 60), "plan": RNG.choice(["free", "pro"], 60)})
METHODS = [*TESTS, *TEXT_TESTS]
P_VALUE_METHODS = [name for name, test in TESTS.items() if test.p_value]
DISTANCE_METHODS = [name for name, test in TESTS.items() if not test.p_value]
FEW = settings(max_examples=25, deadline=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture, *UNTIMED_CHECKS])


@st.composite
def misspelled(draw: st.DrawFn, known: list[str]) -> str:
    """A near miss of one of `known` that is none of them: a letter dropped, doubled,
    swapped or changed, a case slip, a prefix, surrounding blanks."""
    word = draw(st.sampled_from(known))
    at = draw(st.integers(0, max(len(word) - 1, 0)))
    letter = draw(st.sampled_from("aeiorstxz_-> "))
    candidates = [word[:at] + word[at + 1:], word[:at] + word[at] + word[at:],
                  word[:at] + letter + word[at + 1:], word[:at] + letter + word[at:],
                  word[:at + 1][::-1] + word[at + 1:], word.upper(), word.capitalize(),
                  word[: max(1, len(word) // 2)], f" {word}", f"{word} "]
    wrong = draw(st.sampled_from(candidates))
    if wrong in known:
        wrong = wrong + "x"
    return wrong


NOT_NUMBERS = st.sampled_from([math.nan, math.inf, -math.inf, "0.5", True, [0.5]])


def drift(**overrides: Any) -> None:
    checks = Checks(path=os.devnull)
    with pytest.raises(CheckInputError):
        checks.drift(FRAME, FRAME, **overrides)
    assert checks.results == []  # refused, not recorded


@FEW
@given(op=misspelled(list(OPERATORS)), severity=misspelled(list(SEVERITIES)))
def test_a_gate_with_a_misspelled_operator_or_severity_is_refused(op: str, severity: str) -> None:
    checks = Checks(path=os.devnull)
    with pytest.raises(CheckInputError, match="unknown gate operator"):
        checks.gate("accuracy", 0.5, op, 0.85)
    with pytest.raises(CheckInputError, match="unknown severity"):
        checks.gate("accuracy", 0.5, ">", 0.85, severity=severity)  # type: ignore[arg-type]
    assert checks.results == []


@pytest.mark.parametrize("name", ["", "   ", None, 3, ["accuracy"]])
def test_a_check_name_is_a_non_empty_string(name: Any) -> None:
    drift(name=name)
    with pytest.raises(CheckInputError, match="name"):
        Checks(path=os.devnull).gate(name, 0.5, ">", 0.85)


@FEW
@given(threshold=st.one_of(NOT_NUMBERS, st.none()))
def test_a_gate_threshold_must_be_a_finite_number(threshold: Any) -> None:
    with pytest.raises(CheckInputError, match="threshold"):
        Checks(path=os.devnull).gate("accuracy", 0.5, ">", threshold)


def test_the_issue_s_examples_say_what_was_meant() -> None:
    with pytest.raises(CheckInputError, match=r"unknown severity 'Critical' \(did you mean "
                                              r"'critical'\?\)"):
        Checks(path=os.devnull).gate("accuracy", 0.5, ">", 0.85, severity="Critical")  # type: ignore[arg-type]
    with pytest.raises(CheckInputError, match=r"'crit' \(did you mean 'critical'\?\)"):
        Checks(path=os.devnull).drift(FRAME, FRAME, severity="crit")  # type: ignore[arg-type]
    with pytest.raises(CheckInputError, match=r"'agee'.*did you mean 'age'"):
        Checks(path=os.devnull).drift(FRAME, FRAME, per_column_method={"agee": "ks"})
    with pytest.raises(CheckInputError, match=r"current must be a pandas DataFrame, not Series"):
        Checks(path=os.devnull).drift(FRAME, FRAME["age"])  # type: ignore[arg-type]
    with pytest.raises(CheckInputError, match=r"frame must be a pandas DataFrame, not Series"):
        Checks(path=os.devnull).expect(FRAME["age"], [])  # type: ignore[arg-type]


@FEW
@given(engine=misspelled(["native", "evidently"]), method=misspelled(METHODS),
       severity=misspelled(list(SEVERITIES)), kind=misspelled(list(COLUMN_TYPES)),
       column=misspelled(["age", "plan"]))
def test_every_drift_name_is_exact(engine: str, method: str, severity: str, kind: str,
                                   column: str) -> None:
    drift(engine=engine)
    drift(method=method)
    drift(per_column_method={"age": method})
    drift(severity=severity)
    drift(column_types={"age": kind})
    drift(columns=[column])
    drift(per_column_method={column: "ks"})
    drift(per_column_threshold={column: 0.05})
    drift(column_types={column: "numerical"})


@FEW
@given(share=st.one_of(st.floats(max_value=0), st.floats(min_value=1, exclude_min=True),
                       NOT_NUMBERS, st.none()))
def test_drift_share_is_in_zero_one(share: Any) -> None:
    drift(drift_share=share)


@FEW
@given(method=st.sampled_from(P_VALUE_METHODS),
       threshold=st.one_of(st.floats(max_value=0), st.floats(min_value=1, exclude_min=True),
                           NOT_NUMBERS))
def test_a_p_value_threshold_is_in_zero_one(method: str, threshold: Any) -> None:
    drift(method=method, threshold=threshold)
    drift(per_column_method={"age": method}, per_column_threshold={"age": threshold})


@FEW
@given(method=st.sampled_from(DISTANCE_METHODS),
       threshold=st.one_of(st.floats(max_value=0), NOT_NUMBERS))
def test_a_distance_threshold_is_above_zero_and_at_most_its_maximum(method: str,
                                                                   threshold: Any) -> None:
    drift(method=method, threshold=threshold)
    top = DISTANCE_MAX.get(method)
    if top is not None:
        drift(method=method, threshold=top * 1.001)


def test_a_threshold_without_a_method_is_checked_against_the_test_chosen() -> None:
    # 60 rows: Evidently picks K-S (a p-value) for age, so 0.5 is fine and 5 is not.
    Checks(path=os.devnull).drift(FRAME, FRAME, threshold=0.5)
    result = Checks(path=os.devnull).drift(FRAME, FRAME, threshold=5.0)
    assert result.status == "error" and "p-value" in result.message


@FEW
@given(severity=misspelled(["critical", "warning", "info"]),
       engine=misspelled(["auto", "native", "ge"]))
def test_expectation_names_are_exact(severity: str, engine: str) -> None:
    suite = [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "age"},
              "meta": {"severity": severity}}]
    with pytest.raises(CheckInputError, match="unknown severity"):
        validate(FRAME, suite)
    with pytest.raises(CheckInputError, match="unknown expectation engine"):
        Checks(path=os.devnull).expect(FRAME, suite[:0], engine=engine)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("args") / "data.csv"
    FRAME.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("option", [
    ("--drift-share", "2"), ("--drift-share", "0"), ("--drift-share", "nan"),
    ("--threshold", "-1"), ("--method", "kss"), ("--method", "ks", "--threshold", "1.5"),
    ("--columns", "agee"), ("--column-types", "age=Numerical"), ("--engine", "evidentl"),
])
def test_the_cli_refuses_what_the_api_refuses(option: tuple[str, ...], csv: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(["check", "drift", "--reference", str(csv), "--current", str(csv),
                     *option])
    except SystemExit as exit_:  # argparse's own choices (--engine)
        code = int(exit_.code or 0)
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("argoscope check drift: ")


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, *UNTIMED_CHECKS])
@given(data=st.data())
def test_generated_cli_options_are_refused_as_the_api_refuses_them(
        data: st.DataObject, csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    option = data.draw(st.sampled_from(["--drift-share", "--threshold", "--method",
                                        "--column-types", "--columns"]))
    if option == "--drift-share":
        value = repr(data.draw(st.one_of(st.floats(max_value=0), st.floats(min_value=1.0001))))
    elif option == "--threshold":
        value = repr(data.draw(st.one_of(st.floats(max_value=0), st.just(math.nan))))
    elif option == "--method":
        value = data.draw(misspelled(METHODS))
    else:  # comma-separated lists: the CLI trims blanks around each entry, so no blanks
        known = list(COLUMN_TYPES) if option == "--column-types" else ["age", "plan"]
        wrong = data.draw(misspelled(known).map(str.strip).filter(
            lambda w: w and w not in known and "," not in w and "=" not in w))
        value = f"age={wrong}" if option == "--column-types" else wrong
    code = main(["check", "drift", "--reference", str(csv), "--current", str(csv),
                 f"{option}={value}"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, (option, value, err)
    assert err.strip().splitlines()[-1].startswith("argoscope check drift: ")
