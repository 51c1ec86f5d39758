"""`{{...}}` substitution scans a text once: an unclosed `{{` before a long run of whitespace
(in a manifest, or in a step's output a later pass scans) cannot stall the runner, and tags
resolve as they always did."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from argoscope.local.params import ParameterError, substitute
from tests.support.local_runs import RunYaml, workflow_yaml

# The pattern substitution used before: the meaning the scan must keep.
_BEFORE = re.compile(r"\{\{\s*(=?[^{}]*?)\s*\}\}")


def _before(text: str, scope: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("="):
            raise ParameterError("expression tag")
        return scope.get(name, match.group(0))

    return _BEFORE.sub(replace, text)


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet="{} =ab\t\n\u00a0\x1c", max_size=24))
def test_tags_resolve_as_before(text: str) -> None:
    scope = {"a": "1", "b": "2", "a b": "3", "ab": "4"}
    try:
        expected = _before(text, scope)
    except ParameterError:
        with pytest.raises(ParameterError, match="expression tag"):
            substitute(text, scope, partial=True)
        return
    assert substitute(text, scope, partial=True) == expected


@pytest.mark.timeout(60)  # the old pattern needed hours here: fail a regression, don't wait
def test_an_unclosed_tag_before_whitespace_cannot_stall_a_run(run_yaml: RunYaml) -> None:
    hostile = "{{" + " " * 20_000 + "x"
    done = run_yaml(workflow_yaml(f"""
- name: main
  container: {{image: alpine, command: [echo, "{hostile}"]}}
"""))
    assert done.phase == "Succeeded"
    assert done.nodes[""]["outputs"]["result"] == hostile
