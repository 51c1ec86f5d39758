"""`depends` results as Argo defines them."""

from __future__ import annotations

import pytest

from argoscope.local.depends import DependsError, TaskOutcome, operands, satisfied

OUTCOMES = {
    "ok": TaskOutcome("Succeeded"), "bad": TaskOutcome("Failed"), "err": TaskOutcome("Error"),
    "skip": TaskOutcome("Skipped"), "omit": TaskOutcome("Omitted"),
    "mixed": TaskOutcome("Failed", ("Succeeded", "Failed")),
    "allbad": TaskOutcome("Failed", ("Failed", "Failed")),
}


@pytest.mark.parametrize(("expression", "expected"), [
    ("ok", True), ("skip", True), ("bad", False), ("omit", False),
    ("ok.Succeeded", True), ("bad.Failed", True), ("err.Errored", True), ("err.Failed", False),
    ("skip.Skipped", True), ("omit.Omitted", True),
    ("bad.Completed", True), ("ok.Completed", True), ("omit.Completed", False),
    ("mixed.AnySucceeded", True), ("mixed.AllFailed", False), ("allbad.AllFailed", True),
    ("ok && bad", False), ("ok || bad", True), ("!bad.Succeeded && (ok || err)", True),
])
def test_results(expression: str, expected: bool) -> None:
    assert satisfied(expression, OUTCOMES) is expected


def test_bad_expressions() -> None:
    with pytest.raises(DependsError, match="unknown task result"):
        operands("a.Finished")
    with pytest.raises(DependsError, match="cannot parse"):
        operands("a + b")
    with pytest.raises(DependsError, match="unknown task"):
        satisfied("ghost", OUTCOMES)
