"""`=~` and `!~` in `when`: Go's RE2 as Argo matches, so no pattern can stall a run.

Through a run (`LocalRun`, `argoscope run`) for what a person sees, and generated over the
expression evaluator for the classes: simple patterns match as Go matches them, nested
quantifiers on hostile inputs answer (RE2 is linear), constructs Go refuses are refused by name.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from argoscope.local.expr import ExpressionError, evaluate_when
from tests.support.local_runs import RunYaml, workflow_yaml

ECHO = """
- name: echo
  container: {image: alpine, command: [echo, ran]}
"""

# A pattern whose backtracking is exponential in the input: `re` needs about 2**n steps on
# n a's and a final character that fails it; RE2 answers in one pass.
NESTED = "^(a+)+$"


def dag(tasks: str) -> str:
    body = "\n".join("      " + line for line in tasks.strip("\n").splitlines())
    return f"- name: main\n  dag:\n    tasks:\n{body}\n{ECHO}"


@pytest.mark.timeout(60)  # a regression to a backtracking engine hangs: fail it, don't wait
def test_a_nested_quantifier_cannot_stall_a_run(run_yaml: RunYaml) -> None:
    hostile = "a" * 64 + "!"
    done = run_yaml(workflow_yaml(dag(f"""
- {{name: hostile, template: echo, when: "'{hostile}' =~ '{NESTED}'"}}
- {{name: fitting, template: echo, when: "'{"a" * 64}' =~ '{NESTED}'"}}
- {{name: negated, template: echo, when: "'{hostile}' !~ '{NESTED}'"}}
""")))
    assert done.phase == "Succeeded"
    assert (done.nodes["hostile"]["phase"], done.phase_of("fitting"),
            done.phase_of("negated")) == ("Skipped", "Succeeded", "Succeeded")
    assert "evaluated false" in done.nodes["hostile"]["message"]


def test_dollar_matches_as_go_not_as_python(run_yaml: RunYaml) -> None:
    # Go's `$` (without (?m)) is the end of the text only; Python's also matches before a final
    # newline. A value from a step often ends with one.
    done = run_yaml(workflow_yaml(dag("""
- {name: end, template: echo, when: "'{{workflow.parameters.v}}' =~ 'ok$'"}
- {name: multiline, template: echo, when: "'{{workflow.parameters.v}}' =~ '(?m)ok$'"}
"""), arguments="- {name: v, value: \"ok\\n\"}"))
    assert re.search("ok$", "ok\n")  # what the runner used to answer
    assert done.nodes["end"]["phase"] == "Skipped"
    assert done.phase_of("multiline") == "Succeeded"


@pytest.mark.parametrize(("pattern", "text", "go"), [
    ("\\w", "\u00e9", False),          # Go's \w, \d, \s, \b and [[:alpha:]] are ASCII ...
    ("\\d", "\u0663", False),          # ... Python's are Unicode: each of these is True in re
    ("\\s", "\u00a0", False),
    ("\\b", "\u00e9", False),
    ("[[:alpha:]]", "\u00e9", False),
    ("\\pL", "\u00e9", True),          # Unicode classes are spelled out in Go
    ("(?i)k", "\u212a", True),           # case folding follows Unicode's (the Kelvin sign)
])
def test_classes_are_go_s(pattern: str, text: str, go: bool) -> None:
    assert evaluate_when(f"'{text}' =~ '{_quoted(pattern)}'") is go


def test_a_pattern_argo_refuses_fails_the_step_naming_it(tmp_path: Path) -> None:
    manifest = tmp_path / "wf.yaml"
    manifest.write_text(workflow_yaml(dag("""
- {name: gate, template: echo, when: "abc =~ '(?=a)b'"}
""")))
    done = subprocess.run([sys.executable, "-m", "argoscope.cli", "run", str(manifest),
                           "--state-dir", str(tmp_path / "state")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    failure = next(line for line in done.stdout.splitlines() + done.stderr.splitlines()
                   if line.startswith("failed step:"))
    assert failure.startswith("failed step: gate (Error)")
    assert "unsupported regular expression '(?=a)b'" in failure
    assert "invalid perl operator" in failure
    assert "re2.cc" not in done.stderr  # RE2's own logging stays off the terminal


# Simple patterns over a small alphabet: constructs whose meaning Go and Python share on text
# without newlines, so Python's `re` is an oracle for what Argo answers.
_ATOMS = st.sampled_from(["a", "b", ".", "[ab]", "[^a]", "[a-c]", "\\d", "\\w"])
_QUANTIFIERS = st.sampled_from(["", "", "*", "+", "?", "{1,2}", "*?", "+?", "{2}"])


def _patterns() -> st.SearchStrategy[str]:
    def grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        group = st.builds(lambda p, q: f"({p}){q}", inner, _QUANTIFIERS)
        bare = st.builds(lambda p, q: f"(?:{p}){q}", inner, _QUANTIFIERS)
        concat = st.builds(lambda a, b: a + b, inner, inner)
        alternation = st.builds(lambda a, b: f"{a}|{b}", inner, inner)
        return group | bare | concat | alternation

    base = st.builds(lambda a, q: a + q, _ATOMS, _QUANTIFIERS)
    body = st.recursive(base, grow, max_leaves=6)
    return st.builds(lambda start, p, end: start + p + end,
                     st.sampled_from(["", "^"]), body, st.sampled_from(["", "$"]))


def _quoted(pattern: str) -> str:
    # govaluate drops a backslash before any character inside a string: write `\\d` for `\d`.
    return pattern.replace("\\", "\\\\").replace("'", "\\'")


@settings(max_examples=150, deadline=None)
@given(pattern=_patterns(), text=st.text(alphabet="ab1c", max_size=10))
def test_simple_patterns_match_as_go_does(pattern: str, text: str) -> None:
    expected = re.search(pattern, text) is not None
    assert evaluate_when(f"'{text}' =~ '{_quoted(pattern)}'") is expected
    assert evaluate_when(f"'{text}' !~ '{_quoted(pattern)}'") is not expected


_NESTED = st.sampled_from(["^({x}+)+$", "({x}+)+{y}", "({x}*)*{y}", "({x}|{x})*{y}",
                           "({x}|{x}{x})+{y}", "^({x}+{x}+)+$", "(?:{x}?){{1,30}}{y}"])


@settings(max_examples=30, deadline=None)
@given(shape=_NESTED, x=st.sampled_from(["a", "0", "z"]), n=st.integers(25, 20_000))
def test_nested_quantifiers_on_hostile_input_answer(shape: str, x: str, n: int) -> None:
    # n x's and a character that makes every way of splitting them fail at the end: `re`
    # explores about 2**n of them, RE2 none twice. There is no y in the text, no match.
    pattern = shape.format(x=x, y="y")
    assert evaluate_when(f"'{x * n}!' =~ '{pattern}'") is False


_REFUSED = st.sampled_from([
    "(?=a)", "(?!a)", "(?<=a)", "(?<!a)",   # lookaround
    "(a)\\1",                                # backreference
    "a++", "a*+", "a?+",                     # possessive quantifiers
    "\\C",                                   # any byte: RE2's C++ takes it, Go does not
    "\\Z",                                   # Python's end of text; Go spells it \\z
    "a{1001}",                               # repetition above RE2's limit
    "(?P=n)",                                # Python's named backreference
])


@settings(max_examples=40, deadline=None)
@given(refused=_REFUSED, before=st.sampled_from(["", "x", "^b"]),
       after=st.sampled_from(["", "c", "$"]))
def test_constructs_go_refuses_are_refused_by_name(refused: str, before: str,
                                                   after: str) -> None:
    pattern = before + refused + after
    with pytest.raises(ExpressionError) as caught:
        evaluate_when(f"'abc' =~ '{_quoted(pattern)}'")
    assert f"unsupported regular expression {pattern!r}" in str(caught.value)


def test_without_re2_the_operator_is_refused_not_backtracked(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The base install has no RE2: the runner names the extra rather than fall back to `re`.
    monkeypatch.setitem(sys.modules, "re2", None)
    with pytest.raises(ExpressionError, match=r"pip install 'argoscope\[local\]'"):
        evaluate_when("'aaa!' =~ '^(a+)+$|only-without-re2'")
