"""The `when` evaluator follows govaluate as Argo uses it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from argoscope.local.expr import ExpressionError, evaluate, evaluate_when


@pytest.mark.parametrize(("expression", "expected"), [
    ("0.91 > 0.85", True),
    ("0.80 > 0.85", False),
    ("1 >= 1 && 2 <= 3", True),
    ("1 == 1.0", True),
    ("heads == heads", True),          # bare words are strings, as Argo makes them
    ("heads != tails", True),
    ("'a b' == \"a b\"", True),
    ("!(1 > 2)", True),
    ("true || false && false", True),  # && binds tighter than ||
    ("(true || false) && false", False),
    ("2 + 3 * 4 == 14", True),
    ("-1 < 0", True),
    ("abc =~ '^a'", True),
    ("abc !~ '^b'", True),
    ("'b' > 'a'", True),               # two strings compare lexically
    ("'5' == 5", False),               # a string never equals a number
])
def test_when_values(expression: str, expected: bool) -> None:
    assert evaluate_when(expression) is expected


@pytest.mark.parametrize("expression", [
    "0.9 > abc",          # ordering a number against a string
    "1 && true",          # logical operator on a non-bool
    "!5",
    "(1 > 2",             # unbalanced
    "1 >",                # dangling operator
    "",                   # empty
    "1 > 2 3",            # trailing token
    "a $ b",              # unknown character
])
def test_invalid_expressions_raise(expression: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate_when(expression)


def test_non_boolean_when_is_an_error() -> None:
    assert evaluate("1 + 2") == 3.0
    with pytest.raises(ExpressionError, match="boolean"):
        evaluate_when("1 + 2")


# Expressions that fail, around a value of any size (a step's output can be 256 kB).
_FAILING = st.sampled_from([
    "'{v}' > 1",            # a string ordered against a number
    "!'{v}'",               # `!` on a string
    "'{v}' && true",        # a logical operator on a string
    "'{v}' =~ '(?=x)'",     # a pattern Go refuses
    "'{v}' =~ '{v}(?=x)'",  # ... that is itself large
    "'{v}",                 # an unterminated string
    "{v} {v}",              # two values, no operator
    "-'{v}'",               # a string negated
])


@settings(max_examples=40, deadline=None)
@given(shape=_FAILING, size=st.integers(0, 300_000), letter=st.sampled_from("ab"))
def test_errors_stay_a_line_whatever_the_value(shape: str, size: int, letter: str) -> None:
    expression = shape.format(v=letter * size)
    with pytest.raises(ExpressionError) as caught:
        evaluate_when(expression)
    assert len(str(caught.value)) < 1500


@pytest.mark.parametrize("depth", [101, 5000])
def test_nesting_past_the_limit_is_an_error_not_a_crash(depth: int) -> None:
    for expression in ("(" * depth + "true" + ")" * depth, "!" * depth + "true"):
        with pytest.raises(ExpressionError, match="nested more than 100 deep"):
            evaluate_when(expression)
    assert evaluate_when("(" * 100 + "true" + ")" * 100) is True
