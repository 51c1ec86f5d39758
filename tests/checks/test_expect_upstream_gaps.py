"""Where native expectations and Great Expectations used to part, each pinned by the case
that shows it, and the two ways a suite could run code closed.

- Evaluation parameters: GE's own `expect_column_values_to_be_between__evaluation_parameters`
  cases (tests/test_definitions/column_map_expectations/ in great_expectations), evaluated
  by argoscope's safe evaluator and held to GE's `parse_suite_parameter`.
- `expect_table_columns_to_match_set` with `exact_match: null` and integer column labels,
  an invalid `result_format`, `mostly: null`, an empty `row_condition`.
- `row_condition`: GE's comparison grammar only; `@`-references and calls refused, on every
  engine, unless the suite is trusted.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from argoscope.checks import CheckInputError, Checks
from argoscope.checks.conditions import refusal
from argoscope.checks.expect import validate
from argoscope.checks.parameters import evaluate
from argoscope.cli import main

# GE's upstream data for the evaluation-parameter cases: `ts` has the pandas schema datetime.
TS = pd.DataFrame({"ts": pd.to_datetime([
    "1970-01-01T12:00:01", "1999-12-31T12:00:01", "2000-01-01T12:00:01", "2000-02-01T12:00:01",
    "2000-03-01T12:00:01", "2000-04-01T12:00:01", "2000-05-01T12:00:01", "2000-06-01T12:00:01",
    None, "2001-01-01T12:00:01"])})
# (title, kwargs, success, number of unexpected rows or None when the case gives none)
UPSTREAM_PARAMETER_CASES = [
    ("basic_positive_now_test", {"max_value": {"$PARAMETER": "now()"}}, True, 0),
    ("basic_negative_now_test", {"min_value": {"$PARAMETER": "now()"}}, False, 9),
    ("basic_positive_now_timedelta_test",
     {"min_value": {"$PARAMETER": "now() - timedelta(weeks=52*100)"}}, True, 0),
    ("basic_negative_now_timedelta_test",
     {"max_value": {"$PARAMETER": "now() - timedelta(weeks=52*100)"}}, False, 9),
    ("basic_positive_datetime_test", {"max_value": {"$PARAMETER": "datetime(2003, 1, 1)"},
                                      "min_value": {"$PARAMETER": "datetime(1969, 1, 1)"}},
     True, None),
    ("basic_negative_datetime_test", {"max_value": {"$PARAMETER": "datetime(1969, 1, 1)"}},
     False, 9),
]


def _between(kwargs: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"type": "expect_column_values_to_be_between", "kwargs": {"column": "ts", **kwargs}}]


@pytest.mark.parametrize(("title", "kwargs", "success", "unexpected"), UPSTREAM_PARAMETER_CASES,
                         ids=[case[0] for case in UPSTREAM_PARAMETER_CASES])
@pytest.mark.parametrize("engine", ["native", "ge"])
def test_ge_s_evaluation_parameter_cases(title: str, kwargs: dict[str, Any], success: bool,
                                         unexpected: int | None, engine: str,
                                         ge_engine: ModuleType) -> None:
    (result,) = validate(TS, _between(kwargs), engine)  # type: ignore[arg-type]
    assert result.status == ("passed" if success else "failed"), result.message
    if unexpected is not None:
        assert result.details["unexpected_count"] == unexpected


def test_parameters_passed_in_and_inline_values() -> None:
    suite = [{"type": "expect_column_values_to_be_between",
              "kwargs": {"column": "x", "min_value": {"$PARAMETER": "low * 2"},
                         "max_value": {"$PARAMETER": "high"}}}]
    frame = pd.DataFrame({"x": [2.0, 3.0, 9.0]})
    (passed,) = validate(frame, suite, "native", parameters={"low": 1, "high": 9})
    (failed,) = validate(frame, suite, "native", parameters={"low": 1.5, "high": 8})
    assert (passed.status, failed.status) == ("passed", "failed")
    assert failed.details["unexpected_count"] == 2
    inline = [{"type": "expect_table_row_count_to_be_between",
               "kwargs": {"max_value": {"$PARAMETER": "n", "$PARAMETER.n": 2}}}]
    assert validate(frame, inline, "native")[0].status == "failed"
    with pytest.raises(CheckInputError, match=r"no value for the parameter 'high'"):
        validate(frame, suite, "native", parameters={"low": 1})


@pytest.mark.parametrize("expression", [
    "__import__('os').system('true')", "x.real", "x[0]", "'a' + 'b'", "open('f')",
    "lambda: 1", "(1).__class__", "2 ^ 5000",
])
def test_the_evaluator_refuses_what_is_not_ge_s_grammar(expression: str) -> None:
    with pytest.raises(CheckInputError, match=r"\$PARAMETER"):
        evaluate(expression, {"x": 1})


def test_one_token_is_a_parameter_name_as_in_ge_and_a_whole_group_is_evaluated() -> None:
    for token in ("5", "PI", "now", "x"):
        with pytest.raises(CheckInputError, match="no value for the parameter"):
            evaluate(token)
    assert evaluate("x", {"x": [1, 2]}) == [1, 2]  # a lone name: its value, of any type
    assert evaluate("(1 + 2)") == 3  # GE reads this as a parameter name (docs/design.md)


ATOMS = st.one_of(st.integers(-50, 50).map(str),
                  st.floats(0.5, 99, allow_nan=False).map(lambda v: f"{v:.3f}"),
                  st.sampled_from(["PI", "E", "p", "q"]))


@st.composite
def expressions(draw: st.DrawFn, depth: int = 3, top: bool = True) -> str:
    """Arithmetic in GE's grammar: numbers, parameters, + - * /, functions, parentheses.

    At the top, never one token or one parenthesised group: GE reads either as a parameter's
    name (and refuses `(1 + 2)` or `5` without a parameter of that name); argoscope refuses a
    lone token alike but evaluates a parenthesised whole (see docs/design.md)."""
    if not top and (depth == 0 or draw(st.booleans())):
        return draw(ATOMS)
    kind = draw(st.sampled_from(["binary", "function", "negate"]))
    if kind == "function":
        name = draw(st.sampled_from(["abs", "round", "trunc", "sgn", "sin", "cos"]))
        return f"{name}({draw(expressions(depth - 1, False))})"
    if kind == "negate":
        return f"-({draw(expressions(depth - 1, False))})"
    op = draw(st.sampled_from(["+", "-", "*", "/"]))
    pair = f"{draw(expressions(depth - 1, False))} {op} {draw(expressions(depth - 1, False))}"
    return pair if top else f"({pair})"


@settings(max_examples=40, deadline=None)
@given(expression=expressions())
def test_the_evaluator_agrees_with_ge_s_parser(expression: str, ge_engine: ModuleType) -> None:
    from great_expectations.core.suite_parameters import parse_suite_parameter
    from great_expectations.exceptions import SuiteParameterError

    parameters = {"p": 3, "q": 0.25}
    try:
        expected = parse_suite_parameter(expression, parameters)
    except SuiteParameterError:  # GE fails (a division by zero, say): so must we
        with pytest.raises(CheckInputError):
            evaluate(expression, parameters)
        return
    assert math.isclose(evaluate(expression, parameters), expected, rel_tol=1e-12, abs_tol=1e-12)


def test_dates_agree_with_ge_s_parser(ge_engine: ModuleType) -> None:
    from great_expectations.core.suite_parameters import parse_suite_parameter

    for expression in ("datetime(2003, 1, 1)", "datetime(2003, 1, 1) - timedelta(weeks=52*100)",
                       "datetime(2020, 2, 29) + timedelta(days=1, hours=3)"):
        assert evaluate(expression).isoformat() == parse_suite_parameter(expression)
    now = evaluate("now()")
    assert abs(now - dt.datetime.fromisoformat(parse_suite_parameter("now()"))).total_seconds() < 60


LABELS = pd.DataFrame({"a": [1], "b": [2]})
INTEGER_LABELS = pd.DataFrame({0: [1], 1: [2]})


@pytest.mark.parametrize(("frame", "kwargs"), [
    (LABELS, {"column_set": ["a"], "exact_match": None}),
    (LABELS, {"column_set": ["a", "b", "c"], "exact_match": None}),
    (INTEGER_LABELS, {"column_set": ["0", "1"]}),
    (INTEGER_LABELS, {"column_set": [0, 1]}),
    (INTEGER_LABELS, {"column_set": ["0"], "exact_match": False}),
])
def test_column_sets_match_ge_on_null_exact_match_and_integer_labels(
        frame: pd.DataFrame, kwargs: dict[str, Any], ge_engine: ModuleType) -> None:
    suite = [{"type": "expect_table_columns_to_match_set", "kwargs": kwargs}]
    native, through_ge = validate(frame, suite, "native")[0], validate(frame, suite, "ge")[0]
    assert (native.status, native.value) == (through_ge.status, through_ge.value)


@pytest.mark.parametrize("kwargs", [
    {"result_format": "SUMMARYY"}, {"result_format": {"result_format": "everything"}},
    {"mostly": None}, {"row_condition": "", "condition_parser": "pandas"},
])
@pytest.mark.parametrize("engine", ["auto", "native"])
def test_arguments_ge_refuses_are_refused_on_every_engine(kwargs: dict[str, Any],
                                                          engine: str) -> None:
    suite = [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a", **kwargs}}]
    with pytest.raises(CheckInputError):
        validate(LABELS, suite, engine)  # type: ignore[arg-type]


def test_parameters_from_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    (tmp_path / "suite.json").write_text(json.dumps({"expectations": [
        {"type": "expect_column_values_to_be_between",
         "kwargs": {"column": "a", "max_value": {"$PARAMETER": "top * 2"}}}]}))
    (tmp_path / "data.csv").write_text("a\n1\n7\n")
    args = ["check", "expect", "--suite", str(tmp_path / "suite.json"), str(tmp_path / "data.csv")]
    assert main([*args, "--parameter", "top=4"]) == 0
    assert main([*args, "--parameter", "top=3"]) == 1
    assert main(args) == 2 and "no value for the parameter 'top'" in capsys.readouterr().err


def test_mostly_null_is_exit_2_on_the_cli(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "suite.json").write_text('{"expectations": [{"type": '
                                         '"expect_column_values_to_not_be_null", "kwargs": '
                                         '{"column": "a", "mostly": null}}]}')
    (tmp_path / "data.csv").write_text("a\n1\n")
    code = main(["check", "expect", "--suite", str(tmp_path / "suite.json"),
                 str(tmp_path / "data.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "mostly" in err


# --- row_condition never runs code --------------------------------------------------------

def _with_condition(condition: str) -> list[dict[str, Any]]:
    return [{"type": "expect_column_values_to_be_in_set",
             "kwargs": {"column": "b", "value_set": [2], "row_condition": condition,
                        "condition_parser": "pandas"}}]


@pytest.mark.parametrize("engine", ["auto", "native", "ge"])
def test_a_row_condition_that_would_run_a_shell_command_is_refused(
        engine: str, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    exploit = f'@pd.io.common.os.system("touch {marker}") == 0'
    with pytest.raises(CheckInputError, match=r"@-reference.*trust_suite=True"):
        validate(LABELS, _with_condition(exploit), engine)  # type: ignore[arg-type]
    checks = Checks(path=tmp_path / "c.json")
    (result,) = checks.expect(LABELS, _with_condition(exploit), engine)  # type: ignore[arg-type]
    assert result.status == "error" and result.severity == "critical"
    assert not marker.exists()


@pytest.mark.parametrize("condition", [
    {"type": "pass_through", "pass_through_filter": "@pd.io.common.os.system('true') == 0"},
    {"type": "and", "conditions": [
        {"type": "comparison", "column": {"name": "a"}, "operator": ">", "parameter": 0},
        {"type": "pass_through", "pass_through_filter": "a.abs() > 0"}]},
])
def test_a_pass_through_condition_object_is_held_to_the_same_grammar(
        condition: dict[str, Any]) -> None:
    suite = [{"type": "expect_column_values_to_be_in_set",
              "kwargs": {"column": "b", "value_set": [2], "row_condition": condition}}]
    with pytest.raises(CheckInputError, match="trust_suite=True"):
        validate(LABELS, suite, "ge")


def test_the_cli_refuses_it_too_and_only_trust_hands_it_to_ge(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], ge_engine: ModuleType) -> None:
    import json

    suite = tmp_path / "suite.json"
    suite.write_text(json.dumps({"expectations": _with_condition("a.abs() > 0")}))
    (tmp_path / "data.csv").write_text("a,b\n1,2\n-1,3\n")
    refused = main(["check", "expect", "--suite", str(suite), str(tmp_path / "data.csv")])
    assert refused == 2 and "uses a call" in capsys.readouterr().err
    trusted = main(["check", "expect", "--suite", str(suite), str(tmp_path / "data.csv"),
                    "--trust-suite", "--out", str(tmp_path / "c.json")])
    # GE evaluated the call (both rows kept): b=3 is outside the set, so the check failed.
    assert trusted == 1
    (entry,) = json.loads((tmp_path / "c.json").read_text())["results"]
    assert entry["details"]["unexpected_count"] == 1


COLUMNS = st.sampled_from(["a", "b", "`a`"])
LITERALS = st.one_of(st.integers(-3, 3).map(str), st.sampled_from(["1.5", "'x'", "[1, 2]"]))


@st.composite
def conditions(draw: st.DrawFn, depth: int = 2) -> str:
    """Conditions in GE's documented comparison grammar."""
    if depth == 0 or draw(st.booleans()):
        op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in", "not in"]))
        right = draw(LITERALS)
        if op in ("in", "not in"):
            right = "[1, 2]"
        elif right in ("'x'", "[1, 2]"):
            op = draw(st.sampled_from(["==", "!="]))
        return f"{draw(COLUMNS)} {op} {right}"
    joiner = draw(st.sampled_from([" and ", " or ", " & ", " | "]))
    return f"({draw(conditions(depth - 1))}){joiner}({draw(conditions(depth - 1))})"


FRAME = pd.DataFrame({"a": [-2, -1, 0, 1, 2, 3], "b": [1, 2, 2, 3, 1, 2]})


@settings(max_examples=40, deadline=None)
@given(condition=conditions(), wrap=st.sampled_from([
    "@{c}", "({c}).__class__", "{c} and b.abs() > 0", "{c} or @x", "{c} & a[0] > 1",
    "{c} | (lambda: 1)() == 1"]))
def test_the_grammar_keeps_rows_as_query_does_and_refuses_any_code(condition: str,
                                                                   wrap: str) -> None:
    assert refusal(condition) == ""
    suite = [{"type": "expect_column_values_to_be_in_set",
              "kwargs": {"column": "b", "value_set": [2], "row_condition": condition,
                         "condition_parser": "pandas"}}]
    (result,) = validate(FRAME, suite, "native")
    kept = FRAME.query(condition)
    assert result.details["element_count"] == len(kept)
    assert result.details.get("unexpected_count", 0) == int((kept["b"] != 2).sum())
    hostile = wrap.format(c=condition)
    assert refusal(hostile), hostile
    with pytest.raises(CheckInputError):
        validate(FRAME, [{**suite[0], "kwargs": {**suite[0]["kwargs"], "row_condition": hostile}}],
                 "auto")
