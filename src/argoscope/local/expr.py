"""A govaluate-compatible evaluator for Argo's `when` and `depends` expressions.

Argo evaluates a DAG task's `when` (after `{{...}}` substitution) with govaluate, turning every
bare word into a string so that `{{tasks.flip.outputs.result}} == heads` works unquoted. This
module implements that subset: numbers (float64, as govaluate), single- or double-quoted
strings, `true`/`false`, parentheses, `! -` prefixes, `* / %`, `+ -` (`+` concatenates when a
side is a string), comparisons `== != > >= < <=`, regex `=~ !~` (Go's RE2, see `regex`), `&&`
and `||`, with govaluate's type rules: a logical operator on a non-bool, or an ordering
comparison between a number and a string, is an error, never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeAlias

from argoscope.local.names import quoted
from argoscope.local.regex import PatternError, matches

Value: TypeAlias = float | str | bool


class ExpressionError(ValueError):
    """An expression that cannot be parsed or evaluated (Argo fails the task the same way)."""


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "num", "str", "bool", "op", "(", ")"
    value: Value


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\.\d+)
      | (?P<dq>"(?:[^"\\]|\\.)*")
      | (?P<sq>'(?:[^'\\]|\\.)*')
      | (?P<op>==|!=|>=|<=|=~|!~|&&|\|\||[-+*/%<>!()])
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
      | (?P<bracket>\[[^\]]*\])
    )""",
    re.VERBOSE,
)

# Parentheses and `!`/`-` prefixes nested deeper than this are refused.
_MAX_NESTING = 100

_BINARY_PRECEDENCE = {
    "||": 1,
    "&&": 2,
    "==": 3, "!=": 3, ">": 3, ">=": 3, "<": 3, "<=": 3, "=~": 3, "!~": 3,
    "+": 4, "-": 4,
    "*": 5, "/": 5, "%": 5,
}


def _unescape(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal[1:-1])


def tokenize(expression: str) -> list[_Token]:
    """Split an expression into tokens; bare words become strings, as in Argo's `when`."""
    tokens: list[_Token] = []
    position = 0
    stripped = expression.rstrip()
    while position < len(stripped):
        match = _TOKEN.match(stripped, position)
        if match is None or match.end() == position:
            raise ExpressionError(f"cannot parse {quoted(expression)}: unexpected "
                                  f"{stripped[position:].strip()[:20]!r}")
        position = match.end()
        if match.group("num") is not None:
            tokens.append(_Token("num", float(match.group("num"))))
        elif match.group("dq") is not None:
            tokens.append(_Token("str", _unescape(match.group("dq"))))
        elif match.group("sq") is not None:
            tokens.append(_Token("str", _unescape(match.group("sq"))))
        elif match.group("op") is not None:
            op = match.group("op")
            tokens.append(_Token(op if op in "()" else "op", op))
        elif match.group("word") is not None:
            word = match.group("word")
            if word in ("true", "false"):
                tokens.append(_Token("bool", word == "true"))
            else:
                tokens.append(_Token("str", word))
        else:
            tokens.append(_Token("str", match.group("bracket")[1:-1]))
    return tokens


def _describe(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return value


class _Parser:
    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.tokens = tokenize(expression)
        self.position = 0
        self.depth = 0

    def parse(self) -> Value:
        if not self.tokens:
            raise ExpressionError(f"cannot parse {quoted(self.expression)}: empty expression")
        value = self._binary(1)
        if self.position != len(self.tokens):
            raise ExpressionError(
                f"cannot parse {quoted(self.expression)}: unexpected "
                f"{quoted(_describe(self.tokens[self.position].value))}")
        return value

    def _peek(self) -> _Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _next(self) -> _Token:
        token = self._peek()
        if token is None:
            raise ExpressionError(f"cannot parse {quoted(self.expression)}: unexpected end")
        self.position += 1
        return token

    def _binary(self, min_precedence: int) -> Value:
        left = self._unary()
        while True:
            token = self._peek()
            if token is None or token.kind != "op" or token.value not in _BINARY_PRECEDENCE:
                return left
            op = str(token.value)
            precedence = _BINARY_PRECEDENCE[op]
            if precedence < min_precedence:
                return left
            self.position += 1
            right = self._binary(precedence + 1)
            left = _apply(op, left, right)

    def _unary(self) -> Value:
        # Parentheses and prefixes nest by recursion: refused past a depth no real `when`
        # reaches, before Python's own recursion limit would end the run with a crash.
        self.depth += 1
        try:
            if self.depth > _MAX_NESTING + 1:  # the innermost operand is one level more
                raise ExpressionError(f"cannot parse {quoted(self.expression)}: nested more "
                                      f"than {_MAX_NESTING} deep")
            return self._operand()
        finally:
            self.depth -= 1

    def _operand(self) -> Value:
        token = self._next()
        if token.kind == "op" and token.value in ("!", "-"):
            operand = self._unary()
            if token.value == "!":
                if not isinstance(operand, bool):
                    raise ExpressionError(f"value {quoted(_describe(operand))} cannot be used "
                                          "with '!', it is not a bool")
                return not operand
            if isinstance(operand, bool) or not isinstance(operand, float):
                raise ExpressionError(
                    f"value {quoted(_describe(operand))} cannot be negated, it is not a number")
            return -operand
        if token.kind == "(":
            value = self._binary(1)
            closing = self._next()
            if closing.kind != ")":
                raise ExpressionError(f"cannot parse {quoted(self.expression)}: missing ')'")
            return value
        if token.kind in ("num", "str", "bool"):
            return token.value
        raise ExpressionError(f"cannot parse {quoted(self.expression)}: unexpected "
                              f"{quoted(_describe(token.value))}")


def _is_number(value: Value) -> bool:
    return isinstance(value, float) and not isinstance(value, bool)


def _apply(op: str, left: Value, right: Value) -> Value:
    if op in ("&&", "||"):
        for side in (left, right):
            if not isinstance(side, bool):
                raise ExpressionError(f"value {quoted(_describe(side))} cannot be used with the "
                                      f"logical operator '{op}', it is not a bool")
        return (left and right) if op == "&&" else (left or right)
    if op == "==":
        return type(left) is type(right) and left == right
    if op == "!=":
        return not (type(left) is type(right) and left == right)
    if op in ("=~", "!~"):
        if not isinstance(left, str) or not isinstance(right, str) or isinstance(left, bool):
            raise ExpressionError(f"operator '{op}' needs two strings")
        try:
            found = matches(right, left)
        except PatternError as error:
            raise ExpressionError(str(error)) from error
        return found if op == "=~" else not found
    if op in (">", ">=", "<", "<="):
        both_numbers = _is_number(left) and _is_number(right)
        both_strings = (isinstance(left, str) and isinstance(right, str))
        if not (both_numbers or both_strings):
            bad = right if _is_number(left) else left
            raise ExpressionError(f"value {quoted(_describe(bad))} cannot be used with the comparator "
                                  f"'{op}', it is not a number")
        a, b = left, right
        return {">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[op]  # type: ignore[operator]
    if op == "+" and (isinstance(left, str) or isinstance(right, str)) \
            and not isinstance(left, bool) and not isinstance(right, bool):
        return _describe(left) + _describe(right)
    if not (_is_number(left) and _is_number(right)):
        bad = right if _is_number(left) else left
        raise ExpressionError(
            f"value {quoted(_describe(bad))} cannot be used with the modifier '{op}', it is not a number")
    a_num, b_num = float(left), float(right)
    if op == "+":
        return a_num + b_num
    if op == "-":
        return a_num - b_num
    if op == "*":
        return a_num * b_num
    if b_num == 0:
        raise ExpressionError(f"division by zero in '{op}'")
    return a_num / b_num if op == "/" else float(int(a_num) % int(b_num))


def evaluate(expression: str) -> Value:
    """Evaluate an expression to a number, string or bool; raises `ExpressionError`."""
    return _Parser(expression).parse()


def evaluate_when(expression: str) -> bool:
    """Evaluate a `when` clause as Argo does: the result must be a bool."""
    result = evaluate(expression)
    if not isinstance(result, bool):
        raise ExpressionError(
            f"expected boolean evaluation for {quoted(expression)}, got {quoted(_describe(result))}")
    return result
