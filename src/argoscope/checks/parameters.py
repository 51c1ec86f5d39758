"""GE's evaluation parameters (`{"$PARAMETER": "now() - timedelta(weeks=52*100)"}`), evaluated
by a small safe evaluator: the expression is parsed with `ast` and walked, never `eval`ed.

The grammar is GE's own (`SuiteParameterParser`): numbers, `+ - * /`, `^` for a power, unary
minus, parentheses, the constants `PI` and `E`, the functions `sin`, `cos`, `tan`, `exp`,
`abs`, `trunc`, `round`, `sgn`, `now`, `datetime` and `timedelta` (positional or keyword
arguments), and names of parameters passed in. A lone token is a parameter's name, whose
value is taken as given (any type, as GE substitutes it; a lone number or `PI` is refused,
as GE refuses it); inside arithmetic a parameter must read as a number or a date. An
`{"$PARAMETER": "x", "$PARAMETER.x": value}` dict carries its value inline, as GE allows.
Anything else (attributes, subscripts, strings, other names) is an input error naming it.
"""

from __future__ import annotations

import ast
import datetime as dt
import math
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from argoscope.checks.results import CheckInputError

KEY = "$PARAMETER"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_$]*$")
_NUMBER = re.compile(r"^[+-]?(?:\d+|\.\d+)(?:\.\d+)?(?:[eE][+-]?\d+)?$")
_EPSILON = 1e-12
MAX_EXPONENT = 1000  # a power beyond this would only burn CPU (10 ** 10 ** 9)


def _sgn(value: float) -> int:
    return -1 if value < -_EPSILON else 1 if value > _EPSILON else 0


FUNCTIONS: Mapping[str, Callable[..., Any]] = {
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "exp": math.exp, "abs": abs,
    "trunc": int, "round": round, "sgn": _sgn, "now": dt.datetime.now,
    "datetime": dt.datetime, "timedelta": dt.timedelta}
CONSTANTS: Mapping[str, float] = {"PI": math.pi, "E": math.e}
_BINARY: Mapping[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow}


def is_parameter(value: object) -> bool:
    """True for GE's `{"$PARAMETER": ...}` form."""
    return isinstance(value, dict) and KEY in value


class _Evaluator:
    def __init__(self, expression: str, parameters: Mapping[str, Any]) -> None:
        self.expression = expression
        self.parameters = parameters

    def fail(self, why: str) -> CheckInputError:
        return CheckInputError(f"$PARAMETER {self.expression!r}: {why}")

    def value(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.value(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = self.value(node.left), self.value(node.right)
            if isinstance(node.op, ast.Pow) and isinstance(right, (int, float)) \
                    and abs(right) > MAX_EXPONENT:
                raise self.fail(f"an exponent above {MAX_EXPONENT} is refused")
            try:
                return _BINARY[type(node.op)](left, right)
            except (TypeError, ValueError, ArithmeticError) as error:
                raise self.fail(str(error)) from None
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in FUNCTIONS:
            args = [self.value(arg) for arg in node.args]
            kwargs = {kw.arg: self.value(kw.value) for kw in node.keywords if kw.arg}
            if len(kwargs) != len(node.keywords):
                raise self.fail("** arguments are not in the grammar")
            try:
                return FUNCTIONS[node.func.id](*args, **kwargs)
            except (TypeError, ValueError, ArithmeticError) as error:
                raise self.fail(f"{node.func.id}(): {error}") from None
        raise self.fail(f"{ast.unparse(node)!r} is not in GE's parameter grammar (numbers, + - * / ^, "
                        f"{', '.join(FUNCTIONS)}, PI, E, parameter names)")

    def name(self, name: str) -> Any:
        upper = name.upper()
        if upper in CONSTANTS and name not in self.parameters:
            return CONSTANTS[upper]
        if name not in self.parameters:
            raise self.fail(f"no value for the parameter {name!r}")
        # Inside an expression GE substitutes the value's text, then reads it as an int, a
        # float or a date (dateutil), in that order.
        text = str(self.parameters[name])
        for parse in (int, float):
            try:
                return parse(text)
            except ValueError:
                continue
        from dateutil import parser  # type: ignore[import-untyped,unused-ignore]  # pandas' own dependency

        try:
            return parser.parse(text)
        except (ValueError, OverflowError):
            raise self.fail(f"the parameter {name!r} ({text!r}) is not a number or a "
                            "date") from None


def evaluate(expression: object, parameters: Mapping[str, Any] | None = None) -> Any:
    """The value of one `$PARAMETER` expression; CheckInputError for anything outside GE's
    grammar or a parameter with no value."""
    given = dict(parameters or {})
    if not isinstance(expression, str) or not expression.strip():
        raise CheckInputError(f"$PARAMETER: an expression must be a non-empty string, "
                              f"not {expression!r}")
    text = expression.strip()
    if _NAME.match(text) or _NUMBER.match(text):  # one token: GE substitutes, never computes
        if text not in given:
            raise CheckInputError(f"$PARAMETER {text!r}: no value for the parameter {text!r} "
                                  "(pass it in parameters=)")
        return given[text]  # a bare name: the value as given, of any type (as GE does)
    try:
        tree = ast.parse(text.replace("^", "**"), mode="eval")
    except SyntaxError as error:
        raise CheckInputError(f"$PARAMETER {text!r}: not an expression ({error.msg})") from None
    return _Evaluator(text, given).value(tree.body)


def resolve(kwargs: Mapping[str, Any], parameters: Mapping[str, Any] | None,
            where: str) -> dict[str, Any]:
    """`kwargs` with every `{"$PARAMETER": ...}` replaced by its value."""
    resolved = dict(kwargs)
    for name, value in kwargs.items():
        if not is_parameter(value):
            continue
        expression = value[KEY]
        inline = f"{KEY}.{expression}"
        try:
            resolved[name] = value[inline] if inline in value else evaluate(expression,
                                                                            parameters)
        except CheckInputError as error:
            raise CheckInputError(f"{where}: {name}: {error}") from None
    return resolved
