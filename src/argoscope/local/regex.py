"""The `=~` and `!~` operators of a `when` expression, matched as Argo matches them.

Argo evaluates `when` with govaluate, whose `=~` is Go's `regexp`: RE2 syntax (no
backreferences, no lookaround, no possessive quantifiers) and matching in time linear in the
input, whatever the pattern. Python's `re` is neither: it accepts patterns Argo refuses and
backtracks, so a nested quantifier (`(a+)+$`) on a few dozen characters stalls the runner. This
module matches with RE2 itself (the `google-re2` package, the `local` extra) and refuses what
Go refuses, so a pattern behaves here as on a cluster and no pattern can stall a run.
"""

from __future__ import annotations

from typing import Any

from argoscope.local.names import quoted

# Go's regexp refuses `\C` (any single byte), which RE2's C++ parser accepts: one byte of a
# UTF-8 character is not a character of the string.
_GO_REFUSES = {"C": "invalid escape sequence: \\C"}


class PatternError(ValueError):
    """A pattern Argo would refuse, or that cannot be matched here (the message says why)."""


def _engine() -> Any:
    try:
        import re2
    except ModuleNotFoundError as error:  # the base install: refuse rather than backtrack
        raise PatternError(
            "the '=~' and '!~' operators need the RE2 engine that Argo's expressions use: "
            "install it with pip install 'argoscope[local]'") from error
    return re2


def _go_problem(pattern: str) -> str | None:
    """What Go's parser refuses that RE2's accepts, or None."""
    escaped = False
    for character in pattern:
        if escaped:
            if character in _GO_REFUSES:
                return _GO_REFUSES[character]
            escaped = False
        elif character == "\\":
            escaped = True
    return None


def _compiled(pattern: str) -> Any:
    # Not cached: compiling a `when` pattern takes microseconds, and a cache of compiled
    # programs (up to RE2's 8 MiB each) would grow with the patterns a run's outputs make.
    re2 = _engine()
    problem = _go_problem(pattern)
    if problem is None:
        options = re2.Options()
        options.log_errors = False  # RE2 would print every refused pattern on stderr
        try:
            return re2.compile(pattern, options)
        except re2.error as error:
            reason = error.args[0] if error.args else error
            problem = reason.decode("utf-8", "replace") if isinstance(reason, bytes) \
                else str(reason)
        except UnicodeEncodeError as error:
            problem = f"not valid text: {error.reason}"
    raise PatternError(f"unsupported regular expression {quoted(pattern)}: {problem} (Argo matches "
                       "with Go's RE2 syntax: no backreferences, lookaround or possessive "
                       "quantifiers)")


def matches(pattern: str, text: str) -> bool:
    """Whether `pattern` matches anywhere in `text`, as Go's `regexp.MatchString`.

    Raises `PatternError` for a pattern Go refuses (or when RE2 is not installed). Time is
    linear in `len(text)` for every pattern."""
    compiled = _compiled(pattern)
    try:
        return compiled.search(text) is not None
    except UnicodeEncodeError as error:
        raise PatternError(f"cannot match {quoted(pattern)}: the value is not valid text "
                           f"({error.reason})") from error
