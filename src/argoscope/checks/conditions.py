"""`row_condition` strings: GE's documented comparison grammar, and nothing that runs code.

GE's pandas engine hands a string `row_condition` to `DataFrame.query`, where `@name` reads
(and `@obj.attr(...)` calls) anything in reach: `@pd.io.common.os.system("...")` runs a shell
command. A suite is data, often from a shared repository, so a condition is accepted only in
the grammar GE documents for it: column names (bare or in backticks), literals (numbers,
strings, True/False/None, lists of those), comparisons (`==`, `!=`, `<`, `<=`, `>`, `>=`,
`in`, `not in`), `and`/`or`/`not`, `&`/`|`/`~`, arithmetic without powers, and parentheses.
An `@`-reference, a call, an attribute, a subscript, a lambda is refused with a clear error;
a condition that is not in the grammar is handed to GE only when the caller trusts the suite
(`trust_suite=True`, `--trust-suite`), since GE then runs it as code.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize

_BACKTICKED = re.compile(r"`[^`]*`")
_ALLOWED = (ast.Expression, ast.Compare, ast.BoolOp, ast.And, ast.Or, ast.BinOp, ast.UnaryOp,
            ast.Not, ast.Invert, ast.USub, ast.UAdd, ast.BitAnd, ast.BitOr, ast.Add, ast.Sub,
            ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Name, ast.Load, ast.Constant,
            ast.List, ast.Tuple, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In,
            ast.NotIn)
_WHAT = {ast.Call: "a call", ast.Attribute: "an attribute", ast.Subscript: "a subscript",
         ast.Lambda: "a lambda", ast.Pow: "a power", ast.MatMult: "an @-reference"}


def refusal(condition: str) -> str:
    """Why `condition` is outside the safe grammar; '' when it is inside."""
    if not condition.strip():
        return "is empty"
    text = _BACKTICKED.sub(lambda match: "_argoscope_column", condition)
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError) as error:
        return f"is not a comparison ({error})"
    if any(token.type == tokenize.OP and token.string == "@" for token in tokens):
        return "uses an @-reference (it would read and run Python objects)"
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        return f"is not a comparison ({error.msg})"
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            what = _WHAT.get(type(node), type(node).__name__)
            return f"uses {what}, which the comparison grammar does not allow"
        if isinstance(node, ast.Constant) and not isinstance(
                node.value, (str, int, float, bool, type(None))):
            return f"uses the literal {node.value!r}"
    return ""


def is_safe(condition: str) -> bool:
    """True when `condition` is in the safe grammar (evaluating it runs no code)."""
    return not refusal(condition)
