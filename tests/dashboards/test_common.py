"""The shared building blocks: selectors and matchers say exactly what they are given."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from argoscope.dashboards._common import PIPELINE_SERIES, matchers, selector
from tests.dashboards import promql

METRICS = st.from_regex(r"[a-z_][a-z0-9_]{0,30}", fullmatch=True)
VARIABLES = st.lists(st.sampled_from(["cluster", "namespace", "pipeline", "step", "job",
                                      "instance", "slo"]), min_size=1, max_size=4, unique=True)
# Fixed matchers beside the variables' (`phase="Succeeded"`), on labels no variable feeds.
EXTRA = st.lists(st.builds(lambda label, value: f'x_{label}="{value}"',
                           st.from_regex(r"[a-z][a-z_]{0,10}", fullmatch=True),
                           st.text("abcXYZ019_-./ ", max_size=8)),
                 max_size=2, unique_by=lambda matcher: matcher.split("=", 1)[0])


def _matchers(text: str) -> dict[str, str]:
    (found,) = list(promql.selectors(promql.parse(text)))
    return {m.name: m.value for m in found.matchers.matchers}


@settings(max_examples=40, deadline=None)
@given(metric=st.one_of(METRICS, st.just(PIPELINE_SERIES)), variables=VARIABLES, extra=EXTRA)
def test_a_selector_filters_by_every_variable_and_matcher_given_and_nothing_else(
        metric: str, variables: list[str], extra: list[str]) -> None:
    labels = {matcher.split("=", 1)[0] for matcher in extra}
    text = selector(metric, matchers(*variables), *extra)
    assert promql.variables_in(text) == set(variables)
    found = _matchers(text)
    assert {name for name in found if name != "__name__"} == set(variables) | labels
    for name in variables:
        assert found[name] == f"argoscope_variable_{name}"
