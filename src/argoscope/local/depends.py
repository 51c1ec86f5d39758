"""DAG dependencies: `dependencies: [A, B]` and `depends: "A && (B.Failed || C.Skipped)"`.

As in Argo, `dependencies: [A, B]` means `A && B`, and a bare `A` means
`(A.Succeeded || A.Skipped || A.Daemoned)`. A task runs when every task it names is finished
and the expression holds; when the expression is false it is Omitted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from argoscope.local.expr import ExpressionError, evaluate
from argoscope.local.names import quoted

RESULTS = ("Succeeded", "Failed", "Errored", "Skipped", "Omitted", "Daemoned", "Completed",
           "AnySucceeded", "AllFailed")

_OPERAND = re.compile(r"(?<![\w.-])([A-Za-z0-9_][A-Za-z0-9_-]*)(?:\.([A-Za-z]+))?(?![\w-])")
_LOGIC = re.compile(r"^[\s()!&|]*$")


class DependsError(ValueError):
    """A `depends` expression that names an unknown task or result, or cannot be parsed."""


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    """What a finished dependency was: its phase, and its fan-out children's phases."""

    phase: str
    children: tuple[str, ...] = ()


def depends_expression(dependencies: Sequence[str] | None, depends: str | None) -> str:
    """The task's dependency logic as one `depends` expression ('' when it has none)."""
    if depends:
        return depends
    return " && ".join(dependencies or ())


def operands(expression: str) -> list[tuple[str, str]]:
    """(task, result) pairs an expression names; result is '' for a bare task name."""
    found = [(m.group(1), m.group(2) or "") for m in _OPERAND.finditer(expression)]
    leftover = _OPERAND.sub("", expression)
    if not _LOGIC.match(leftover):
        raise DependsError(f"cannot parse depends {quoted(expression)}")
    for task, result in found:
        if result and result not in RESULTS:
            raise DependsError(f"unknown task result {task}.{result} (one of {', '.join(RESULTS)})")
    return found


def _result(outcome: TaskOutcome, result: str) -> bool:
    phase = outcome.phase
    if result == "":
        return phase in ("Succeeded", "Skipped")
    if result == "Succeeded":
        return phase == "Succeeded"
    if result == "Failed":
        return phase == "Failed"
    if result == "Errored":
        return phase == "Error"
    if result == "Skipped":
        return phase == "Skipped"
    if result == "Omitted":
        return phase == "Omitted"
    if result == "Daemoned":
        return False  # daemon templates are refused by the local runner
    if result == "Completed":
        return phase in ("Succeeded", "Failed", "Error", "Skipped")
    if result == "AnySucceeded":
        return any(child == "Succeeded" for child in outcome.children)
    if result == "AllFailed":
        return bool(outcome.children) and all(child == "Failed" for child in outcome.children)
    raise DependsError(f"unknown task result {result}")


def satisfied(expression: str, outcomes: Mapping[str, TaskOutcome]) -> bool:
    """Whether the expression holds, given every named task's outcome."""
    def replace(match: re.Match[str]) -> str:
        outcome = outcomes.get(match.group(1))
        if outcome is None:
            raise DependsError(f"depends names unknown task {match.group(1)!r}")
        return "true" if _result(outcome, match.group(2) or "") else "false"

    try:
        value = evaluate(_OPERAND.sub(replace, expression))
    except ExpressionError as error:
        raise DependsError(f"cannot evaluate depends {quoted(expression)}: {error}") from error
    if not isinstance(value, bool):
        raise DependsError(f"depends {quoted(expression)} is not a boolean expression")
    return value
