"""The `when` evaluator follows govaluate as Argo uses it."""

from __future__ import annotations

import pytest

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
